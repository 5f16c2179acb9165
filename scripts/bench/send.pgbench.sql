-- One session-cookie send as the server runs it today, for pgbench against the seed of
-- scripts/bench/pgbench-seed.sql: what the database alone can do for the same work.
-- (The Redis rate-limit call is left out: it is not the database's.)
\set p random(1, 500)
\set sender 2 * :p - 1
\set conv 100000 + :p
\set msg random(1, 9223372036854775807)
-- The text: one of three everyday sentences, as long as scripts/bench/search-seed.sql's
-- average (~76 characters), so that indexing it for search costs what a real one does.
\set lang random(1, 3)

-- 1. The session behind the cookie (tower-sessions' PostgresStore::load).
SELECT data FROM sessions WHERE id = 'bench-' || :sender AND expiry_date > now();

-- 2. The actor (auth::load_actor).
SELECT id, tenant_id, role FROM users
WHERE id = lpad(to_hex(:sender::bigint), 32, '0')::uuid AND is_active AND session_epoch = 0;

-- 3. The message: chat::messages::SEND without attachments, in its transaction.
BEGIN;
WITH conv AS (
    UPDATE conversations SET last_seq = last_seq + 1,
        last_message_id = lpad(to_hex(:msg::bigint), 32, '0')::uuid, updated_at = now()
    WHERE id = lpad(to_hex(:conv::bigint), 32, '0')::uuid AND tenant_id = '00000000-0000-0000-0000-00000000beef'
      AND EXISTS (SELECT 1 FROM participants WHERE conversation_id = lpad(to_hex(:conv::bigint), 32, '0')::uuid
                                                AND user_id = lpad(to_hex(:sender::bigint), 32, '0')::uuid)
    RETURNING last_seq
), msg AS (
    INSERT INTO messages (id, tenant_id, conversation_id, seq, sender_id, content, search, client_id)
    SELECT lpad(to_hex(:msg::bigint), 32, '0')::uuid, '00000000-0000-0000-0000-00000000beef',
           lpad(to_hex(:conv::bigint), 32, '0')::uuid, last_seq, lpad(to_hex(:sender::bigint), 32, '0')::uuid,
           text, message_search_vector(text), NULL
    FROM conv, (SELECT (ARRAY['please review the deploy plan and the invoice before lunch, thanks',
                              'por favor revisa el informe y la factura antes del almuerzo, gracias',
                              'por favor revise o relatório e a fatura antes do almoço, obrigado'])[:lang] AS text) t
    RETURNING seq, created_at, updated_at
), own AS (
    UPDATE participants SET own_after_read = own_after_read + 1
    WHERE conversation_id = lpad(to_hex(:conv::bigint), 32, '0')::uuid
      AND user_id = lpad(to_hex(:sender::bigint), 32, '0')::uuid AND EXISTS (SELECT 1 FROM msg)
), unarchive AS (
    UPDATE participants SET is_archived = false
    WHERE conversation_id = lpad(to_hex(:conv::bigint), 32, '0')::uuid
      AND user_id <> lpad(to_hex(:sender::bigint), 32, '0')::uuid AND is_archived AND EXISTS (SELECT 1 FROM msg)
)
SELECT msg.seq, msg.created_at, msg.updated_at, u.name, u.email,
       ARRAY(SELECT user_id FROM participants WHERE conversation_id = lpad(to_hex(:conv::bigint), 32, '0')::uuid)
           AS participants,
       (SELECT p.created_at FROM messages p
        WHERE p.conversation_id = lpad(to_hex(:conv::bigint), 32, '0')::uuid AND p.seq = msg.seq - 1)
           AS predecessor_created
FROM msg JOIN users u ON u.id = lpad(to_hex(:sender::bigint), 32, '0')::uuid
                     AND u.tenant_id = '00000000-0000-0000-0000-00000000beef';
COMMIT;
