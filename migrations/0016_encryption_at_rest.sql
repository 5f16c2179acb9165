-- Encryption at rest (docs/encryption.md), opt-in with CHAT_ENCRYPTION_KEY.
--
-- A sealed record keeps its ciphertext (nonce ‖ AES-256-GCM ciphertext ‖ tag) in a bytea
-- column beside the plaintext one, which is then empty, and the id of its key in a text
-- column: `keys status` counts per key and `keys rotate` finds the rows not yet under the
-- current key with plain SQL, and a row is readable or not by its columns alone. Rows
-- written with encryption off keep `content` as before (key id NULL).
ALTER TABLE messages
    ADD COLUMN content_key_id text,
    ADD COLUMN content_sealed bytea,
    ADD CONSTRAINT messages_sealed_check CHECK (
        (content_key_id IS NULL) = (content_sealed IS NULL) AND (content_sealed IS NULL OR content = '')),
    -- A tombstone holds no content, sealed or not.
    ADD CONSTRAINT messages_deleted_unsealed_check CHECK (NOT deleted OR content_sealed IS NULL);

ALTER TABLE message_edits
    ADD COLUMN previous_key_id text,
    ADD COLUMN previous_sealed bytea,
    ADD CONSTRAINT message_edits_sealed_check CHECK (
        (previous_key_id IS NULL) = (previous_sealed IS NULL)
        AND (previous_sealed IS NULL OR previous_content = ''));

-- An attachment's file (and its thumbnail) on disk: encrypted with this key, plain when
-- NULL. The files carry their key id in their header too; the column is for counting
-- and finding them.
ALTER TABLE attachments ADD COLUMN file_key_id text;

-- The search vector can no longer come from `content` (empty once sealed): the app
-- supplies it, from the plaintext, when it writes a message (`message_search_vector`),
-- or NULL when the tenant turned search off. The values and the index stay as 0010 made
-- them.
ALTER TABLE messages ALTER COLUMN search DROP EXPRESSION;

CREATE FUNCTION message_search_vector(body text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN to_tsvector('public.search_en', body)
        || to_tsvector('public.search_es', body)
        || to_tsvector('public.search_pt', body);

-- Every key that ever sealed a record, with a sentinel sealed under it: at start-up each
-- must be configured and open its sentinel, so a wrong or missing key stops the server
-- instead of sending garbage. `keys rotate` removes a key once nothing uses it.
CREATE TABLE encryption_keys (
    id         text PRIMARY KEY,
    sentinel   bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
