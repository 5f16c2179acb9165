-- Reactions: one row per (message, user, emoji). Tenancy stays in the keys, as in the
-- earlier migrations: the message and the user are composite (tenant_id, …) references,
-- so a reaction can never point across tenants. A deleted message, conversation or user
-- takes its reactions with it.
CREATE TABLE reactions (
    tenant_id   uuid NOT NULL,
    message_id  uuid NOT NULL,
    conversation_id uuid NOT NULL,
    user_id     uuid NOT NULL,
    -- One grapheme cluster, checked by the server (src/chat/reactions.rs).
    emoji       text NOT NULL CHECK (octet_length(emoji) BETWEEN 1 AND 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, user_id, emoji),
    FOREIGN KEY (tenant_id, conversation_id, message_id)
        REFERENCES messages (tenant_id, conversation_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
