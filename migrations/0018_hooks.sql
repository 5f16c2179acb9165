-- Encryption at rest of webhook payloads (docs/encryption.md). The message text a payload
-- carries (`message_created`, `message_updated`) is sealed like the message's own text
-- when CHAT_ENCRYPTION_KEY is set: the ciphertext and its key's id beside the payload,
-- whose `message.content` is then empty. The rest of the payload (ids, seq, sender,
-- metadata, titles) is what the database holds readable elsewhere anyway. Rows written
-- with encryption off keep their text in the payload (key id NULL) until `keys rotate`.
ALTER TABLE webhook_deliveries
    ADD COLUMN content_key_id text,
    ADD COLUMN content_sealed bytea,
    ADD CONSTRAINT webhook_deliveries_sealed_check CHECK (
        (content_key_id IS NULL) = (content_sealed IS NULL)
        AND (content_sealed IS NULL OR payload #>> '{message,content}' = ''));
