-- Tenants and their users. Every tenant-owned row in later tables carries tenant_id and
-- references (tenant_id, id) pairs, so the database itself refuses a row that mixes tenants.

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- Tenant chat settings (branding, upload limits, ...); validated in Rust.
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- Stored normalised (trimmed, lower case): uniqueness per tenant is case-insensitive.
    email          text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    is_active      boolean NOT NULL DEFAULT true,
    -- Bumped to invalidate every session of the user at once (deactivation, password change);
    -- each session remembers the epoch it was created under.
    session_epoch  integer NOT NULL DEFAULT 0,
    last_seen      timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, email),
    -- Target of the composite foreign keys that keep memberships inside one tenant.
    UNIQUE (tenant_id, id)
);
