-- The foundation: conversations with their snapshots, messages, the durable inbox and
-- outbox, the journal (message journey), seed 000's conversation_pauses, and a small
-- key-value table (the virtual clock).

-- The id is derived from (business_id, customer_id), so it is their unique key too.
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    phone TEXT,
    customer_name TEXT,
    mode TEXT NOT NULL DEFAULT 'bot' CHECK (mode IN ('bot', 'human')),
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    paused_until TEXT,
    flow_id TEXT,
    node_id TEXT,
    last_inbound_at TEXT,
    last_activity_at TEXT,
    next_wakeup_at REAL,
    archived_at TEXT,
    message_count INTEGER NOT NULL DEFAULT 0,
    unread_count INTEGER NOT NULL DEFAULT 0,
    tags TEXT NOT NULL DEFAULT '[]',
    category TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    snapshot BLOB NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX conversations_wakeup ON conversations (next_wakeup_at)
    WHERE next_wakeup_at IS NOT NULL;
CREATE INDEX conversations_phone ON conversations (phone);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    sender_type TEXT NOT NULL CHECK (sender_type IN ('customer', 'bot', 'agent', 'system')),
    sender_id TEXT,
    kind TEXT NOT NULL,
    text TEXT,
    payload TEXT,
    provider_message_id TEXT,
    delivery_status TEXT,
    status_at TEXT,
    error_code INTEGER,
    error_detail TEXT,
    read_at TEXT,
    processed INTEGER NOT NULL DEFAULT 0,
    metadata TEXT NOT NULL DEFAULT '{}',
    sentiment TEXT,
    category TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE INDEX messages_provider_id ON messages (provider_message_id)
    WHERE provider_message_id IS NOT NULL;

CREATE TABLE inbox (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    conversation_id TEXT,
    payload BLOB,
    received_at TEXT NOT NULL,
    processed_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX inbox_unprocessed ON inbox (id) WHERE processed_at IS NULL;

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    message_id INTEGER,
    recipient TEXT NOT NULL,
    body BLOB NOT NULL,
    text TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    provider_message_id TEXT,
    error_code INTEGER,
    error_detail TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_provider_id ON outbox (provider_message_id)
    WHERE provider_message_id IS NOT NULL;
CREATE INDEX outbox_recipient ON outbox (recipient, created_at);

CREATE TABLE journal (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT,
    at TEXT NOT NULL,
    step_type TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX journal_conversation ON journal (conversation_id, id);

-- Seed 000's table, as the customer wrote it, plus where the pause came from. It is a
-- projection of the conversation's snapshot, written in the same transaction.
CREATE TABLE conversation_pauses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id VARCHAR(255) UNIQUE NOT NULL,
    phone_number VARCHAR(20) NOT NULL,
    agent_assignee_id VARCHAR(255),
    agent_email VARCHAR(255),
    agent_name VARCHAR(100),
    paused_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    expires_at DATETIME NOT NULL,
    is_active INTEGER DEFAULT 1,
    created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    external_conversation_id TEXT,
    source TEXT
);
CREATE INDEX conversation_pauses_active ON conversation_pauses (is_active, expires_at);

CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
