-- Live-agent sessions (seed 001) with the assignment state machine of seed 004, operators
-- with hashed tokens, and the history of every assignment.

ALTER TABLE messages ADD COLUMN session_id TEXT;
CREATE INDEX messages_session ON messages (session_id, id) WHERE session_id IS NOT NULL;

CREATE TABLE operators (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    token_hash TEXT NOT NULL UNIQUE,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

-- A projection of each conversation's session, written with its snapshot. Seed 004's two
-- constraints hold here as in `step`.
CREATE TABLE agent_sessions (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    phone_number TEXT,
    customer_name TEXT,
    status TEXT NOT NULL CHECK (status IN ('waiting', 'active', 'ended')),
    chat_state TEXT NOT NULL CHECK (chat_state IN
        ('waiting_assignment', 'assigned', 'waiting_real_user_reply', 'completed')),
    agent_id TEXT,
    last_operator_id TEXT,
    started_by TEXT NOT NULL,
    started_at TEXT NOT NULL,
    accepted_at TEXT,
    operator_replied_at TEXT,
    expires_at TEXT NOT NULL,
    ended_at TEXT,
    end_reason TEXT CHECK (end_reason IS NULL OR end_reason IN
        ('customer', 'agent', 'expired', 'supervisor')),
    state_since TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (chat_state <> 'assigned' OR agent_id IS NOT NULL),
    CHECK (chat_state <> 'waiting_real_user_reply' OR operator_replied_at IS NOT NULL)
);
CREATE INDEX agent_sessions_status ON agent_sessions (status, state_since);
CREATE INDEX agent_sessions_agent ON agent_sessions (agent_id) WHERE agent_id IS NOT NULL;
CREATE INDEX agent_sessions_started ON agent_sessions (started_at);
CREATE INDEX agent_sessions_conversation ON agent_sessions (conversation_id);

CREATE TABLE chat_assignments (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    operator_id TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    first_reply_at TEXT,
    released_at TEXT,
    reason TEXT
);
CREATE INDEX chat_assignments_session ON chat_assignments (session_id, id);
CREATE INDEX chat_assignments_operator ON chat_assignments (operator_id, assigned_at);
CREATE INDEX chat_assignments_assigned ON chat_assignments (assigned_at);
