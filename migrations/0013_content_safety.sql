-- Content safety (issue 15): a tenant's forbidden topics and PII mode live in its
-- settings (JSON, validated in Rust); what the database adds is a version of those
-- settings and the PII counts of flagged messages.

-- Bumped by every settings change. Nodes keep each tenant's compiled content rules
-- (the forbidden-topic matcher) keyed by it, and a send names the version it checked
-- against, so a message is never stored under rules an admin has just replaced.
ALTER TABLE tenants ADD COLUMN settings_version bigint NOT NULL DEFAULT 0;

-- With `pii_mode: flag`, how many pieces of personal data of each kind the message
-- holds, e.g. {"email": 1}; NULL when none were found or the tenant does not flag.
-- Kept apart from the sender's `metadata` so only admins see it (docs/content-safety.md).
ALTER TABLE messages
    ADD COLUMN pii jsonb CHECK (pii IS NULL OR jsonb_typeof(pii) = 'object');

-- The admins' list of flagged messages, newest first.
CREATE INDEX messages_flagged_idx ON messages (tenant_id, created_at DESC, id) WHERE pii IS NOT NULL;
