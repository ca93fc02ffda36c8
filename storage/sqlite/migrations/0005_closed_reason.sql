-- Why a conversation is closed (`inactivity` when a timeout closed it); cleared when the
-- customer's next message reopens it.

ALTER TABLE conversations ADD COLUMN closed_reason TEXT;
