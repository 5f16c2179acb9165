-- Server-side sessions, the django_session of tenantchat. The layout is the one
-- tower-sessions-sqlx-store's PostgresStore reads and writes (id, msgpack data, expiry).
CREATE TABLE sessions (
    id           text PRIMARY KEY,
    data         bytea NOT NULL,
    expiry_date  timestamptz NOT NULL
);
-- Expired sessions are swept by expiry date.
CREATE INDEX sessions_expiry_idx ON sessions (expiry_date);

-- API tokens: only the SHA-256 of the token is stored; the token itself is shown once.
CREATE TABLE api_tokens (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL,
    user_id       uuid NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash    bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id, created_at);
