-- A tenant with 1,000,000 messages for scripts/bench-search.sh: 1,000 users, 500 groups of
-- 2,000 messages each; the searcher (user 1) is a member of 50 of them. Texts are 5–24
-- words drawn from everyday English, Spanish and Portuguese chat words (accents included);
-- one message in 10,000 also holds the rare word "zeppelin". Ids are numbers written as
-- uuids (user n = lpad(to_hex(n), 32, '0')), as in pgbench-seed.sql.
\set ON_ERROR_STOP 1
\set tenant '''00000000-0000-0000-0000-00000000beef'''

INSERT INTO tenants (id, slug, name) VALUES (:tenant, 'searchbench', 'search bench');

INSERT INTO users (id, tenant_id, email, name, password_hash, role)
SELECT lpad(to_hex(n), 32, '0')::uuid, :tenant, 'u' || n || '@bench.test', 'Bench ' || n, 'unused', 'write'
FROM generate_series(1, 1000) AS n;

-- The searcher's API token: `tc_searchbench` (only its SHA-256 is stored).
INSERT INTO api_tokens (id, tenant_id, user_id, name, token_hash)
VALUES (gen_random_uuid(), :tenant, lpad('1', 32, '0')::uuid, 'bench', sha256('tc_searchbench'));

-- Group g (1..500) is conversation 100000 + g; its members are users 2g and 2g + 1 (mod
-- 1,000, never user 1), and user 1 in groups 1..50.
INSERT INTO conversations (id, tenant_id, kind, is_group, title, created_by)
SELECT lpad(to_hex(100000 + g), 32, '0')::uuid, :tenant, 'group', true, 'Group ' || g,
       lpad(to_hex(2 + (2 * g) % 998), 32, '0')::uuid
FROM generate_series(1, 500) AS g;

INSERT INTO participants (conversation_id, user_id, tenant_id)
SELECT lpad(to_hex(100000 + g), 32, '0')::uuid, lpad(to_hex(2 + (2 * g + side) % 998), 32, '0')::uuid, :tenant::uuid
FROM generate_series(1, 500) AS g, (VALUES (0), (1)) AS s(side)
UNION ALL
SELECT lpad(to_hex(100000 + g), 32, '0')::uuid, lpad('1', 32, '0')::uuid, :tenant
FROM generate_series(1, 50) AS g;

CREATE TEMP TABLE words AS SELECT string_to_array(
    'the meeting is moved to tuesday please review the deploy plan and the invoice before lunch '
    'can you send me the report today thanks I will call the customer after the release '
    'a reunião foi adiada para amanhã por favor revise o relatório e a fatura antes do almoço '
    'obrigado vou ligar para o cliente depois da publicação a ação foi rápida '
    'la reunión se movió al martes por favor revisa el informe y la factura antes del almuerzo '
    'gracias llamaré al cliente después de la publicación la canción está corriendo', ' ') AS w;

-- Message i of group g: seq i, a minute apart, sent by one of the group's two members.
INSERT INTO messages (id, tenant_id, conversation_id, seq, sender_id, content, search, created_at, updated_at)
SELECT id, :tenant, conversation_id, seq, sender_id, content, message_search_vector(content), created_at, created_at
FROM (
    SELECT gen_random_uuid() AS id, lpad(to_hex(100000 + g), 32, '0')::uuid AS conversation_id, i AS seq,
           lpad(to_hex(2 + (2 * g + i % 2) % 998), 32, '0')::uuid AS sender_id,
           (SELECT string_agg(words.w[1 + floor(random() * array_length(words.w, 1))::int], ' ')
            FROM words, generate_series(1, 5 + (g * 7 + i) % 20))
           || CASE WHEN (g * 2000 + i) % 10000 = 0 THEN ' zeppelin' ELSE '' END AS content,
           now() - (2000 - i) * interval '1 minute' AS created_at
    FROM generate_series(1, 500) AS g, generate_series(1, 2000) AS i
) AS m;

UPDATE conversations SET last_seq = 2000 WHERE tenant_id = :tenant;
-- Every table: the planner needs the conversations and participants counts too.
VACUUM ANALYZE;
