-- The wake-up of 0014 fired for every statement that could insert deliveries, and so for
-- every message sent, even into a tenant with no webhook and no bot: a NOTIFY that
-- inserted nothing. PostgreSQL serializes the commits of transactions that notify (one
-- lock on the notification queue, held through the commit's WAL flush), so every send of
-- the node waited for the one before it to reach the disk. Now a statement notifies only
-- when it inserted a delivery.
DROP TRIGGER webhook_deliveries_notify ON webhook_deliveries;

CREATE OR REPLACE FUNCTION webhook_deliveries_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inserted) THEN
        PERFORM pg_notify('webhook_deliveries', '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER webhook_deliveries_notify AFTER INSERT ON webhook_deliveries
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_deliveries_notify();
