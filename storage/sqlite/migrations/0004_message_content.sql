-- Every message readable: its structure (content), what it answers, whether it was
-- forwarded, the ad it came from, its reactions, edits and deletion; the raw payload stays
-- in `payload`. And the keys a customer is known by (phone, BSUID) when they lead to a
-- conversation other than the one their key names (a linked BSUID, a changed number).

ALTER TABLE messages ADD COLUMN content TEXT;
ALTER TABLE messages ADD COLUMN reply_to TEXT;
ALTER TABLE messages ADD COLUMN forwarded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN referral TEXT;
ALTER TABLE messages ADD COLUMN reactions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN edited_at TEXT;
ALTER TABLE messages ADD COLUMN previous_text TEXT;
ALTER TABLE messages ADD COLUMN deleted_at TEXT;
CREATE INDEX messages_conversation_provider ON messages (conversation_id, provider_message_id)
    WHERE provider_message_id IS NOT NULL;

CREATE TABLE customer_aliases (
    business_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('phone', 'bsuid')),
    key TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (business_id, kind, key)
) WITHOUT ROWID;
