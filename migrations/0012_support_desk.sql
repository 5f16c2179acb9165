-- The support desk (API v2): agents, and support conversations routed to them. A
-- support conversation is a `conversations` row of kind `support` (its members: the
-- requester and the agents assigned so far); its desk state lives beside it here.

ALTER TABLE users
    -- Agents answer support conversations; set by tenant admins.
    ADD COLUMN is_agent boolean NOT NULL DEFAULT false,
    -- Round-robin assignment hands a new conversation to the active agent whose last
    -- assignment is the oldest (never assigned: first).
    ADD COLUMN last_assigned_at timestamptz;

CREATE TABLE support_conversations (
    conversation_id  uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL,
    requester_id     uuid NOT NULL,
    -- `open`: waiting for an agent; `assigned`: an agent has it; `closed`: done.
    status           text NOT NULL CHECK (status IN ('open', 'assigned', 'closed')),
    -- The agent it is (or, once closed, was last) assigned to.
    agent_id         uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'assigned' OR agent_id IS NOT NULL),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, requester_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, agent_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (agent_id)
);
-- One conversation a requester has not seen closed: concurrent first uses of
-- `POST /api/chat/support/` meet here, one inserts and the others find it.
CREATE UNIQUE INDEX support_conversations_one_open_idx
    ON support_conversations (tenant_id, requester_id) WHERE status <> 'closed';
-- The inbox: a tenant's support conversations by status.
CREATE INDEX support_conversations_inbox_idx ON support_conversations (tenant_id, status);
