-- The assistant (issue 16 item 3): a bot whose answers come from an OpenAI-compatible
-- chat-completions endpoint instead of its own webhook. Its questions travel through the
-- same outbox (`webhook_deliveries`) as a webhook bot's messages, so a crash loses none;
-- its endpoint row says where they go.
ALTER TABLE webhook_endpoints
    ADD COLUMN kind text NOT NULL DEFAULT 'webhook' CHECK (kind IN ('webhook', 'assistant')),
    -- The admin's system prompt for an assistant (no more than the API accepts).
    ADD COLUMN instructions text CHECK (length(instructions) <= 4000),
    ALTER COLUMN url DROP NOT NULL,
    ALTER COLUMN secret DROP NOT NULL,
    -- A webhook has a URL and a signing secret; an assistant is a bot with neither (it is
    -- answered inside the server, nothing is signed).
    ADD CONSTRAINT webhook_endpoints_kind_shape_check CHECK (
        CASE kind WHEN 'webhook' THEN url IS NOT NULL AND secret IS NOT NULL AND instructions IS NULL
                  ELSE bot_user_id IS NOT NULL AND url IS NULL AND secret IS NULL END);
