-- The database side of a send, alone, for scripts/bench/send.pgbench.sql: one tenant,
-- 1,000 users in 500 1-to-1 pairs, one session per sender. Ids are numbers written as
-- uuids (user n = lpad(to_hex(n), 32, '0')), so pgbench can pick them with \set.
\set ON_ERROR_STOP 1
\set tenant '''00000000-0000-0000-0000-00000000beef'''

INSERT INTO tenants (id, slug, name) VALUES (:tenant, 'pgbench', 'pgbench');

INSERT INTO users (id, tenant_id, email, name, password_hash, role)
SELECT lpad(to_hex(n), 32, '0')::uuid, :tenant, 'u' || n || '@bench.test', 'Bench ' || n, 'unused', 'write'
FROM generate_series(1, 1000) AS n;

-- Pair p: users 2p - 1 (the sender) and 2p; conversation 100000 + p.
INSERT INTO conversations (id, tenant_id, kind, is_group, direct_low, direct_high, created_by)
SELECT lpad(to_hex(100000 + p), 32, '0')::uuid, :tenant, 'direct', false,
       lpad(to_hex(2 * p - 1), 32, '0')::uuid, lpad(to_hex(2 * p), 32, '0')::uuid,
       lpad(to_hex(2 * p - 1), 32, '0')::uuid
FROM generate_series(1, 500) AS p;

INSERT INTO participants (conversation_id, user_id, tenant_id)
SELECT lpad(to_hex(100000 + p), 32, '0')::uuid, lpad(to_hex(2 * p - side), 32, '0')::uuid, :tenant
FROM generate_series(1, 500) AS p, (VALUES (0), (1)) AS s(side);

-- A session record is about 200 bytes of MessagePack.
INSERT INTO sessions (id, data, expiry_date)
SELECT 'bench-' || (2 * p - 1), decode(repeat('ab', 200), 'hex'), now() + interval '1 day'
FROM generate_series(1, 500) AS p;

ANALYZE;
