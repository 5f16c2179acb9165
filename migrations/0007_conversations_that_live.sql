-- Conversations that live (API v2): a conversation gets a kind, a description and a
-- visibility; a participant a role; a message a kind, metadata, a reply, and its edit and
-- delete state; edits keep their earlier versions for compliance reads; mentions are
-- recorded per mentioned user. Tenancy stays in the keys: every new reference is a
-- composite (tenant_id, …) one, as in the earlier migrations.

ALTER TABLE conversations
    ADD COLUMN kind text,
    -- Groups (and support conversations) only; a 1-to-1 has none.
    ADD COLUMN description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 500),
    -- `tenant`: every user of the tenant may find, read and follow it; `write` users may join.
    ADD COLUMN visibility text NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'tenant'));
UPDATE conversations SET kind = CASE WHEN is_group THEN 'group' ELSE 'direct' END;
ALTER TABLE conversations
    ALTER COLUMN kind SET NOT NULL,
    ADD CONSTRAINT conversations_kind_check CHECK (kind IN ('direct', 'group', 'support')),
    -- `is_group` stays for old clients; it must never disagree with `kind`.
    ADD CONSTRAINT conversations_kind_is_group_check CHECK ((kind = 'direct') = NOT is_group),
    ADD CONSTRAINT conversations_tenant_visible_groups_check CHECK (visibility = 'private' OR kind = 'group'),
    ADD CONSTRAINT conversations_direct_description_check CHECK (kind <> 'direct' OR description = '');
-- The directory: a tenant's shared conversations by title.
CREATE INDEX conversations_directory_idx ON conversations (tenant_id, title) WHERE visibility = 'tenant';

-- Owners manage a group (rename, members, roles, delete); a group always keeps one.
-- A 1-to-1 has no owner: both of its members are `member`.
ALTER TABLE participants
    ADD COLUMN role text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'member'));
UPDATE participants p SET role = 'owner'
FROM conversations c
WHERE c.id = p.conversation_id AND c.kind = 'group' AND p.user_id = c.created_by;
-- A group whose creator is not a member: its longest-standing member owns it.
UPDATE participants p SET role = 'owner'
FROM (
    SELECT DISTINCT ON (m.conversation_id) m.conversation_id, m.user_id
    FROM participants m JOIN conversations c ON c.id = m.conversation_id
    WHERE c.kind = 'group'
      AND NOT EXISTS (SELECT 1 FROM participants o WHERE o.conversation_id = m.conversation_id AND o.role = 'owner')
    ORDER BY m.conversation_id, m.joined_at, m.user_id
) first
WHERE p.conversation_id = first.conversation_id AND p.user_id = first.user_id;

ALTER TABLE messages
    -- `system`: a membership or settings change, worded by clients from `metadata`; its
    -- sender is the user who made the change.
    ADD COLUMN kind text NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'system', 'bot')),
    -- A JSON object from the sender (4 KB of compact JSON, checked in Rust); the limit
    -- here is a backstop with room for the spaces of jsonb's text form.
    ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}'::jsonb
        CHECK (jsonb_typeof(metadata) = 'object' AND octet_length(metadata::text) <= 8192),
    ADD COLUMN reply_to uuid,
    ADD COLUMN edited_at timestamptz,
    -- A tombstone: the message keeps its seq (no gap) but loses its content and files.
    ADD COLUMN deleted boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT messages_deleted_empty_check CHECK (NOT deleted OR content = ''),
    ADD CONSTRAINT messages_reply_to_self_check CHECK (reply_to <> id),
    -- Target of the keys below: a reply, an edit or a mention names a message of the
    -- same tenant and conversation.
    ADD CONSTRAINT messages_tenant_conversation_id_key UNIQUE (tenant_id, conversation_id, id),
    -- A reply stays in its conversation; a replied-to message that goes (retention) leaves
    -- the reply without its quote rather than taking the reply along.
    ADD CONSTRAINT messages_reply_to_fkey FOREIGN KEY (tenant_id, conversation_id, reply_to)
        REFERENCES messages (tenant_id, conversation_id, id) ON DELETE SET NULL (reply_to);

-- Earlier versions of edited messages, for compliance reads: one row per edit, holding
-- the content the edit replaced.
CREATE TABLE message_edits (
    id               bigserial PRIMARY KEY,
    tenant_id        uuid NOT NULL,
    conversation_id  uuid NOT NULL,
    message_id       uuid NOT NULL,
    previous_content text NOT NULL,
    edited_by        uuid NOT NULL,
    edited_at        timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, conversation_id, message_id)
        REFERENCES messages (tenant_id, conversation_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, edited_by) REFERENCES users (tenant_id, id)
);
-- A message's history, oldest edit first.
CREATE INDEX message_edits_message_idx ON message_edits (message_id, edited_at);

-- Who a message mentions. `seq` is copied from the message so a user's unread mentions
-- in a conversation (seq past the read mark) are one index range.
CREATE TABLE mentions (
    tenant_id        uuid NOT NULL,
    message_id       uuid NOT NULL,
    conversation_id  uuid NOT NULL,
    seq              bigint NOT NULL,
    user_id          uuid NOT NULL,
    PRIMARY KEY (message_id, user_id),
    FOREIGN KEY (tenant_id, conversation_id, message_id)
        REFERENCES messages (tenant_id, conversation_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
-- Counting and listing a user's mentions, per conversation past a seq.
CREATE INDEX mentions_user_idx ON mentions (user_id, conversation_id, seq);
