"""The Store protocol's contract: every operation, against every backend (today SQLite).

A new backend passes when this suite passes unchanged: add it to BACKENDS. The tests speak
only the protocol (rows in, views out), never SQL; `test_every_operation_is_covered` fails
when an operation is added to the protocol without a test here.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import pytest

from gateway.access import may_see
from gateway.auth import Principal
from storage.backends import open_store
from storage.content import (
    ContactCard,
    Contacts,
    Document,
    Email,
    Interactive,
    Location,
    Order,
    OrderItem,
    Phone,
    Referral,
    Text,
)
from storage.rows import (
    Alias,
    Annotation,
    AssignmentRow,
    ConversationRow,
    InboxRow,
    JournalRow,
    MessageRow,
    NewOperator,
    OperatorChange,
    OutboxRow,
    StatusRow,
    StepCommit,
)
from storage.store import EmailTaken, Store, StoreClosed
from storage.views import (
    ConversationFilter,
    Deadline,
    DueSend,
    MessageView,
    PauseView,
    SessionFilter,
    SessionView,
)

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
COVERED: set[str] = set()
F = TypeVar("F", bound=Callable[..., Any])


def covers(*operations: str) -> Callable[[F], F]:
    """Marks the protocol operations a test exercises."""
    COVERED.update(operations)
    return lambda test: test


def sqlite_store(tmp_path: Path) -> Store:
    return open_store(str(tmp_path / "contract.db"), synchronous="NORMAL")


BACKENDS = {"sqlite": sqlite_store}


@pytest.fixture(params=sorted(BACKENDS))
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    """Makes a store of the backend on one place (call again to reopen it)."""
    factory = BACKENDS[request.param]
    return lambda: factory(tmp_path)


@pytest.fixture
async def store(make_store: Callable[[], Store]) -> AsyncIterator[Store]:
    opened = make_store()
    await opened.start()
    yield opened
    await opened.stop()


# --- rows the tests write ----------------------------------------------------------------


def conversation(
    cid: str = "c1",
    *,
    phone: str | None = "447700900123",
    wakeup: datetime | None = None,
    last_activity: datetime = T0,
    status: str = "open",
    mode: str = "bot",
    archived: datetime | None = None,
    snapshot: bytes = b"snap",
) -> ConversationRow:
    return ConversationRow(
        id=cid,
        business_id="b1",
        customer_id=phone or cid,
        phone=phone,
        customer_name="Dana",
        mode=mode,
        status=status,
        paused_until=None,
        flow_id="main",
        node_id="menu",
        variables={"name": "Dana"},
        deadlines=[] if wakeup is None else [Deadline("pause_expiry", wakeup)],
        window_expires_at=T0 + timedelta(hours=24),
        last_inbound_at=T0,
        last_activity_at=last_activity,
        next_wakeup_at=wakeup,
        archived_at=archived,
        new_messages=1,
        unread_count=1,
        snapshot=snapshot,
        created_at=T0,
    )


def message(
    store: Store,
    cid: str = "c1",
    text: str = "hi",
    *,
    session_id: str | None = None,
    direction: str = "in",
    sender: str = "customer",
    status: str | None = "received",
    pid: str | None = None,
    at: datetime = T0,
) -> MessageRow:
    view = MessageView(
        id=str(store.next_message_id()),
        conversation_id=cid,
        session_id=session_id,
        direction=direction,  # type: ignore[arg-type]
        sender_type=sender,  # type: ignore[arg-type]
        sender_id=None,
        kind="text",
        text=text,
        created_at=at,
        status=status,
        provider_message_id=pid,
    )
    return MessageRow(view, payload='{"raw": true}')


def session(
    sid: str = "c1.s1",
    cid: str = "c1",
    *,
    chat_state: str = "waiting_assignment",
    agent: str | None = None,
    last: str | None = None,
    started: datetime = T0,
    since: datetime = T0,
    rev: int = 0,
    phone: str = "447700900123",
    name: str = "Dana",
) -> SessionView:
    status = {"waiting_assignment": "waiting", "completed": "ended"}.get(chat_state, "active")
    return SessionView(
        id=sid,
        conversation_id=cid,
        phone_number=phone,
        customer_name=name,
        status=status,  # type: ignore[arg-type]
        chat_state=chat_state,  # type: ignore[arg-type]
        agent_id=agent,
        last_operator_id=last or agent,
        started_by="customer",
        started_at=started,
        accepted_at=started if agent else None,
        operator_replied_at=since if chat_state == "waiting_real_user_reply" else None,
        expires_at=started + timedelta(hours=22),
        ended_at=since if chat_state == "completed" else None,
        end_reason="agent" if chat_state == "completed" else None,
        state_since=since,
        rev=rev,
    )


def pause(cid: str = "c1", until: datetime = T0 + timedelta(hours=10)) -> PauseView:
    return PauseView(
        conversation_id=cid,
        phone_number="447700900123",
        paused=True,
        expires_at=until,
        paused_at=T0,
        source="agent",
        agent_email="contracts@abar.app",
        agent_name="M. Ibrahim",
        agent_assignee_id="656d7ed0",
        external_conversation_id="68b3fa21",
        by=None,
    )


def send(store: Store, cid: str, message_id: int, *, at: datetime = T0) -> OutboxRow:
    return OutboxRow(
        id=store.next_outbox_id(),
        conversation_id=cid,
        message_id=message_id,
        recipient="447700900123",
        body=b"body",
        text="the menu",
        next_attempt_at=at,
        created_at=at,
    )


def inbox(key: str, cid: str | None = "c1", *, payload: bytes | None = b"event") -> InboxRow:
    return InboxRow(
        dedupe_key=key,
        source="cloud",
        kind="message",
        conversation_id=cid,
        payload=payload,
        received_at=T0,
        processed=payload is None,
    )


async def commit(store: Store, row: ConversationRow, **parts: Any) -> StepCommit:
    done = StepCommit(conversation=row, now=T0, **parts)
    await store.commit_step(done)
    return done


# --- the contract -------------------------------------------------------------------------


@covers("start", "stop", "running", "idle", "wait_idle", "backlog", "stats")
async def test_lifecycle(make_store: Callable[[], Store]) -> None:
    """A store runs between start and stop, is idle once its writes are durable, counts
    its batches, and refuses writes after stop."""
    store = make_store()
    await store.start()
    assert store.running
    await store.put_value("k", "v")
    await store.wait_idle()
    assert store.idle and store.backlog == 0
    assert store.stats.batches >= 1 and store.stats.writes >= 1
    assert store.stats.largest_batch >= 1
    await store.stop()
    assert not store.running
    with pytest.raises(StoreClosed):
        await store.put_value("k", "w")


@covers("next_message_id", "next_outbox_id")
async def test_ids_are_fresh_even_after_a_restart(make_store: Callable[[], Store]) -> None:
    """Ids grow, and a reopened store never hands out an id it stored before."""
    store = make_store()
    await store.start()
    first = [store.next_message_id() for _ in range(3)]
    assert first == sorted(set(first))
    row = message(store)
    outbox_row = send(store, "c1", int(row.view.id))
    await commit(store, conversation(), messages=[row], outbox=[outbox_row])
    await store.stop()
    again = make_store()
    await again.start()
    assert again.next_message_id() > int(row.view.id)
    assert again.next_outbox_id() > outbox_row.id
    await again.stop()


@covers("commit_step", "load_snapshots", "conversation", "messages", "message", "journey")
async def test_a_step_is_stored_whole(store: Store) -> None:
    """One commit stores the snapshot and projection, its messages (ids as given), and its
    journal; the conversation's view reads them back."""
    row = message(store, text="hello")
    await commit(
        store,
        conversation(wakeup=T0 + timedelta(hours=1)),
        messages=[row],
        journal=[JournalRow("c1", T0, "message_received", "recorded", "text w1")],
    )
    assert await store.load_snapshots(["c1", "nope"]) == {"c1": b"snap"}
    view = await store.conversation("c1", T0)
    assert view is not None
    assert (view.phone_number, view.customer_name, view.mode, view.status) == (
        "447700900123",
        "Dana",
        "bot",
        "open",
    )
    assert view.flow is not None and (view.flow.flow_id, view.flow.node_id) == ("main", "menu")
    assert view.variables == {"name": "Dana"}
    assert view.deadlines == [Deadline("pause_expiry", T0 + timedelta(hours=1))]
    assert view.next_wakeup_at == T0 + timedelta(hours=1)
    assert view.window_expires_at == T0 + timedelta(hours=24)
    assert (view.message_count, view.unread_count, view.tags, view.metadata) == (1, 1, [], {})
    assert view.pause is None and view.session is None and not view.paused
    found, total = await store.messages("c1", 10, 0)
    assert (total, found) == (1, [row.view])
    assert await store.message(row.view.id) == row.view
    assert await store.message("12345678") is None
    assert await store.message("not-a-number") is None
    [entry] = await store.journey("c1")
    assert (entry.at, entry.step_type, entry.status, entry.detail) == (
        T0,
        "message_received",
        "recorded",
        "text w1",
    )
    assert await store.conversation("nope", T0) is None


@covers("commit_step")
async def test_a_later_step_updates_the_projection(store: Store) -> None:
    """A known conversation's row is updated in place (`exists`), not duplicated."""
    await commit(store, conversation())
    await store.commit_step(
        StepCommit(conversation=conversation(snapshot=b"two", mode="human"), now=T0, exists=True)
    )
    assert await store.load_snapshots(["c1"]) == {"c1": b"two"}
    view = await store.conversation("c1", T0)
    assert view is not None and view.mode == "human"
    _, total = await store.conversations(ConversationFilter(), 10, 0, T0)
    assert total == 1


@covers("conversations")
async def test_conversations_are_filtered_and_paged(store: Store) -> None:
    """Filters by phone, status, mode and archived; most recently active first."""
    await commit(store, conversation("c1", phone="111111", last_activity=T0))
    await commit(
        store,
        conversation("c2", phone="222222", last_activity=T0 + timedelta(minutes=1), mode="human"),
    )
    await commit(
        store,
        conversation(
            "c3",
            phone="333333",
            last_activity=T0 - timedelta(minutes=1),
            status="closed",
            archived=T0,
        ),
    )
    every, total = await store.conversations(ConversationFilter(), 10, 0, T0)
    assert ([c.id for c in every], total) == (["c2", "c1", "c3"], 3)
    page, total = await store.conversations(ConversationFilter(), 1, 1, T0)
    assert ([c.id for c in page], total) == (["c1"], 3)
    cases = {
        ConversationFilter(phone="222222"): ["c2"],
        ConversationFilter(status="closed"): ["c3"],
        ConversationFilter(mode="human"): ["c2"],
        ConversationFilter(archived=True): ["c3"],
        ConversationFilter(archived=False): ["c2", "c1"],
        ConversationFilter(tag="vip"): [],
    }
    for where, expected in cases.items():
        found, total = await store.conversations(where, 10, 0, T0)
        assert ([c.id for c in found], total) == (expected, len(expected)), where


@covers("commit_step", "active_pauses", "expired_pauses", "conversation")
async def test_pause_projection(store: Store) -> None:
    """A pause set by a step is active until it runs out; a step that lifts it clears it."""
    until = T0 + timedelta(hours=10)
    await commit(store, conversation(), pause=pause(until=until))
    view = await store.conversation("c1", T0)
    assert view is not None and view.paused and view.pause is not None
    assert (view.pause.expires_at, view.pause.agent_email, view.pause.source) == (
        until,
        "contracts@abar.app",
        "agent",
    )
    found, total = await store.active_pauses(T0, 10, 0)
    assert total == 1 and found[0].conversation_id == "c1" and found[0].paused
    later = until + timedelta(seconds=1)
    assert await store.active_pauses(later, 10, 0) == ([], 0)
    assert await store.expired_pauses(later) == ["c1"]
    assert await store.expired_pauses(T0) == []
    late = await store.conversation("c1", later)
    assert late is not None and not late.paused and late.pause is not None
    await store.commit_step(
        StepCommit(conversation=conversation(), now=later, pause_cleared=True, exists=True)
    )
    assert await store.expired_pauses(later) == []
    cleared = await store.conversation("c1", T0)
    assert cleared is not None and cleared.pause is None and not cleared.paused


@covers("insert_inbox", "unprocessed_inbox", "inbox_counts")
async def test_inbox_deduplicates_and_tracks_processing(store: Store) -> None:
    """A duplicate key is None and writes nothing; events stay unprocessed until a step
    marks them; an ignored event (no payload) is processed at once and its note kept."""
    note = JournalRow(None, T0, "webhook", "ignored_field", "account_update")
    ids = await store.insert_inbox(
        [
            inbox("k1"),
            inbox("k2", "c2"),
            inbox("k1"),
            InboxRow("k3", "cloud", "ignored", None, None, T0, processed=True, note=note),
        ]
    )
    assert ids[0] is not None and ids[1] is not None and ids[2] is None and ids[3] is not None
    again = await store.insert_inbox([inbox("k1")])
    assert again == [None]
    pending = await store.unprocessed_inbox(3)
    assert [(e.id, e.conversation_id, e.payload) for e in pending] == [
        (ids[0], "c1", b"event"),
        (ids[1], "c2", b"event"),
    ]
    assert [e.id for e in await store.unprocessed_inbox(3, "c2")] == [ids[1]]
    assert [e.id for e in await store.unprocessed_inbox(3, after_id=ids[0])] == [ids[1]]
    assert [e.id for e in await store.unprocessed_inbox(3, limit=1)] == [ids[0]]
    counts = await store.inbox_counts()
    assert (counts.total, counts.unprocessed) == (3, 2)
    await commit(store, conversation(), inbox_id=ids[0])
    assert [e.id for e in await store.unprocessed_inbox(3)] == [ids[1]]
    assert (await store.inbox_counts()).unprocessed == 1


@covers("mark_inbox_failed", "unprocessed_inbox")
async def test_failed_events_are_retried_a_few_times(store: Store) -> None:
    """An event that failed `max_attempts` times is no longer offered."""
    [event_id] = await store.insert_inbox([inbox("k1")])
    assert event_id is not None
    await store.mark_inbox_failed(event_id, "RuntimeError('boom')")
    assert [e.id for e in await store.unprocessed_inbox(2)] == [event_id]
    await store.mark_inbox_failed(event_id, "RuntimeError('boom')")
    assert await store.unprocessed_inbox(2) == []


@covers("due_sends", "next_send_attempt", "mark_sent", "mark_retry", "mark_send_failed")
async def test_outbox_lifecycle(store: Store) -> None:
    """A committed send is due at once; a retry moves it later; sent and failed sends are
    no longer due, and their message carries the outcome."""
    rows = [message(store, direction="out", sender="bot", status="pending") for _ in range(3)]
    sends = [send(store, "c1", int(r.view.id)) for r in rows]
    await commit(store, conversation(), messages=rows, outbox=sends)
    due = await store.due_sends(T0, 10)
    assert due == [DueSend(s.id, s.recipient, s.body, 0, s.message_id) for s in sends]
    assert await store.due_sends(T0, 1) == due[:1]
    first, second, third = due
    await store.mark_sent(first, "wamid.SENT", T0)
    retry_at = T0 + timedelta(seconds=30)
    await store.mark_retry(second.id, retry_at, 130429, "throughput", T0)
    await store.mark_send_failed(third, 131026, "undeliverable", T0)
    assert await store.due_sends(T0, 10) == []
    assert await store.next_send_attempt(T0) == retry_at
    assert await store.next_send_attempt(retry_at) is None
    [again] = await store.due_sends(retry_at, 10)
    assert (again.id, again.attempts) == (second.id, 1)
    sent = await store.message(rows[0].view.id)
    failed = await store.message(rows[2].view.id)
    assert sent is not None and (sent.status, sent.provider_message_id) == ("sent", "wamid.SENT")
    assert failed is not None and (failed.status, failed.error_code) == ("failed", 131026)
    assert ("delivery", "send_failed") in [
        (j.step_type, j.status) for j in await store.journey("c1")
    ]


@covers("mark_attempting", "defer_unconfirmed")
async def test_an_attempted_send_left_unconfirmed_waits_for_its_status(store: Store) -> None:
    """A send marked as attempting and never recorded (the process died) is deferred at the
    next start; a status naming its outbox id confirms it (sent, with the provider's id,
    journaled); a send recorded or never attempted is not deferred."""
    rows = [message(store, direction="out", sender="bot", status="pending") for _ in range(3)]
    sends = [send(store, "c1", int(r.view.id)) for r in rows]
    await commit(store, conversation(), messages=rows, outbox=sends)
    first, second, _third = await store.due_sends(T0, 10)
    await store.mark_attempting([first.id, second.id], T0)
    await store.mark_sent(second, "wamid.SENT", T0)
    until = T0 + timedelta(seconds=30)
    assert await store.defer_unconfirmed(until) == [(first.id, first.recipient)]
    assert [d.id for d in await store.due_sends(T0, 10)] == [sends[2].id]
    assert await store.next_send_attempt(T0) == until
    status = StatusRow("wamid.AT_META", "sent", T0, outbox_id=first.id)
    await store.insert_inbox(
        [InboxRow("st1", "cloud", "status", None, None, T0, processed=True, status=status)]
    )
    assert [d.id for d in await store.due_sends(until, 10)] == [sends[2].id]
    assert await store.defer_unconfirmed(until) == []
    confirmed = await store.message(rows[0].view.id)
    assert confirmed is not None
    assert (confirmed.status, confirmed.provider_message_id) == ("sent", "wamid.AT_META")
    assert ("delivery", "send_confirmed_by_status") in [
        (j.step_type, j.status) for j in await store.journey("c1")
    ]


@covers("insert_inbox", "message")
async def test_statuses_merge_forward_only(store: Store) -> None:
    """Statuses merge monotonically (sent < delivered < read); a late `delivered` after
    `read` changes nothing; `read` stamps read_at; a failure is journaled."""
    row = message(store, direction="out", sender="bot", status="sent", pid="wamid.OUT")
    await commit(store, conversation(), messages=[row])

    async def status(key: str, value: str, minutes: int, code: int | None = None) -> None:
        at = T0 + timedelta(minutes=minutes)
        await store.insert_inbox(
            [
                InboxRow(
                    key,
                    "cloud",
                    "status",
                    None,
                    None,
                    at,
                    processed=True,
                    status=StatusRow("wamid.OUT", value, at, error_code=code),
                )
            ]
        )

    await status("s1", "read", 2)
    await status("s2", "delivered", 3)
    view = await store.message(row.view.id)
    assert view is not None and view.status == "read"
    assert view.read_at == T0 + timedelta(minutes=2)
    other = message(store, direction="out", sender="bot", status="sent", pid="wamid.OUT2")
    await commit(store, conversation(), messages=[other], exists=True)
    await store.insert_inbox(
        [
            InboxRow(
                "s3",
                "cloud",
                "status",
                None,
                None,
                T0,
                processed=True,
                status=StatusRow("wamid.OUT2", "failed", T0, error_code=131047),
            )
        ]
    )
    failed = await store.message(other.view.id)
    assert failed is not None and (failed.status, failed.error_code) == ("failed", 131047)
    assert ("delivery", "failed") in [(j.step_type, j.status) for j in await store.journey("c1")]


@covers("is_own_send")
async def test_own_sends_are_recognised(store: Store) -> None:
    """By one of our outbox ids (to that recipient), by a provider id a send returned, or
    by the same text to the same recipient since the given instant."""
    row = message(store, direction="out", sender="bot", status="pending")
    outbox_row = send(store, "c1", int(row.view.id))
    await commit(store, conversation(), messages=[row], outbox=[outbox_row])
    [due] = await store.due_sends(T0, 10)
    await store.mark_sent(due, "wamid.OURS", T0)
    recipient = outbox_row.recipient
    assert await store.is_own_send(["wamid.OURS"], [], None, None, T0)
    assert not await store.is_own_send(["wamid.THEIRS"], [], None, None, T0)
    assert await store.is_own_send([], [], recipient, "the menu", T0 - timedelta(minutes=1))
    assert not await store.is_own_send([], [], recipient, "the menu", T0 + timedelta(minutes=1))
    assert not await store.is_own_send([], [], recipient, "something else", T0)
    assert not await store.is_own_send([], [], "447700900999", "the menu", T0)
    # our own outbox id (a local message id we gave the provider): ours before any answer
    assert await store.is_own_send(["gw-x"], [outbox_row.id], recipient, None, T0)
    assert not await store.is_own_send([], [outbox_row.id], "447700900999", None, T0)
    assert not await store.is_own_send([], [outbox_row.id + 1000], recipient, None, T0)


@covers("put_value", "get_value")
async def test_values(store: Store) -> None:
    """A process-wide value is stored, replaced, and read back."""
    assert await store.get_value("virtual_clock_now") is None
    await store.put_value("virtual_clock_now", "2026-11-21T09:00:00+00:00")
    await store.put_value("virtual_clock_now", "2026-11-21T10:00:00+00:00")
    assert await store.get_value("virtual_clock_now") == "2026-11-21T10:00:00+00:00"


@covers("wakeups")
async def test_wakeups_list_every_pending_deadline(store: Store) -> None:
    """Each conversation with a deadline, and only those."""
    await commit(store, conversation("c1", wakeup=T0 + timedelta(hours=1)))
    await commit(store, conversation("c2", phone="222222"))
    assert await store.wakeups() == [("c1", T0 + timedelta(hours=1))]


@covers("create_operator", "operator_by_token", "operator", "operators")
async def test_operators(store: Store) -> None:
    """Operators are found by token hash and id; a taken e-mail is EmailTaken."""
    ana = NewOperator("op_ana", "Ana", "ana@shop.example", "agent", "hash-ana", T0)
    ben = NewOperator("op_ben", "Ben", "ben@shop.example", "supervisor", "hash-ben", T0)
    await store.create_operator(ana)
    await store.create_operator(ben)
    with pytest.raises(EmailTaken):
        await store.create_operator(
            NewOperator("op_x", "X", "ana@shop.example", "agent", "hash-x", T0)
        )
    found = await store.operator_by_token("hash-ana")
    assert found is not None
    assert (found.id, found.name, found.role, found.active, found.created_at) == (
        "op_ana",
        "Ana",
        "agent",
        True,
        T0,
    )
    assert await store.operator_by_token("nope") is None
    assert (await store.operator("op_ben")) is not None
    assert await store.operator("nope") is None
    assert [o.id for o in await store.operators()] == ["op_ana", "op_ben"]


@covers(
    "session",
    "waiting_sessions",
    "open_sessions",
    "sessions_held_by",
    "chat_state_counts",
    "stuck_sessions",
    "session_messages",
    "conversation",
)
async def test_session_projection(store: Store) -> None:
    """A session written by steps is read back as it was, with its rev; the queue is oldest
    first; an ended session leaves the open lists."""
    waiting_one = session("c1.s1", "c1", since=T0 + timedelta(minutes=2), rev=1)
    await commit(
        store,
        conversation("c1"),
        session=waiting_one,
        messages=[message(store, "c1", "help", session_id="c1.s1")],
    )
    older = session("c2.s1", "c2", since=T0 + timedelta(minutes=1), phone="222222")
    await commit(store, conversation("c2", phone="222222"), session=older)
    held = session("c3.s1", "c3", chat_state="assigned", agent="op_ana", phone="333333", rev=3)
    await commit(store, conversation("c3", phone="333333"), session=held)
    assert await store.session("c3.s1") == held
    assert await store.session("nope") is None
    assert [s.id for s in await store.waiting_sessions()] == ["c2.s1", "c1.s1"]
    assert [s.id for s in await store.open_sessions()] == ["c1.s1", "c2.s1", "c3.s1"]
    assert await store.sessions_held_by("op_ana") == [held]
    assert await store.sessions_held_by("op_ben") == []
    counts = await store.chat_state_counts()
    assert counts == {
        "waiting_assignment": 2,
        "assigned": 1,
        "waiting_real_user_reply": 0,
        "completed": 0,
    }
    stuck = await store.stuck_sessions(T0 + timedelta(minutes=1, seconds=30))
    assert [s.id for s in stuck] == ["c3.s1", "c2.s1"]
    [line] = await store.session_messages("c1.s1")
    assert line.text == "help"
    view = await store.conversation("c1", T0)
    assert view is not None and view.session == waiting_one
    ended = session("c3.s1", "c3", chat_state="completed", last="op_ana", phone="333333", rev=4)
    await commit(store, conversation("c3", phone="333333"), session=ended, exists=True)
    assert [s.id for s in await store.open_sessions()] == ["c1.s1", "c2.s1"]
    gone = await store.conversation("c3", T0)
    assert gone is not None and gone.session is None
    assert await store.session("c3.s1") == ended


@covers("messages_before")
async def test_messages_before_a_session(store: Store) -> None:
    """What the customer and the bot said before a session: outside any session, up to its
    start, the last `limit` of them, oldest first."""
    rows = [
        message(store, "c1", "hi", at=T0),
        message(store, "c1", "menu", direction="out", sender="bot", at=T0),
        message(store, "c1", "talk to expert", at=T0 + timedelta(minutes=1)),
        message(store, "c1", "connecting", session_id="c1.s1", at=T0 + timedelta(minutes=1)),
        message(store, "c1", "later", at=T0 + timedelta(hours=1)),
        message(store, "c2", "other customer", at=T0),
    ]
    await commit(store, conversation("c1"), messages=rows[:5])
    await commit(store, conversation("c2"), messages=rows[5:])
    found = await store.messages_before("c1", T0 + timedelta(minutes=1), 10)
    assert [m.text for m in found] == ["hi", "menu", "talk to expert"]
    last_two = await store.messages_before("c1", T0 + timedelta(minutes=1), 2)
    assert [m.text for m in last_two] == ["menu", "talk to expert"]
    assert await store.messages_before("c3", T0, 10) == []


@covers("session_history")
async def test_session_history_filters(store: Store) -> None:
    """Newest first; by any operator that handled it, status, phone or name substring (with
    LIKE's wildcards taken literally), and start bounds."""
    rows = [
        session("c1.s1", "c1", started=T0, phone="447700900123", name="Dana 100%"),
        session(
            "c2.s1",
            "c2",
            chat_state="assigned",
            agent="op_ana",
            started=T0 + timedelta(days=1),
            phone="447700900456",
            name="Omar",
        ),
        session(
            "c3.s1",
            "c3",
            chat_state="completed",
            last="op_ben",
            started=T0 + timedelta(days=2),
            phone="966500000001",
            name="Lina_x",
        ),
    ]
    for s in rows:
        await commit(store, conversation(s.conversation_id, phone=s.phone_number), session=s)
    await commit(
        store,
        conversation("c3", phone="966500000001"),
        assignments=[AssignmentRow("c3.s1", "c3", "op_ana", "assigned", T0)],
        exists=True,
    )

    async def ids(where: SessionFilter, limit: int = 10, offset: int = 0) -> tuple[list[str], int]:
        found, total = await store.session_history(where, limit, offset)
        return [s.id for s in found], total

    assert await ids(SessionFilter()) == (["c3.s1", "c2.s1", "c1.s1"], 3)
    assert await ids(SessionFilter(), 1, 1) == (["c2.s1"], 3)
    assert await ids(SessionFilter(agent_id="op_ana")) == (["c3.s1", "c2.s1"], 2)
    assert await ids(SessionFilter(status="ended")) == (["c3.s1"], 1)
    assert await ids(SessionFilter(search="4477009")) == (["c2.s1", "c1.s1"], 2)
    assert await ids(SessionFilter(search="omar")) == (["c2.s1"], 1)
    assert await ids(SessionFilter(search="100%")) == (["c1.s1"], 1)
    assert await ids(SessionFilter(search="%")) == (["c1.s1"], 1)
    assert await ids(SessionFilter(search="_")) == (["c3.s1"], 1)
    window = SessionFilter(
        started_from=T0 + timedelta(days=1), started_before=T0 + timedelta(days=2)
    )
    assert await ids(window) == (["c2.s1"], 1)


@covers("session_history")
async def test_session_history_readable_by_follows_the_visibility_rule(store: Store) -> None:
    """`readable_by` keeps what gateway.access.may_see lets that agent read (of what it
    handled): held by it, waiting, ended, or unheld and answered last by it."""
    rows = [
        session("c1.s1", "c1"),
        session("c2.s1", "c2", chat_state="assigned", agent="op_ana"),
        session("c3.s1", "c3", chat_state="completed", last="op_ben"),
        session("c4.s1", "c4", chat_state="assigned", agent="op_ben", last="op_ben"),
        session("c5.s1", "c5", chat_state="waiting_real_user_reply", last="op_ana"),
        session("c6.s1", "c6", chat_state="waiting_real_user_reply", last="op_ben"),
        session("c7.s1", "c7", chat_state="waiting_real_user_reply", agent="op_ben"),
    ]
    for s in rows:
        await commit(store, conversation(s.conversation_id), session=s)
    found, total = await store.session_history(SessionFilter(readable_by="op_ana"), 10, 0)
    ana = Principal(id="op_ana", name="Ana", role="agent")
    expected = {s.id for s in rows if may_see(ana, s, handled=True)}
    assert {s.id for s in found} == expected == {"c1.s1", "c2.s1", "c3.s1", "c5.s1"}
    assert total == 4


@covers("change_operator")
async def test_changing_an_operator(store: Store) -> None:
    """Each field the change names changes, the others stay; a new token hash replaces the
    old one; an inactive operator is not found by its token."""
    await store.create_operator(NewOperator("op_ana", "Ana", "ana@x.example", "agent", "h1", T0))
    await store.change_operator(OperatorChange("op_ana", name="Ana B.", role="supervisor"))
    found = await store.operator("op_ana")
    assert found is not None and (found.name, found.role, found.active) == (
        "Ana B.",
        "supervisor",
        True,
    )
    await store.change_operator(OperatorChange("op_ana", token_hash="h2"))
    assert await store.operator_by_token("h1") is None
    assert await store.operator_by_token("h2") is not None
    await store.change_operator(OperatorChange("op_ana", active=False))
    assert await store.operator_by_token("h2") is None
    inactive = await store.operator("op_ana")
    assert inactive is not None and not inactive.active and inactive.name == "Ana B."
    await store.change_operator(OperatorChange("op_ana", active=True))
    assert await store.operator_by_token("h2") is not None
    await store.change_operator(OperatorChange("op_nobody", active=False))  # nothing to change


@covers("commit_step", "assignments", "operator_stats")
async def test_assignment_history(store: Store) -> None:
    """`assigned` opens a line, `replied` stamps the first reply once, `released` closes it;
    the stats count them and time the first replies."""
    at = [T0 + timedelta(seconds=s) for s in (0, 30, 60, 90, 120)]
    logs = [
        AssignmentRow("c1.s1", "c1", "op_ana", "assigned", at[0]),
        AssignmentRow("c1.s1", "c1", "op_ana", "replied", at[1]),
        AssignmentRow("c1.s1", "c1", "op_ana", "replied", at[2]),
        AssignmentRow("c1.s1", "c1", "op_ana", "released", at[3], "idle"),
        AssignmentRow("c1.s1", "c1", "op_ben", "assigned", at[4]),
    ]
    await commit(store, conversation(), assignments=logs)
    first, second = await store.assignments("c1.s1")
    assert (first.operator_id, first.assigned_at, first.first_reply_at) == ("op_ana", at[0], at[1])
    assert (first.released_at, first.reason) == (at[3], "idle")
    assert (second.operator_id, second.first_reply_at, second.released_at) == ("op_ben", None, None)
    assert await store.assignments("nope") == []
    stats = {s.operator_id: s for s in await store.operator_stats(T0 - timedelta(hours=1))}
    ana, ben = stats["op_ana"], stats["op_ben"]
    assert (ana.total_assignments, ana.completed, ana.active, ana.replied) == (1, 1, 0, 1)
    assert ana.avg_response_seconds == pytest.approx(30)
    assert ana.max_response_seconds == pytest.approx(30)
    assert (ben.total_assignments, ben.completed, ben.active, ben.replied) == (1, 0, 1, 0)
    assert ben.avg_response_seconds is None
    assert await store.operator_stats(T0 + timedelta(hours=1)) == []


@covers("outbox_counts")
async def test_outbox_counts(store: Store) -> None:
    """Outbox rows by status."""
    rows = [message(store, direction="out", sender="bot", status="pending") for _ in range(2)]
    sends = [send(store, "c1", int(r.view.id)) for r in rows]
    await commit(store, conversation(), messages=rows, outbox=sends)
    due = await store.due_sends(T0, 10)
    await store.mark_sent(due[0], "wamid.1", T0)
    counts = await store.outbox_counts()
    assert (counts.pending, counts.sent, counts.failed) == (1, 1, 0)


@covers("insert_inbox", "commit_step", "alias", "aliases")
async def test_customer_keys_are_linked(store: Store) -> None:
    """Links taught by webhooks or by steps lead a key to its conversation; a later link
    of the same key replaces the earlier."""
    [_] = await store.insert_inbox([inbox("k1")], [Alias("b1", "bsuid", "GB.881234567890", "c1")])
    assert await store.alias("b1", "bsuid", "GB.881234567890") == "c1"
    assert await store.alias("b2", "bsuid", "GB.881234567890") is None
    await commit(
        store,
        conversation("c2", phone="222222"),
        aliases=[
            Alias("b1", "phone", "447700900999", "c2"),
            Alias("b1", "bsuid", "GB.881234567890", "c2"),
        ],
    )
    assert await store.alias("b1", "bsuid", "GB.881234567890") == "c2"
    assert await store.aliases("phone") == [Alias("b1", "phone", "447700900999", "c2")]


@covers("inbox_events")
async def test_raw_events_of_a_conversation(store: Store) -> None:
    """A conversation's stored webhook events, newest first, with their payload."""
    first, second = await store.insert_inbox([inbox("k1"), inbox("k2", payload=b"second")])
    await store.insert_inbox([inbox("k3", "c2")])
    found, total = await store.inbox_events("c1", 10, 0)
    assert total == 2
    assert [(e.id, e.dedupe_key, e.payload, e.source) for e in found] == [
        (second, "k2", b"second", "cloud"),
        (first, "k1", b"event", "cloud"),
    ]
    assert found[0].received_at == T0 and found[0].processed_at is None
    page, total = await store.inbox_events("c1", 1, 1)
    assert [e.id for e in page] == [first] and total == 2


@covers("commit_step", "message", "messages")
async def test_a_message_keeps_its_whole_structure(store: Store) -> None:
    """Content of any type, what it answers, forwarding and the ad it came from are read
    back exactly as written."""
    card = ContactCard(
        name="Dana Levi",
        phones=[Phone("+44 7700 900123", "447700900123", "CELL")],
        emails=[Email("dana@example.com", "WORK")],
    )
    shapes = [
        Contacts(contacts=[card]),
        Location(51.5033, -0.1196, "County Hall", "Westminster Bridge Rd"),
        Order(catalog_id="cat", text="soon", items=[OrderItem("sku", 2, 9.5, "GBP")]),
        Interactive(reply_type="nfm_reply", flow_name="signup", answers={"name": "Dana"}),
        Document(media_id="m1", mime_type="application/pdf", filename="id.pdf", caption="mine"),
    ]
    rows = []
    for content in shapes:
        row = message(store, text="summary")
        rows.append(
            MessageRow(
                msgspec.structs.replace(
                    row.view,
                    content=content,
                    reply_to="wamid.EARLIER",
                    forwarded=True,
                    referral=Referral(source_url="https://ad", headline="Sale", ctwa_clid="x"),
                ),
                row.payload,
            )
        )
    row_of_step = msgspec.structs.replace(conversation(), new_messages=len(rows))
    await commit(store, row_of_step, messages=rows)
    for row in rows:
        assert await store.message(row.view.id) == row.view
    listed, total = await store.messages("c1", 10, 0)
    assert listed == [r.view for r in rows] and total == len(rows)
    view = await store.conversation("c1", T0)
    assert view is not None and view.message_count == len(rows), "counts what the steps added"
    await commit(store, row_of_step, exists=True)
    again = await store.conversation("c1", T0)
    assert again is not None and again.message_count == 2 * len(rows)


@covers("commit_step", "message")
async def test_reactions_deletions_and_edits_change_the_earlier_message(store: Store) -> None:
    """A reaction attaches to its message (one per sender; no emoji removes it); a deletion
    marks it; an edit keeps the previous text; a change to an unknown message is a no-op."""
    row = message(store, text="see you at 8", pid="wamid.ORIG")
    row = MessageRow(msgspec.structs.replace(row.view, content=Text(body="see you at 8")))
    await commit(store, conversation(), messages=[row])

    async def change(*changes: Annotation) -> MessageView:
        await commit(store, conversation(), annotations=list(changes), exists=True)
        found = await store.message(row.view.id)
        assert found is not None
        return found

    later = T0 + timedelta(minutes=1)
    reacted = await change(Annotation("c1", "wamid.ORIG", "reaction", T0, emoji="👍"))
    assert [(r.emoji, r.by, r.at) for r in reacted.reactions] == [("👍", "customer", T0)]
    replaced = await change(
        Annotation("c1", "wamid.ORIG", "reaction", later, emoji="❤️"),
        Annotation("c1", "wamid.ORIG", "reaction", later, by="agent", emoji="🙏"),
    )
    assert [(r.emoji, r.by) for r in replaced.reactions] == [("❤️", "customer"), ("🙏", "agent")]
    removed = await change(Annotation("c1", "wamid.ORIG", "reaction", later))
    assert [(r.emoji, r.by) for r in removed.reactions] == [("🙏", "agent")]
    edited = await change(Annotation("c1", "wamid.ORIG", "edit", later, text="see you at 9"))
    assert (edited.text, edited.previous_text, edited.edited_at) == (
        "see you at 9",
        "see you at 8",
        later,
    )
    assert edited.content == Text(body="see you at 9")
    deleted = await change(Annotation("c1", "wamid.ORIG", "revoke", later))
    assert deleted.deleted_at == later
    untouched = await change(Annotation("c1", "wamid.OTHER", "reaction", later, emoji="😀"))
    assert untouched == deleted


def test_every_operation_is_covered() -> None:
    """Each operation of the Store protocol has a contract test above."""
    operations = {name for name, _ in inspect.getmembers(Store) if not name.startswith("_")}
    assert operations - COVERED == set(), "operations without a contract test"
    assert COVERED - operations == set(), "tests that name no operation"
