-- The audit log: one append-only table, written in the same transaction as the change
-- it records. Tamper-evident: each row's hash covers its content and the previous
-- row's hash of the same tenant (a chain per tenant), and the database refuses to
-- UPDATE or DELETE rows. `tenantchat audit verify --tenant S` recomputes the chain.
CREATE TABLE audit_log (
    id             bigserial PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    -- NULL for the system (the command line).
    actor_id       uuid,
    action         text NOT NULL,
    resource_type  text NOT NULL,
    resource_id    text,
    details        jsonb NOT NULL DEFAULT '{}'::jsonb,
    ip             text,
    user_agent     text,
    created_at     timestamptz NOT NULL,
    prev_hash      bytea,
    hash           bytea NOT NULL CHECK (length(hash) = 32)
);
-- Listing and filtering a tenant's log, newest first; and finding the chain's end.
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, id DESC);
CREATE INDEX audit_log_tenant_actor_idx ON audit_log (tenant_id, actor_id, id DESC);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
-- TRUNCATE bypasses row triggers; refuse it too.
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
