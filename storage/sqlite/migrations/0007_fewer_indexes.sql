-- Fewer B-trees to update per message (each webhook writes two messages): the index on
-- created_at served only the oldest/newest message of the statistics (id order is time
-- order), and (conversation_id, provider_message_id) only what the provider id index and a
-- filter on the conversation do as well.

DROP INDEX IF EXISTS messages_created;
DROP INDEX IF EXISTS messages_conversation_provider;
