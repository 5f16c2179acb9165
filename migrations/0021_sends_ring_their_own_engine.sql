-- Even when a message queues deliveries (a tenant with a webhook or a bot), its commit
-- must not wait for the notification queue's lock: PostgreSQL commits the transactions
-- that notify one at a time, through their WAL flush, so every send of a tenant with a
-- webhook waited for the one before it. `message_created` rows, which only the send
-- statement writes, no longer notify: the sending node rings its own engine after the
-- commit (`hooks::outbox::Doorbell`); the other events, rare, still wake every node.
CREATE OR REPLACE FUNCTION webhook_deliveries_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inserted WHERE event <> 'message_created') THEN
        PERFORM pg_notify('webhook_deliveries', '');
    END IF;
    RETURN NULL;
END $$;
