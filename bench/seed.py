"""Seeds a database with many conversations, each paused until a given instant, written the
way the gateway writes them (snapshot, query columns, pause projection)."""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import msgspec

from actors.conversation.keys import conversation_id
from actors.conversation.state import Pause, new_conversation
from actors.conversation.step_commit import conversation_row
from actors.conversation.views import pause_view
from storage.sqlite import conversations, pauses
from storage.sqlite.migrate import migrate
from storage.sqlite.timefmt import iso
from storage.sqlite.writer import open_write_connection
from storage.views import Deadline

BUSINESS = "310000000000002"

_OUT_TEXTS = (
    "Thanks for your message! An agent will be with you shortly.",
    "Your order #{n} is on its way and should arrive within 2-3 working days.",
    "Please choose an option: 1) Orders 2) Returns 3) Talk to an expert",
    "We have received your return request; the refund is issued once the parcel arrives.",
)
_IN_TEXTS = (
    "hi",
    "Where is my order {n}? It was supposed to arrive yesterday and nothing came yet.",
    "1",
    "I would like to return the blue jacket, it is too small. How do I do that?",
    "thank you!",
)
_STATUSES = ("read", "read", "delivered", "sent", "failed", "pending")


def seed(path: Path, count: int, now: datetime, until: Callable[[int], datetime]) -> list[str]:
    """`count` conversations created at `now`, conversation i paused until `until(i)`."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = open_write_connection(str(path), "OFF")
    migrate(conn)
    at = iso(now)
    ids = []
    conn.execute("BEGIN")
    for i in range(count):
        phone = f"4479{i:08d}"
        cid = conversation_id(BUSINESS, phone)
        state = new_conversation(cid, BUSINESS, phone, now, phone, "Seeded")
        deadline = until(i)
        state = msgspec.structs.replace(
            state,
            pause=Pause(
                until=deadline,
                paused_at=now,
                agent_email="contracts@abar.app",
                external_conversation_id=f"ext{i}",
            ),
            last_inbound_at=now - timedelta(minutes=5),
            last_activity_at=now,
        )
        row = conversation_row(state, [Deadline("pause_expiry", deadline)], deadline)
        conversations.write(conn, row, at, exists=False)
        assert state.pause is not None
        pauses.upsert(conn, pause_view(state, state.pause, now), at)
        ids.append(cid)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return ids


def count_rows(path: Path, sql: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(sql).fetchone()[0])


def seed_history(
    path: Path,
    now: datetime,
    *,
    conversations: int,
    per_conversation: int,
    phones: str,
    name: str = "Customer",
) -> list[str]:
    """`conversations` of `per_conversation` messages each (customer and bot text, alternating, with
    content JSON, the customer's raw payload, provider ids and delivery statuses as the
    gateway stores them); message ids from 1. Committed every 10k conversations. Returns
    the conversation ids."""
    from actors.conversation.state import new_conversation
    from storage.content import Text
    from storage.rows import MessageRow
    from storage.sqlite import conversations as conversation_rows
    from storage.sqlite import messages
    from storage.views import MessageView

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = open_write_connection(str(path), "OFF")
    migrate(conn)
    ids: list[str] = []
    next_id = itertools.count(1)
    conn.execute("BEGIN")
    for i in range(conversations):
        phone = f"{phones}{i:08d}"
        cid = conversation_id(BUSINESS, phone)
        created = now - timedelta(days=30, minutes=i)
        rows: list[MessageRow] = []
        for j in range(per_conversation):
            mid = next(next_id)
            at = created + timedelta(minutes=j)
            if j % 2 == 0:
                text = _IN_TEXTS[(i + j) % len(_IN_TEXTS)].format(n=mid)
                wamid = f"wamid.seed{mid:09d}"
                raw = {"from": phone, "id": wamid, "timestamp": str(int(at.timestamp())),
                       "type": "text", "text": {"body": text}}  # fmt: skip
                view = MessageView(
                    id=str(mid), conversation_id=cid, session_id=None, direction="in",
                    sender_type="customer", sender_id=None, kind="text", text=text,
                    created_at=at, status="received", provider_message_id=wamid,
                    content=Text(body=text),
                )  # fmt: skip
                rows.append(MessageRow(view, json.dumps(raw, separators=(",", ":"))))
            else:
                text = _OUT_TEXTS[(i + j) % len(_OUT_TEXTS)].format(n=mid)
                status = _STATUSES[(i + j) % len(_STATUSES)]
                view = MessageView(
                    id=str(mid), conversation_id=cid, session_id=None, direction="out",
                    sender_type="bot", sender_id=None, kind="text", text=text,
                    created_at=at, status=status,
                    provider_message_id=None if status == "pending" else f"wamid.out{mid:09d}",
                    content=Text(body=text),
                )  # fmt: skip
                rows.append(MessageRow(view))
        last = created + timedelta(minutes=per_conversation - 1)
        state = msgspec.structs.replace(
            new_conversation(cid, BUSINESS, phone, created, phone, f"{name} {i}"),
            last_inbound_at=last - timedelta(minutes=1),
            last_activity_at=last,
        )
        row = conversation_row(state, [], None)
        row.new_messages = len(rows)
        conversation_rows.write(conn, row, iso(last), exists=False)
        messages.insert(conn, rows)
        ids.append(cid)
        if i % 10_000 == 9_999:
            conn.execute("COMMIT")
            conn.execute("BEGIN")
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return ids
