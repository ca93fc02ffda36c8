-- Seed 002's maintenance: archived conversations keep their messages in message_archives
-- (exact rows, gzip when compressed) until they are unarchived or the retention removes
-- them; each conversation may override when it is archived; sync_status per synced chat;
-- the scheduled jobs' state (so a schedule survives restarts and fires once).

ALTER TABLE conversations ADD COLUMN archive_reason TEXT;
ALTER TABLE conversations ADD COLUMN auto_archive_after_days INTEGER;
ALTER TABLE messages ADD COLUMN last_synced_at TEXT;
CREATE INDEX conversations_activity ON conversations (last_activity_at);
CREATE INDEX conversations_archived ON conversations (archived_at) WHERE archived_at IS NOT NULL;
CREATE INDEX messages_created ON messages (created_at);

CREATE TABLE message_archives (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    first_message_id INTEGER NOT NULL,
    last_message_id INTEGER NOT NULL,
    message_count INTEGER NOT NULL,
    archived_at TEXT NOT NULL,
    archive_reason TEXT,
    compressed INTEGER NOT NULL DEFAULT 0,
    body BLOB NOT NULL,              -- the rows as they were: {"columns": [...], "rows": [...]}
    bytes INTEGER NOT NULL           -- the stored size of body
);
CREATE INDEX message_archives_conversation ON message_archives (conversation_id, first_message_id);
CREATE INDEX message_archives_date ON message_archives (archived_at);

CREATE TABLE sync_status (
    entity_type TEXT NOT NULL,       -- 'chat'
    entity_id TEXT NOT NULL,         -- the conversation id
    last_sync_at TEXT,
    sync_status TEXT NOT NULL CHECK (sync_status IN ('pending', 'synced', 'failed')),
    error_message TEXT,
    retry_count INTEGER NOT NULL DEFAULT 0,
    next_retry_at TEXT,
    synced_count INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (entity_type, entity_id)
);
CREATE INDEX sync_status_status ON sync_status (sync_status);

CREATE TABLE jobs (
    name TEXT PRIMARY KEY,
    next_run_at TEXT,
    last_run_at TEXT,
    last_result TEXT,
    last_duration_seconds REAL,
    last_error TEXT,
    runs INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
