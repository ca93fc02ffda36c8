"""gateway.cloud_history: the Cloud API `history` webhook value (coexistence) to
HistoryMessages per customer, with the chunks' phase/order/progress; what the business sent
is outbound with its history_context status; malformed parts are skipped with a reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from gateway.cloud_history import Chunk, CloudHistory, Skipped, decode_history
from storage.content import Document, Image, Location, Reaction, Text, Unsupported

BUSINESS = "310000000000002"
OWN = "15550001111"
DANA = "447700900123"
SAM = "966509491382"
METADATA = {"display_phone_number": "+1 555-000-1111", "phone_number_id": BUSINESS}


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def msg(
    sender: str, wamid: str, ts: int, kind: str, status: str | None = None, **body: Any
) -> dict[str, Any]:
    message: dict[str, Any] = {"from": sender, "id": wamid, "timestamp": str(ts), "type": kind}
    if status is not None:
        message["history_context"] = {"status": status}
    return {**message, **body}


def value(*chunks: Any, metadata: Any = METADATA, **rest: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "metadata": metadata, "history": list(chunks), **rest}


def chunk(*threads: Any, phase: Any = 0, order: Any = 1, progress: Any = 55) -> dict[str, Any]:
    meta = {"phase": phase, "chunk_order": order, "progress": progress}
    return {"metadata": meta, "threads": list(threads)}


def thread(phone: str | None, *messages: Any) -> dict[str, Any]:
    return {"id": phone, "messages": list(messages)} if phone else {"messages": list(messages)}


# Two threads, as Meta's phase-0 chunk would carry them (shape: 360dialog and dualhook's copies
# of the history webhook reference; statuses uppercase).
REALISTIC = value(
    chunk(
        thread(
            DANA,
            msg(OWN, "wamid.A1", 1739230955, "text", "READ",
                text={"body": "Here's the info you requested!"}),
            msg(DANA, "wamid.A2", 1739230970, "text", "READ", text={"body": "Thanks!"}),
            msg(DANA, "wamid.A3", 1739231000, "location", "PENDING",
                location={"latitude": 51.5, "longitude": -0.12, "name": "Kiosk"}),
            msg(OWN, "wamid.A4", 1739231100, "media_placeholder", "PLAYED"),
        ),
        thread(
            SAM,
            msg(SAM, "wamid.B1", 1739240000, "image", "READ",
                image={"caption": "my receipt", "mime_type": "image/jpeg"}),
            msg(OWN, "wamid.B2", 1739240100, "document", "DELIVERED", to=SAM,
                document={"filename": "prices.pdf", "mime_type": "application/pdf"}),
            msg(OWN, "wamid.B3", 1739240200, "text", "ERROR", text={"body": "Sorry, out of stock"},
                context={"id": "wamid.B1"}),
            msg(SAM, "wamid.B4", 1739240300, "reaction", "READ",
                reaction={"message_id": "wamid.B3", "emoji": "👍"}),
            msg(SAM, "wamid.B5", 1739240400, "errors", "READ",
                errors=[{"code": 131051, "title": "Message type unknown"}]),
        ),
    ),
    chunk(phase=1, order=2, progress=100),
)  # fmt: skip


def test_a_chunk_with_two_threads() -> None:
    """Every message lands on its customer's phone, in payload order, readable."""
    history = decode_history(REALISTIC)
    assert history.business_id == BUSINESS and history.skipped == [] and history.media == []
    got = [
        (phone, m.provider_message_id, m.direction, m.sender_type) for phone, m in history.messages
    ]
    assert got == [
        (DANA, "wamid.A1", "out", "agent"),
        (DANA, "wamid.A2", "in", "customer"),
        (DANA, "wamid.A3", "in", "customer"),
        (DANA, "wamid.A4", "out", "agent"),
        (SAM, "wamid.B1", "in", "customer"),
        (SAM, "wamid.B2", "out", "agent"),
        (SAM, "wamid.B3", "out", "agent"),
        (SAM, "wamid.B4", "in", "customer"),
        (SAM, "wamid.B5", "in", "customer"),
    ]  # fmt: skip
    texts = [m.text for _, m in history.messages]
    assert texts == [
        "Here's the info you requested!",
        "Thanks!",
        "[location] Kiosk (51.5, -0.12)",
        "[media]",
        "[image] my receipt",
        "[document: prices.pdf]",
        "Sorry, out of stock",
        "reacted 👍",
        "[unsupported] errors",
    ]
    assert [m.created_at for _, m in history.messages][:2] == [at(1739230955), at(1739230970)]


def test_content_is_decoded_as_live_messages_are() -> None:
    messages = {m.provider_message_id: m for _, m in decode_history(REALISTIC).messages}
    assert messages["wamid.A1"].content == Text(body="Here's the info you requested!")
    assert messages["wamid.A3"].content == Location(latitude=51.5, longitude=-0.12, name="Kiosk")
    assert messages["wamid.A4"].content == Unsupported(kind="media_placeholder")
    assert messages["wamid.A4"].kind == "media_placeholder"
    assert messages["wamid.B1"].content == Image(mime_type="image/jpeg", caption="my receipt")
    assert messages["wamid.B2"].content == Document(
        mime_type="application/pdf", filename="prices.pdf"
    )
    assert messages["wamid.B3"].reply_to == "wamid.B1"
    assert messages["wamid.B4"].content == Reaction(message_id="wamid.B3", emoji="👍")
    assert messages["wamid.B5"].kind == "unknown"
    assert all(m.sender_id is None for m in messages.values())


def test_statuses_are_those_of_what_the_business_sent() -> None:
    """history_context.status on business messages; a customer's message has none."""
    statuses = {m.provider_message_id: m.status for _, m in decode_history(REALISTIC).messages}
    assert statuses == {
        "wamid.A1": "read",
        "wamid.A2": None,
        "wamid.A3": None,
        "wamid.A4": "played",
        "wamid.B1": None,
        "wamid.B2": "delivered",
        "wamid.B3": "failed",
        "wamid.B4": None,
        "wamid.B5": None,
    }


@pytest.mark.parametrize(
    ("reported", "status"),
    [
        ("SENT", "sent"),
        ("DELIVERED", "delivered"),
        ("READ", "read"),
        ("PLAYED", "played"),
        ("ERROR", "failed"),
        ("PENDING", "pending"),
        ("pending", "pending"),
        ("DELETED", None),
        (None, None),
    ],
)
def test_history_status_words(reported: str | None, status: str | None) -> None:
    history = decode_history(value(chunk(thread(DANA, msg(OWN, "wamid.S", 1, "text", reported)))))
    [(_, message)] = history.messages
    assert message.status == status


def test_the_chunks_phase_order_and_progress() -> None:
    assert decode_history(REALISTIC).chunks == [
        Chunk(phase=0, chunk_order=1, progress=55, messages=9),
        Chunk(phase=1, chunk_order=2, progress=100, messages=0),
    ]


def test_numbers_given_as_strings_are_read_and_placeholders_are_not() -> None:
    history = decode_history(value(chunk(phase="2", order="<CHUNK_ORDER>", progress=" 100 ")))
    assert history.chunks == [Chunk(phase=2, chunk_order=None, progress=100, messages=0)]


def test_direction_without_the_business_number() -> None:
    """No display number: anyone but the thread's user is the business; a bare `to` too."""
    history = decode_history(
        value(
            chunk(
                thread(DANA, msg(OWN, "wamid.1", 1, "text"), msg(DANA, "wamid.2", 2, "text")),
                thread(None, {"id": "wamid.3", "timestamp": "3", "type": "text", "to": SAM}),
            ),
            metadata={"phone_number_id": BUSINESS},
        )
    )
    got = [(phone, m.direction) for phone, m in history.messages]
    assert got == [(DANA, "out"), (DANA, "in"), (SAM, "out")]


def test_declined_sharing() -> None:
    declined = {
        "code": 2593109,
        "title": "History sync is turned off by the business from the WhatsApp Business App",
        "error_data": {"details": "History sharing is turned off by the business"},
    }
    history = decode_history(value({"errors": [declined]}))
    [only] = history.chunks
    assert only.declined and only.messages == 0 and history.messages == []
    assert only.errors[0].startswith("2593109 History sync is turned off")


def test_media_ids_arriving_later_are_kept_apart() -> None:
    """The follow-up carrying a placeholder's media id (same wamid) is not a new message."""
    later = msg(DANA, "wamid.A4", 1739231100, "image", image={"id": "24230790383178626",
                "mime_type": "image/jpeg", "sha256": "3f9d"})  # fmt: skip
    history = decode_history(value(messages=[later]))
    assert history.messages == [] and history.chunks == []
    [(phone, media)] = history.media
    assert (phone, media.provider_message_id, media.direction) == (DANA, "wamid.A4", "in")
    assert media.content == Image(
        media_id="24230790383178626", mime_type="image/jpeg", sha256="3f9d"
    )


def test_malformed_parts_are_skipped_with_a_reason() -> None:
    good = msg(DANA, "wamid.OK", 10, "text", text={"body": "still here"})
    history = decode_history(
        value(
            "not a chunk",
            {"metadata": {"phase": 0}, "threads": "not a list"},
            chunk(
                42,
                thread(
                    DANA,
                    {"from": DANA, "timestamp": "1", "type": "text"},  # no id
                    msg(DANA, "wamid.T", 1, "text") | {"timestamp": "soon"},
                    msg(DANA, "wamid.BIG", 10**30, "text"),
                    msg(DANA, "wamid.CTX", 1, "text") | {"history_context": "READ"},
                    good,
                ),
                thread(None, {"id": "wamid.NOBODY", "timestamp": "1", "type": "text"}),
            ),
        )
    )
    assert [m.provider_message_id for _, m in history.messages] == ["wamid.OK"]
    assert [s.reason for s in history.skipped] == [
        "invalid_chunk",
        "invalid_chunk",
        "invalid_thread",
        "invalid_message",
        "invalid_message",
        "invalid_message",
        "invalid_message",
        "no_customer",
    ]
    assert all(s.detail for s in history.skipped)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "invalid_value"),
        (b"[1, 2]", "invalid_value"),
        (b'{"history": {}}', "invalid_value"),
        (b'{"history": []}', "no_metadata"),
        (b'{"metadata": {"phone_number_id": ""}}', "no_metadata"),
    ],
)
def test_an_unreadable_value_is_one_skip_not_a_crash(raw: bytes, reason: str) -> None:
    history = decode_history(raw)
    assert history == CloudHistory("", skipped=[Skipped(reason, history.skipped[0].detail)])


def test_bytes_raw_and_parsed_values_decode_alike() -> None:
    raw = msgspec.json.encode(REALISTIC)
    assert decode_history(raw) == decode_history(msgspec.Raw(raw)) == decode_history(REALISTIC)
