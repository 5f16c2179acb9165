-- Messages. seq is the position in the conversation (1, 2, 3… without gaps).

CREATE TABLE messages (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL,
    conversation_id  uuid NOT NULL,
    seq              bigint NOT NULL CHECK (seq > 0),
    sender_id        uuid NOT NULL,
    content          text NOT NULL CHECK (char_length(content) <= 5000),
    -- Client-chosen idempotency key: a retried send returns the original message.
    client_id        text CHECK (length(client_id) BETWEEN 1 AND 64),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (conversation_id, seq),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, sender_id) REFERENCES users (tenant_id, id)
);
-- One message per (conversation, sender, client_id): scoped to the conversation so a key
-- reused in another conversation can never answer with a message from elsewhere.
CREATE UNIQUE INDEX messages_client_id_idx
    ON messages (conversation_id, sender_id, client_id) WHERE client_id IS NOT NULL;

ALTER TABLE conversations
    ADD FOREIGN KEY (last_message_id) REFERENCES messages (id) DEFERRABLE INITIALLY DEFERRED;
