-- Search that reads only what the caller may read (issue 13's target: p95 <= 100 ms over
-- 1,000,000 messages for a member of 50 conversations).
--
-- The GIN index of 0008 on `search` alone found every match in the tenant (~130,000 for
-- a common word in the benchmark's tenant); the permission join then threw away the ~90 %
-- in conversations the caller is not in, after reading each from the table. With
-- `conversation_id` in the index (btree_gin gives GIN the `=` of uuid), the search names
-- the caller's readable conversations and the index intersects them with the words, so
-- only matches the caller may read are read. `sender_id` is in it for the same reason:
-- the sender filter narrows in the index instead of on each row read.
--
-- What it costs: one more key (two uuids) per message besides the ~30 lexemes of its
-- vector; the index is no larger than 0008's. A date filter is not indexed: a time range
-- in GIN is a scan over every distinct timestamp, and the rank window
-- (src/chat/search.rs, RANK_WINDOW) already bounds the work after the index.
-- docs/performance.md "Search" has the figures.
CREATE EXTENSION IF NOT EXISTS btree_gin WITH SCHEMA public;

DROP INDEX messages_search_idx;
CREATE INDEX messages_search_idx ON messages USING gin (conversation_id, sender_id, search)
    WHERE search IS NOT NULL;
