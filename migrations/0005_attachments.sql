-- Files attached to messages. The file itself lives under MEDIA_ROOT at storage_path
-- (chat_attachments/YYYY/MM/<uuid>, nothing user-controlled); the row keeps the
-- sanitized original name as metadata and the type detected from the bytes.
CREATE TABLE attachments (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL,
    conversation_id  uuid NOT NULL,
    message_id       uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    -- Order within the message, as uploaded.
    position         integer NOT NULL,
    uploader_id      uuid NOT NULL,
    filename         text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    content_type     text NOT NULL,
    size             bigint NOT NULL CHECK (size >= 0),
    storage_path     text NOT NULL UNIQUE,
    -- Images only: pixel size (so clients reserve space) and a small thumbnail.
    width            integer,
    height           integer,
    thumbnail_path   text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- Removed by an admin: the file is gone, the row stays as the message's tombstone.
    deleted_at       timestamptz,
    deleted_by       uuid,
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, uploader_id) REFERENCES users (tenant_id, id)
);
-- A message's attachments, in upload order.
CREATE UNIQUE INDEX attachments_message_idx ON attachments (message_id, position);
-- The admin listing: a tenant's files, newest first.
CREATE INDEX attachments_tenant_created_idx ON attachments (tenant_id, created_at DESC);
