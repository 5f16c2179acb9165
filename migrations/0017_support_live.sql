-- The support desk's staff (active agents and tenant admins, `support_staff!` in
-- src/chat/mod.rs) are listed for every `support_updated`, which now also follows each
-- new message of a requester: a partial index keeps that lookup to the staff's rows
-- rather than all the tenant's users.
CREATE INDEX users_support_staff_idx ON users (tenant_id) WHERE is_active AND (is_agent OR role = 'admin');
