-- The projections the API reads instead of the snapshots: a conversation's variables,
-- deadlines and 24-hour window; who paused a conversation; each session's change counter.

ALTER TABLE conversations ADD COLUMN variables TEXT NOT NULL DEFAULT '{}';
ALTER TABLE conversations ADD COLUMN deadlines TEXT NOT NULL DEFAULT '[]';
ALTER TABLE conversations ADD COLUMN window_expires_at TEXT;
-- Conversations stored before this migration get their variables and deadlines at their
-- next step; their window follows from the last inbound message now.
UPDATE conversations SET window_expires_at =
    strftime('%Y-%m-%dT%H:%M:%S', last_inbound_at, '+24 hours') || substr(last_inbound_at, 20)
    WHERE last_inbound_at IS NOT NULL;

ALTER TABLE conversation_pauses ADD COLUMN paused_by TEXT;

ALTER TABLE agent_sessions ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
