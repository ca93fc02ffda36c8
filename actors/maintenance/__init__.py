"""Maintenance work on stored conversations, beside the live message flow: among it, reading
back their history and analysing their messages (sentiment, category, tags, summary)."""
