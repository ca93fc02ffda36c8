"""Seed 002's commands to a conversation: archive (marked here; the maintenance job moves
the messages), unarchive (every message restored in the same commit: the shell sees
`archived_at` cleared) and messages marked read."""

from __future__ import annotations

from datetime import datetime

import msgspec

from actors.conversation.effects import Effect, Journal, Reply
from actors.conversation.messages import Adopt, Archive, MessagesRead, Unarchive
from actors.conversation.state import ConversationState

replace = msgspec.structs.replace


class ArchiveAnswer(msgspec.Struct, frozen=True):
    """What an archive or unarchive did: `changed`, or why not."""

    conversation_id: str
    changed: bool
    archived_at: datetime | None
    reason: str | None = None


def maintain(
    state: ConversationState,
    msg: Archive | Unarchive | MessagesRead | Adopt,
    now: datetime,
    fx: list[Effect],
) -> ConversationState:
    match msg:
        case Adopt():
            fx.append(Reply(state.id))
            return state
        case Archive():
            if state.archived_at is not None:
                fx.append(Reply(ArchiveAnswer(state.id, False, state.archived_at, "archived")))
                return state
            if state.session is not None:
                fx.append(Reply(ArchiveAnswer(state.id, False, None, "session_open")))
                return state
            state = replace(state, archived_at=now, archive_reason=msg.reason, timeout=None)
            fx.append(Journal("conversation", "archived", f"{msg.reason} by {msg.by}"))
            fx.append(Reply(ArchiveAnswer(state.id, True, now)))
            return state
        case Unarchive():
            if state.archived_at is None:
                fx.append(Reply(ArchiveAnswer(state.id, False, None, "not_archived")))
                return state
            state = unarchive(state, msg.by, fx)
            fx.append(Reply(ArchiveAnswer(state.id, True, None)))
            return state
        case MessagesRead():
            unread = max(0, state.unread_count - msg.count)
            fx.append(Reply(unread))
            return replace(state, unread_count=unread)


def unarchive(state: ConversationState, by: str, fx: list[Effect]) -> ConversationState:
    """Not archived any more: the commit of this step restores the messages."""
    fx.append(Journal("conversation", "unarchived", f"by {by}"))
    return replace(state, archived_at=None, archive_reason=None)
