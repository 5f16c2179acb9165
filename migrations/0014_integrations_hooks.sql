-- Outgoing webhooks (API v2 "Integrations"): bots and tenant webhooks share one delivery
-- engine. A delivery row is written in the same transaction as the change it reports
-- (the outbox), so a crash between the commit and the HTTP call loses nothing.

-- A bot is a user of kind `bot`: it joins conversations and sends with its API token.
ALTER TABLE users
    ADD COLUMN kind text NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'bot'));

-- Where deliveries go: a bot's webhook (bot_user_id set; it gets `message_created` of
-- its conversations) or a tenant webhook (bot_user_id NULL; the events it lists).
CREATE TABLE webhook_endpoints (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    bot_user_id  uuid UNIQUE,
    url          text NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
    events       text[] NOT NULL,
    -- The HMAC key the server signs with, so it is kept as is (a hash could not sign);
    -- it is shown once, at creation, and never returned again.
    secret       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, bot_user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
-- The write path looks up a tenant's endpoints on every message.
CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id);

CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL,
    endpoint_id      uuid NOT NULL,
    event            text NOT NULL,
    -- What happened, as of the commit; the envelope (id, event, timestamp) is added per attempt.
    payload          jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    last_status      integer,
    last_error       text,
    -- For a pending row: when it is due. A worker that claims a row moves this forward by
    -- a lease, so a row whose worker died comes due again instead of being lost.
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- Retries stop (status `failed`) a while after this; a manual retry moves it to now.
    retry_from       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE
);
-- Workers claim due rows in this order; only pending rows are ever claimed.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- The admin's delivery log, newest first.
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC);

-- Wakes the workers of every node when deliveries commit (one notification per statement,
-- sent at commit); they also poll, for retries that come due and a lost listener.
CREATE FUNCTION webhook_deliveries_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('webhook_deliveries', '');
    RETURN NULL;
END $$;
CREATE TRIGGER webhook_deliveries_notify AFTER INSERT ON webhook_deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_deliveries_notify();
