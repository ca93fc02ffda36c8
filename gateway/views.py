"""The JSON shapes of API.md, built from stored rows and snapshots."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from actors.conversation.sessions import session_dict
from actors.conversation.state import Pause, decode_state
from storage.timefmt import iso, iso_or_none

_json = msgspec.json.Decoder()


def pause_view(pause: Pause | None, now: datetime) -> dict[str, Any]:
    if pause is None:
        return {
            "paused": False,
            "expires_at": None,
            "agent_email": None,
            "agent_name": None,
            "agent_assignee_id": None,
            "paused_at": None,
            "source": None,
        }
    return {
        "paused": now < pause.until,
        "expires_at": iso(pause.until),
        "agent_email": pause.agent_email,
        "agent_name": pause.agent_name,
        "agent_assignee_id": pause.agent_assignee_id,
        "paused_at": iso(pause.paused_at),
        "source": pause.source,
        "by": pause.by,
        "external_conversation_id": pause.external_conversation_id,
    }


def conversation_view(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    state = decode_state(bytes(row["snapshot"]))
    wakeup = row["next_wakeup_at"]
    flow = (
        None
        if state.flow is None
        else {"flow_id": state.flow.flow_id, "node_id": state.flow.node_id}
    )
    return {
        "id": row["id"],
        "phone_number": row["phone"],
        "customer_id": row["customer_id"],
        "business_id": row["business_id"],
        "customer_name": row["customer_name"],
        "mode": row["mode"],
        "status": row["status"],
        "paused": state.pause is not None and now < state.pause.until,
        "pause": pause_view(state.pause, now) if state.pause else None,
        "session": None if state.session is None else session_dict(state, state.session),
        "flow": flow,
        "variables": state.variables,
        "window_expires_at": iso_or_none(state.window_expires_at),
        "next_wakeup_at": None if wakeup is None else iso(datetime.fromtimestamp(wakeup, UTC)),
        "archived_at": row["archived_at"],
        "tags": _json.decode(row["tags"]),
        "category": row["category"],
        "metadata": _json.decode(row["metadata"]),
        "message_count": row["message_count"],
        "unread_count": row["unread_count"],
        "last_activity_at": row["last_activity_at"],
        "created_at": row["created_at"],
    }


def message_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "conversation_id": row["conversation_id"],
        "direction": row["direction"],
        "sender_type": row["sender_type"],
        "sender_id": row["sender_id"],
        "kind": row["kind"],
        "text": row["text"],
        "created_at": row["created_at"],
        "status": row["delivery_status"],
        "session_id": row.get("session_id"),
        "provider_message_id": row["provider_message_id"],
        "error_code": row["error_code"],
        "read_at": row["read_at"],
    }


def pause_row_view(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "conversation_id": row["conversation_id"],
        "phone_number": row["phone_number"],
        "paused": bool(row["is_active"]) and row["expires_at"] > iso(now),
        "expires_at": row["expires_at"],
        "paused_at": row["paused_at"],
        "agent_email": row["agent_email"],
        "agent_name": row["agent_name"],
        "agent_assignee_id": row["agent_assignee_id"],
        "external_conversation_id": row["external_conversation_id"],
        "source": row["source"],
    }
