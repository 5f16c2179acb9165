-- Mentions, two fixes (issue 13).
--
-- `GET /api/chat/mentions/` lists a user's mentions newest first. Ordering by the
-- message's `created_at` meant reading and sorting every mention the user ever had; the
-- time is now copied into the mention (as `seq` is) so that the listing is one range of
-- `mentions_user_newest_idx`, read from its newest end and stopped at the page's LIMIT.
ALTER TABLE mentions ADD COLUMN created_at timestamptz;
UPDATE mentions n SET created_at = m.created_at FROM messages m WHERE m.id = n.message_id;
ALTER TABLE mentions ALTER COLUMN created_at SET NOT NULL;
CREATE INDEX mentions_user_newest_idx ON mentions (user_id, created_at DESC, message_id DESC);

-- Mentioning oneself is accepted and dropped from now on (src/chat/mentions.rs): one's
-- own message does not count in one's `mention_count` nor list under one's mentions.
-- Earlier self-mentions go the same way.
DELETE FROM mentions n USING messages m WHERE m.id = n.message_id AND n.user_id = m.sender_id;
