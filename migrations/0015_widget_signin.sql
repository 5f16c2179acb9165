-- Widget sign-in with the host app's identity (API v2 "Integrations", issue 16 item 4).

-- The tenant's widget secret. Stored as is, not hashed: the server must recompute the
-- host's HMAC with it, so a one-way hash would be useless. It is never returned after the
-- rotation that created it; whoever can read this table could sign in as any widget user
-- of the tenant (but not as its password users, see users.external_id).
ALTER TABLE tenants ADD COLUMN widget_secret text;

-- The host app's id of a widget user. Widget users are matched by (tenant, external_id)
-- only, never by email, so a host cannot take over an account that logs in with a password.
ALTER TABLE users ADD COLUMN external_id text CHECK (length(external_id) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX users_external_id_idx ON users (tenant_id, external_id) WHERE external_id IS NOT NULL;

-- Signatures already used, so a captured sign-in request cannot be replayed (the
-- PostgreSQL twin of the Redis replay cache, for deployments without Redis). A row is
-- useless once its timestamp is out of the 5-minute window, and rows past `expires_at`
-- are deleted as new ones arrive, so the table holds at most 10 minutes of sign-ins.
CREATE TABLE widget_signatures_used (
    signature   text PRIMARY KEY,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX widget_signatures_used_expiry_idx ON widget_signatures_used (expires_at);
