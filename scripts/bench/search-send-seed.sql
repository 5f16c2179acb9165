-- The tenant of scripts/bench/search-seed.sql made ready for scripts/bench/send.pgbench.sql
-- (scripts/bench-search.sh, "send cost"): pgbench's sender of pair p, user 2p - 1, joins
-- group p (conversation 100000 + p) and gets the session pgbench-seed.sql would give it,
-- so the sends go into a tenant that already holds 1,000,000 indexed messages.
\set ON_ERROR_STOP 1
\set tenant '''00000000-0000-0000-0000-00000000beef'''

INSERT INTO participants (conversation_id, user_id, tenant_id)
SELECT lpad(to_hex(100000 + p), 32, '0')::uuid, lpad(to_hex(2 * p - 1), 32, '0')::uuid, :tenant
FROM generate_series(1, 500) AS p
ON CONFLICT DO NOTHING;

INSERT INTO sessions (id, data, expiry_date)
SELECT 'bench-' || (2 * p - 1), decode(repeat('ab', 200), 'hex'), now() + interval '1 day'
FROM generate_series(1, 500) AS p;

ANALYZE participants;
