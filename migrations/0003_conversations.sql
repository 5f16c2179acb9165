-- Conversations and their participants.

CREATE TABLE conversations (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    is_group         boolean NOT NULL,
    -- Only groups have a stored title; a 1-to-1 shows the other participant's name.
    title            text CHECK (length(title) <= 200),
    -- The pair of a 1-to-1 conversation, smaller uuid first: with the unique index below
    -- the database guarantees one 1-to-1 conversation per pair, even under concurrent starts.
    direct_low       uuid,
    direct_high      uuid,
    created_by       uuid NOT NULL,
    -- Highest seq handed out; the row lock taken to bump it makes seq gap-free.
    last_seq         bigint NOT NULL DEFAULT 0,
    last_message_id  uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    CHECK (is_group = (direct_low IS NULL) AND (direct_low IS NULL) = (direct_high IS NULL)),
    CHECK (direct_low < direct_high),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, direct_low) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, direct_high) REFERENCES users (tenant_id, id)
);
CREATE UNIQUE INDEX conversations_direct_pair_idx
    ON conversations (tenant_id, direct_low, direct_high) WHERE NOT is_group;

CREATE TABLE participants (
    conversation_id  uuid NOT NULL,
    user_id          uuid NOT NULL,
    tenant_id        uuid NOT NULL,
    joined_at        timestamptz NOT NULL DEFAULT now(),
    -- Receipt watermarks: every message with seq <= delivered_seq / read_seq is
    -- delivered to / read by this participant. One row per participant, not per message.
    delivered_seq    bigint NOT NULL DEFAULT 0,
    delivered_at     timestamptz,
    read_seq         bigint NOT NULL DEFAULT 0,
    read_at          timestamptz,
    -- The caller's own messages with seq > read_seq. Unread count is then
    -- last_seq - read_seq - own_after_read, so a send updates only the sender's row
    -- instead of every other participant's (O(1) writes in a 500-member group).
    own_after_read   bigint NOT NULL DEFAULT 0,
    is_archived      boolean NOT NULL DEFAULT false,
    is_muted         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (conversation_id, user_id),
    CHECK (read_seq <= delivered_seq),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
-- "My conversations": the listing starts from the caller's participant rows.
CREATE INDEX participants_user_idx ON participants (user_id);
