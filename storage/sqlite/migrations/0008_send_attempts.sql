-- A send is marked before its request leaves (attempted_at), and the mark is cleared with
-- its outcome. A pending row still marked at start-up was in flight when the process died:
-- it may have reached the provider, so it waits for a status webhook naming it (which
-- confirms it) before it is sent again.

ALTER TABLE outbox ADD COLUMN attempted_at REAL;
CREATE INDEX outbox_attempted ON outbox (id) WHERE attempted_at IS NOT NULL;
