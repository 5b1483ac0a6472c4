-- A message's line (one endpoint, one object) in the order it is delivered, so finding the
-- message ahead or behind reads one index entry instead of every earlier message of the
-- endpoint (which made each delivery slower as the log grew).
DROP INDEX webhook_messages_line;
CREATE INDEX webhook_messages_line ON webhook_messages (endpoint_id, subject_id, state, event_id, replay);
