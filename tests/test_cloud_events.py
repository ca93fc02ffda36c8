"""gateway.cloud_events: Meta Cloud API envelopes (PROTOCOL.md sections 1 and 3) to intake items."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from actors.conversation.messages import AgentMessage, CustomerMessage, Identity
from actors.intake.items import IntakeItem
from gateway import cloud_events
from gateway.cloud_events import decode_envelope, items_from, parse_timestamp
from storage.content import Text
from storage.rows import StatusRow

BUSINESS = "310000000000002"
PHONE = "447700900123"
BSUID = "GB.8812345678901234"
METADATA = {"display_phone_number": "441610000000", "phone_number_id": BUSINESS}
DANA = {"profile": {"name": "Dana Levi"}, "wa_id": PHONE}
DANA_BSUID = {**DANA, "user_id": BSUID, "parent_user_id": "GB.ENT.5512345678"}


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def value(**arrays: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "metadata": METADATA, **arrays}


def change(val: Any, field: str = "messages") -> dict[str, Any]:
    return {"field": field, "value": val}


def entry(*changes: dict[str, Any], time: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": "210000000000001", "changes": list(changes)}
    if time is not None:
        body["time"] = time
    return body


def envelope(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": list(entries)}


def decode(body: Any) -> list[IntakeItem]:
    """Through the wire: encode, decode the envelope, turn it into items."""
    raw = body if isinstance(body, bytes) else msgspec.json.encode(body)
    return items_from(decode_envelope(raw))


def messages(*msgs: Any, contacts: list[dict[str, Any]] | None = None) -> list[IntakeItem]:
    """Items of one change carrying `msgs` (with Dana as the contact unless told)."""
    val = value(contacts=[DANA] if contacts is None else contacts, messages=list(msgs))
    return decode(envelope(entry(change(val))))


def one_event(msg: dict[str, Any], **kw: Any) -> CustomerMessage:
    [item] = messages(msg, **kw)
    assert isinstance(item.event, CustomerMessage)
    return item.event


def statuses(*sts: dict[str, Any]) -> list[IntakeItem]:
    return decode(envelope(entry(change(value(statuses=list(sts))))))


def one_status(st: dict[str, Any]) -> tuple[str, StatusRow]:
    [item] = statuses(st)
    assert item.status is not None
    assert item.event is None
    return item.dedupe_key, item.status


def is_ignored(item: IntakeItem, status: str) -> bool:
    """An item journaled and dropped: no event, no status, a note with `status`."""
    return (
        item.event is None
        and item.status is None
        and item.note_step is not None
        and item.note_status == status
        and item.dedupe_key.startswith("wa:ignored:")
    )


# 3.1 .. 3.12: the example messages, as `value.messages[0]`

TEXT_3_1 = {
    "from": PHONE,
    "from_user_id": BSUID,
    "id": "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUM0FBMDAwMDAwMDAwMDAwMDAwMDEA",
    "timestamp": "1788001200",
    "type": "text",
    "text": {"body": "Is the terrace open tonight?"},
}
BUTTON_REPLY_3_2 = {
    "context": {"from": "441610000000", "id": "wamid.OUR_BUTTONS_MSG"},
    "from": PHONE,
    "id": "wamid.IN_0002",
    "timestamp": "1788001260",
    "type": "interactive",
    "interactive": {
        "type": "button_reply",
        "button_reply": {"id": "bk_7731_move", "title": "Change time"},
    },
}
LIST_REPLY_3_3 = {
    "context": {"from": "441610000000", "id": "wamid.OUR_LIST_MSG"},
    "from": PHONE,
    "id": "wamid.IN_0003",
    "timestamp": "1788001300",
    "type": "interactive",
    "interactive": {
        "type": "list_reply",
        "list_reply": {"id": "slot_2000", "title": "20:00", "description": "Bar area"},
    },
}
TEMPLATE_BUTTON_3_4 = {
    "context": {"from": "441610000000", "id": "wamid.OUR_TEMPLATE_MSG"},
    "from": PHONE,
    "id": "wamid.IN_0004",
    "timestamp": "1788001400",
    "type": "button",
    "button": {"payload": "REMINDER_CONFIRM", "text": "Yes, see you"},
}
IMAGE_3_5 = {
    "from": PHONE,
    "id": "wamid.IN_0005",
    "timestamp": "1788001500",
    "type": "image",
    "image": {
        "caption": "this one",
        "mime_type": "image/jpeg",
        "sha256": "k3Yw0c1Zg1B9pQ2e7M0nJ5Vd8aXb4Lr6sTqU2vWxYz=",
        "id": "1299887766554433",
        "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/"
        "?mid=1299887766554433&ext=1788001800&hash=ATs0mE",
    },
}
AUDIO_3_6 = {
    "from": PHONE,
    "id": "wamid.IN_0006",
    "timestamp": "1788001560",
    "type": "audio",
    "audio": {
        "mime_type": "audio/ogg; codecs=opus",
        "sha256": "Qm9ndXNIYXNoRm9yVm9pY2VOb3Rl",
        "id": "1300000000000001",
        "voice": True,
    },
}
DOCUMENT_3_7 = {
    "from": PHONE,
    "id": "wamid.IN_0007",
    "timestamp": "1788001620",
    "type": "document",
    "document": {
        "caption": "my ID",
        "filename": "passport.pdf",
        "mime_type": "application/pdf",
        "sha256": "RG9jSGFzaA==",
        "id": "1300000000000002",
    },
}
DOCUMENT_NO_CAPTION = {
    "from": PHONE,
    "id": "wamid.IN_0007b",
    "timestamp": "1788001621",
    "type": "document",
    "document": {
        "filename": "passport.pdf",
        "mime_type": "application/pdf",
        "sha256": "RG9jSGFzaA==",
        "id": "1300000000000004",
    },
}
LOCATION_3_8 = {
    "from": PHONE,
    "id": "wamid.IN_0008",
    "timestamp": "1788001680",
    "type": "location",
    "location": {
        "latitude": 51.5033,
        "longitude": -0.1196,
        "name": "County Hall",
        "address": "Westminster Bridge Rd, London",
    },
}
LOCATION_ADDRESS_ONLY = {
    "from": PHONE,
    "id": "wamid.IN_0008b",
    "timestamp": "1788001681",
    "type": "location",
    "location": {
        "latitude": 51.5033,
        "longitude": -0.1196,
        "address": "Westminster Bridge Rd, London",
    },
}
STICKER_3_9 = {
    "from": PHONE,
    "id": "wamid.IN_0009",
    "timestamp": "1788001700",
    "type": "sticker",
    "sticker": {
        "mime_type": "image/webp",
        "sha256": "U3RpY2tlckhhc2g=",
        "id": "1300000000000003",
        "animated": False,
    },
}
REACTION_ADDED_3_10 = {
    "from": PHONE,
    "id": "wamid.IN_0010",
    "timestamp": "1788001720",
    "type": "reaction",
    "reaction": {"message_id": "wamid.OUR_MSG_42", "emoji": "\N{THUMBS UP SIGN}"},
}
REACTION_REMOVED_3_10 = {
    "from": PHONE,
    "id": "wamid.IN_0010",
    "timestamp": "1788001790",
    "type": "reaction",
    "reaction": {"message_id": "wamid.OUR_MSG_42"},
}
UNSUPPORTED_3_11 = {
    "from": PHONE,
    "id": "wamid.IN_0011",
    "timestamp": "1788001800",
    "type": "unsupported",
    "errors": [
        {
            "code": 131051,
            "title": "Message type unknown",
            "message": "Message type unknown",
            "error_data": {"details": "Message type is currently not supported."},
        }
    ],
    "unsupported": {"type": "poll_creation"},
}
SYSTEM_3_12 = {
    "from": PHONE,
    "id": "wamid.IN_0012",
    "timestamp": "1788001900",
    "type": "system",
    "system": {
        "body": "User Dana Levi changed from 447700900123 to 447700900999",
        "wa_id": "447700900999",
        "type": "user_changed_number",
        "previous_user_id": BSUID,
    },
}


def test_text_full_envelope_3_1() -> None:
    """3.1: a text becomes a CustomerMessage keyed on the business number and the wamid."""
    body = envelope(entry(change(value(contacts=[DANA_BSUID], messages=[TEXT_3_1]))))
    assert decode(body) == [
        IntakeItem(
            f"wa:msg:{BUSINESS}:{TEXT_3_1['id']}",
            "cloud",
            event=CustomerMessage(
                who=Identity(
                    business_id=BUSINESS,
                    customer_id=PHONE,
                    phone=PHONE,
                    name="Dana Levi",
                    bsuid=BSUID,
                ),
                provider="cloud",
                provider_message_id=TEXT_3_1["id"],
                sent_at=at(1788001200),
                kind="text",
                text="Is the terrace open tonight?",
                payload=TEXT_3_1,
                content=Text(body="Is the terrace open tonight?"),
            ),
        )
    ]


@pytest.mark.parametrize(
    ("msg", "kind", "text", "choice_id", "choice_title", "context_id"),
    [
        pytest.param(
            BUTTON_REPLY_3_2,
            "interactive",
            None,
            "bk_7731_move",
            "Change time",
            "wamid.OUR_BUTTONS_MSG",
            id="3.2-button_reply",
        ),
        pytest.param(
            LIST_REPLY_3_3,
            "interactive",
            None,
            "slot_2000",
            "20:00",
            "wamid.OUR_LIST_MSG",
            id="3.3-list_reply",
        ),
        pytest.param(
            TEMPLATE_BUTTON_3_4,
            "button",
            None,
            "REMINDER_CONFIRM",
            "Yes, see you",
            "wamid.OUR_TEMPLATE_MSG",
            id="3.4-template-button",
        ),
        pytest.param(IMAGE_3_5, "image", "this one", None, None, None, id="3.5-image-caption"),
        pytest.param(AUDIO_3_6, "audio", None, None, None, None, id="3.6-audio"),
        pytest.param(
            DOCUMENT_3_7, "document", "my ID", None, None, None, id="3.7-document-caption"
        ),
        pytest.param(
            DOCUMENT_NO_CAPTION,
            "document",
            None,
            None,
            None,
            None,
            id="document-filename",
        ),
        pytest.param(
            LOCATION_3_8, "location", "County Hall", None, None, None, id="3.8-location-name"
        ),
        pytest.param(
            LOCATION_ADDRESS_ONLY,
            "location",
            "Westminster Bridge Rd, London",
            None,
            None,
            None,
            id="location-address",
        ),
        pytest.param(STICKER_3_9, "sticker", None, None, None, None, id="3.9-sticker"),
        pytest.param(
            REACTION_ADDED_3_10,
            "reaction",
            None,
            None,
            None,
            None,
            id="3.10-reaction-added",
        ),
        pytest.param(
            REACTION_REMOVED_3_10, "reaction", None, None, None, None, id="3.10-reaction-removed"
        ),
        pytest.param(SYSTEM_3_12, "system", None, None, None, None, id="3.12-system"),
    ],
)
def test_message_types(
    msg: dict[str, Any],
    kind: str,
    text: str | None,
    choice_id: str | None,
    choice_title: str | None,
    context_id: str | None,
) -> None:
    """Each inbound type gives its kind, what the customer typed (for the bot), the choice
    (id, title), and keeps the wamid it answers (its context) in its payload."""
    event = one_event(msg)
    context = ((event.payload or {}).get("context") or {}).get("id")
    got = (event.kind, event.text, event.choice_id, event.choice_title, context)
    assert got == (kind, text, choice_id, choice_title, context_id)
    assert event.provider_message_id == msg["id"]
    assert event.sent_at == at(int(msg["timestamp"]))


@pytest.mark.parametrize("msg", [IMAGE_3_5, AUDIO_3_6, LOCATION_3_8, BUTTON_REPLY_3_2])
def test_non_text_keeps_the_raw_message_as_payload(msg: dict[str, Any]) -> None:
    """Anything but text keeps the whole wire message (media id, coordinates...) as payload."""
    assert one_event(msg).payload == msg


def test_text_keeps_its_raw_payload_too() -> None:
    """Nothing a payload carries is thrown away: a text keeps its wire message too."""
    assert one_event(TEXT_3_1, contacts=[DANA_BSUID]).payload == TEXT_3_1


def test_plain_message_has_no_note() -> None:
    """A supported message goes to its conversation without a journal note."""
    [item] = messages(IMAGE_3_5)
    assert (item.note_step, item.note_status, item.note_detail) == (None, None, None)
    assert item.event is not None


@pytest.mark.parametrize(
    ("reaction", "timestamp", "suffix"),
    [
        (
            {"message_id": "wamid.OUR_MSG_42", "emoji": "\N{THUMBS UP SIGN}"},
            "1788001720",
            ":\N{THUMBS UP SIGN}:1788001720",
        ),
        ({"message_id": "wamid.OUR_MSG_42"}, "1788001790", ":removed:1788001790"),
        ({"message_id": "wamid.OUR_MSG_42", "emoji": ""}, "1788001790", ":removed:1788001790"),
        (
            {"message_id": "wamid.OUR_MSG_42", "emoji": "\N{RED APPLE}"},
            1788001800,
            ":\N{RED APPLE}:1788001800",
        ),
    ],
    ids=["added", "removed-omitted", "removed-empty", "int-timestamp"],
)
def test_reaction_key_has_emoji_or_removed_and_timestamp(
    reaction: dict[str, Any], timestamp: str | int, suffix: str
) -> None:
    """A reaction's key adds the emoji (or "removed") and the timestamp to the wamid."""
    msg = {
        "from": PHONE,
        "id": "wamid.IN_0010",
        "timestamp": timestamp,
        "type": "reaction",
        "reaction": reaction,
    }
    [item] = messages(msg)
    assert item.dedupe_key == f"wa:msg:{BUSINESS}:wamid.IN_0010{suffix}"


def test_reaction_added_and_removed_have_distinct_keys() -> None:
    """3.10: adding and removing reuse one wamid, yet are two items with two keys."""
    added, removed = messages(REACTION_ADDED_3_10, REACTION_REMOVED_3_10)
    assert added.dedupe_key != removed.dedupe_key
    assert added.event is not None and removed.event is not None
    assert added.event.provider_message_id == removed.event.provider_message_id


def test_unsupported_is_delivered_with_a_note() -> None:
    """3.11: unsupported reaches the conversation and journals the error code and details."""
    [item] = messages(UNSUPPORTED_3_11)
    assert isinstance(item.event, CustomerMessage)
    assert item.event.kind == "unsupported"
    assert item.event.payload == UNSUPPORTED_3_11
    assert item.dedupe_key == f"wa:msg:{BUSINESS}:wamid.IN_0011"
    assert (item.note_step, item.note_status) == ("webhook", "unsupported_message")
    assert item.note_detail == (
        "unsupported; 131051 Message type unknown Message type is currently not supported."
    )


@pytest.mark.parametrize(
    ("msg", "kind", "detail"),
    [
        ({"type": "unsupported", "unsupported": {"type": "edit"}}, "unsupported", "unsupported"),
        ({"type": "poll"}, "unknown", "poll"),
        ({}, "unknown", "unknown"),
    ],
    ids=["unsupported-without-errors", "unknown-type", "no-type"],
)
def test_unknown_types_are_noted(msg: dict[str, Any], kind: str, detail: str) -> None:
    """An unsupported or unknown type is still delivered, with an unsupported_message note."""
    [item] = messages({"from": PHONE, "id": "wamid.X", "timestamp": "1788001800", **msg})
    assert item.event is not None
    assert item.event.kind == kind
    assert (item.note_status, item.note_detail) == ("unsupported_message", detail)


def test_system_message_without_contacts() -> None:
    """3.12: a system message has no contacts; the customer is `from`, with no name."""
    event = one_event(SYSTEM_3_12, contacts=[])
    assert event.who == Identity(business_id=BUSINESS, customer_id=PHONE, phone=PHONE)
    assert event.kind == "system"


# BSUIDs (identity)


@pytest.mark.parametrize(
    ("contacts", "sender", "who"),
    [
        pytest.param(
            [DANA_BSUID],
            {"from": PHONE, "from_user_id": BSUID},
            Identity(BUSINESS, PHONE, PHONE, "Dana Levi", BSUID),
            id="from-and-from_user_id",
        ),
        pytest.param(
            [DANA_BSUID],
            {"from": PHONE},
            Identity(BUSINESS, PHONE, PHONE, "Dana Levi", BSUID),
            id="user_id-from-contact",
        ),
        pytest.param(
            [{"profile": {"name": "Dana Levi"}, "user_id": BSUID}],
            {"from_user_id": BSUID},
            Identity(BUSINESS, BSUID, None, "Dana Levi", BSUID),
            id="only-from_user_id",
        ),
        pytest.param(
            [],
            {"from_user_id": BSUID},
            Identity(BUSINESS, BSUID, None, None, BSUID),
            id="only-from_user_id-no-contacts",
        ),
        pytest.param(
            [DANA], {"from": PHONE}, Identity(BUSINESS, PHONE, PHONE, "Dana Levi"), id="no-bsuid"
        ),
        pytest.param(
            [{"profile": {"name": "Eli"}, "wa_id": "447700900555", "user_id": "GB.5"}, DANA_BSUID],
            {"from": PHONE},
            Identity(BUSINESS, PHONE, PHONE, "Dana Levi", BSUID),
            id="matching-contact-of-several",
        ),
        pytest.param(
            [
                {"profile": {"name": "Eli"}, "wa_id": "447700900555"},
                {"profile": {"name": "Dana"}, "user_id": BSUID},
            ],
            {"from_user_id": BSUID},
            Identity(BUSINESS, BSUID, None, "Dana", BSUID),
            id="matched-on-user_id",
        ),
    ],
)
def test_customer_is_keyed_on_the_phone_else_the_bsuid(
    contacts: list[dict[str, Any]], sender: dict[str, Any], who: Identity
) -> None:
    """The customer id is `from` where present (so WATI, echoes and statuses meet it), else
    the BSUID; the phone is always `from`, and the BSUID comes along to be linked."""
    msg = {
        **sender,
        "id": "wamid.IN_B",
        "timestamp": "1788001200",
        "type": "text",
        "text": {"body": "hi"},
    }
    event = one_event(msg, contacts=contacts)
    assert event.who == who


def test_message_without_any_sender_is_ignored() -> None:
    """Neither `from` nor `from_user_id` (and no contact to fall back on): ignored with a note."""
    [item] = messages(
        {"id": "wamid.NOBODY", "timestamp": "1788001200", "type": "text", "text": {"body": "?"}},
        contacts=[],
    )
    assert is_ignored(item, "invalid_message")
    assert item.note_detail == "no from/from_user_id"


# Timestamps


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1788001200", at(1788001200)),
        (1788001200, at(1788001200)),
        ("0", at(0)),
    ],
)
def test_parse_timestamp(raw: str | int, expected: datetime) -> None:
    """Unix seconds as a string or an int become an aware UTC datetime."""
    assert parse_timestamp(raw) == expected
    assert parse_timestamp(raw).tzinfo is UTC


@pytest.mark.parametrize(
    "raw", ["soon", "", "1788001200.5", 10**12, "99999999999999999999", 10**18]
)
def test_parse_timestamp_refuses_with_value_error(raw: str | int) -> None:
    """Not a number, or out of range (ValueError, OverflowError or OSError inside): ValueError."""
    with pytest.raises(ValueError, match=r"."):
        parse_timestamp(raw)


def test_int_and_str_timestamps_agree() -> None:
    """A timestamp as an int or as a string gives the same time and the same dedupe key."""
    as_str = messages(REACTION_ADDED_3_10)[0]
    as_int = messages({**REACTION_ADDED_3_10, "timestamp": 1788001720})[0]
    assert as_int.dedupe_key == as_str.dedupe_key
    assert as_int.event is not None and as_str.event is not None
    assert as_int.event.sent_at == as_str.event.sent_at == at(1788001720)


# Statuses (3.13)

SENT_3_13 = {
    "id": "wamid.OUT_0001",
    "status": "sent",
    "timestamp": "1788002000",
    "recipient_id": PHONE,
    "biz_opaque_callback_data": "outbox:9f2c",
    "pricing": {
        "billable": False,
        "pricing_model": "PMP",
        "type": "free_customer_service",
        "category": "service",
    },
}
DELIVERED_3_13 = {
    "id": "wamid.OUT_0001",
    "status": "delivered",
    "timestamp": "1788002003",
    "recipient_id": PHONE,
}
READ_3_13 = {
    "id": "wamid.OUT_0001",
    "status": "read",
    "timestamp": "1788002060",
    "recipient_id": PHONE,
}
FAILED_DETAILS = (
    "Message failed to send because more than 24 hours have passed since the"
    " customer last replied to this number."
)
FAILED_3_13 = {
    "id": "wamid.OUT_0002",
    "status": "failed",
    "timestamp": "1788002100",
    "recipient_id": PHONE,
    "errors": [
        {
            "code": 131047,
            "title": "Re-engagement message",
            "message": "Re-engagement message",
            "error_data": {"details": FAILED_DETAILS},
            "href": "https://developers.facebook.com/documentation/"
            "business-messaging/whatsapp/support/error-codes",
        }
    ],
}


@pytest.mark.parametrize(
    ("st", "key", "note"),
    [
        pytest.param(
            SENT_3_13,
            "wa:st:wamid.OUT_0001:sent",
            StatusRow("wamid.OUT_0001", "sent", at(1788002000)),
            id="sent",
        ),
        pytest.param(
            DELIVERED_3_13,
            "wa:st:wamid.OUT_0001:delivered",
            StatusRow("wamid.OUT_0001", "delivered", at(1788002003)),
            id="delivered",
        ),
        pytest.param(
            READ_3_13,
            "wa:st:wamid.OUT_0001:read",
            StatusRow("wamid.OUT_0001", "read", at(1788002060)),
            id="read",
        ),
        pytest.param(
            {**READ_3_13, "status": "played"},
            "wa:st:wamid.OUT_0001:played",
            StatusRow("wamid.OUT_0001", "played", at(1788002060)),
            id="played",
        ),
        pytest.param(
            FAILED_3_13,
            "wa:st:wamid.OUT_0002:failed:131047",
            StatusRow(
                "wamid.OUT_0002",
                "failed",
                at(1788002100),
                error_code=131047,
                error_detail=f"131047 Re-engagement message {FAILED_DETAILS}",
            ),
            id="failed",
        ),
    ],
)
def test_statuses(st: dict[str, Any], key: str, note: StatusRow) -> None:
    """3.13: a status is keyed `wa:st:{id}:{status}` (plus `:{code}` when failed)."""
    assert one_status(st) == (key, note)


@pytest.mark.parametrize(
    ("callback_data", "outbox_id"),
    [
        ("outbox:9f2c", None),
        ("outbox:12", 12),
        ("outbox:0012", 12),
        (None, None),
        ("", None),
        ("outbox:", None),
        ("campaign:12", None),
        ("12", None),
        ("outbox:-12", None),
        ("outbox:+12", None),
        ("outbox: 12", None),
        ("outbox:1_2", None),
        ("outbox:\N{ARABIC-INDIC DIGIT ONE}\N{ARABIC-INDIC DIGIT TWO}", None),
        (f"outbox:{2**63 - 1}", 2**63 - 1),
        (f"outbox:{2**63}", None),
    ],
)
def test_outbox_id_from_callback_data(callback_data: str | None, outbox_id: int | None) -> None:
    """biz_opaque_callback_data `outbox:<ASCII digits>` names an outbox row; anything else None."""
    st = {**DELIVERED_3_13, "biz_opaque_callback_data": callback_data}
    _, note = one_status(st)
    assert note.outbox_id == outbox_id


def test_status_error_code_too_big_for_sqlite_is_dropped() -> None:
    """A failed status whose code SQLite cannot store keeps its detail but no error_code."""
    st = {**FAILED_3_13, "errors": [{"code": 2**64, "title": "odd"}]}
    key, note = one_status(st)
    assert note.error_code is None
    assert note.error_detail == f"{2**64} odd"
    assert key == f"wa:st:wamid.OUT_0002:failed:{2**64}"


def test_unknown_status_is_ignored() -> None:
    """A status value outside sent/delivered/read/played/failed is journaled and ignored."""
    [item] = statuses({**READ_3_13, "status": "deleted"})
    assert is_ignored(item, "unknown_status")
    assert item.note_detail == "deleted"


@pytest.mark.parametrize(
    "st",
    [
        {"status": "read", "timestamp": "1788002060"},
        {"id": "wamid.OUT_0001", "timestamp": "1788002060"},
        {"id": "wamid.OUT_0001", "status": "read"},
        {"id": "wamid.OUT_0001", "status": "read", "timestamp": "later"},
        {
            "id": "wamid.OUT_0001",
            "status": "read",
            "timestamp": "1788002060",
            "errors": [{"code": "131047"}],
        },
        "not-an-object",
    ],
    ids=["no-id", "no-status", "no-timestamp", "bad-timestamp", "string-error-code", "string"],
)
def test_malformed_status_is_ignored_not_raised(st: Any) -> None:
    """A malformed status is ignored with a note; the good status beside it still comes out."""
    bad, good = statuses(st, DELIVERED_3_13)
    assert is_ignored(bad, "invalid_status")
    assert good.dedupe_key == "wa:st:wamid.OUT_0001:delivered"


# Value-level errors (3.14)

ERROR_3_14 = {
    "messaging_product": "whatsapp",
    "metadata": METADATA,
    "errors": [
        {
            "code": 130429,
            "title": "Rate limit hit",
            "message": "Rate limit hit",
            "error_data": {
                "details": "Message failed to send because there were too many"
                " messages sent from this phone number in a short"
                " period of time"
            },
            "href": "/documentation/business-messaging/whatsapp/support/error-codes",
        }
    ],
}


def test_value_level_error_is_ignored_with_a_note() -> None:
    """3.14: a value-level error becomes one ignored item naming the code and details."""
    [item] = decode(envelope(entry(change(ERROR_3_14), time=1788002200)))
    assert item.event is None and item.status is None
    assert item.dedupe_key.startswith("wa:ignored:error:")
    assert (item.note_step, item.note_status) == ("provider_error", "130429")
    assert item.note_detail is not None
    assert item.note_detail.startswith("130429 Rate limit hit Message failed to send")


def test_value_level_error_key_is_stable_and_depends_on_entry_time() -> None:
    """The error key is the same on redelivery and differs for another entry.time."""
    first = decode(envelope(entry(change(ERROR_3_14), time=1788002200)))
    again = decode(envelope(entry(change(ERROR_3_14), time=1788002200)))
    later = decode(envelope(entry(change(ERROR_3_14), time=1788002900)))
    assert first == again
    assert first[0].dedupe_key != later[0].dedupe_key


# Batches (3.15), several entries and changes

BATCH_3_15_CHANGES = [
    {
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": METADATA,
            "contacts": [{"profile": {"name": "Dana Levi"}, "wa_id": PHONE}],
            "messages": [
                {
                    "from": PHONE,
                    "id": "wamid.IN_0020",
                    "timestamp": "1788003000",
                    "type": "text",
                    "text": {"body": "hello"},
                },
                {
                    "from": PHONE,
                    "id": "wamid.IN_0021",
                    "timestamp": "1788003001",
                    "type": "text",
                    "text": {"body": "anyone there?"},
                },
            ],
        },
    },
    {
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": METADATA,
            "statuses": [
                {
                    "id": "wamid.OUT_0009",
                    "status": "read",
                    "timestamp": "1788003002",
                    "recipient_id": PHONE,
                }
            ],
        },
    },
]
BATCH_3_15 = {
    "object": "whatsapp_business_account",
    "entry": [{"id": "210000000000001", "changes": BATCH_3_15_CHANGES}],
}


def test_batched_post_3_15_gives_every_message_and_status() -> None:
    """3.15: both messages of the first change and the status of the second all come out."""
    items = decode(BATCH_3_15)
    assert [i.dedupe_key for i in items] == [
        f"wa:msg:{BUSINESS}:wamid.IN_0020",
        f"wa:msg:{BUSINESS}:wamid.IN_0021",
        "wa:st:wamid.OUT_0009:read",
    ]
    assert [i.event.text for i in items[:2] if i.event] == ["hello", "anyone there?"]
    assert items[2].status == StatusRow("wamid.OUT_0009", "read", at(1788003002))


def test_every_entry_and_change_is_walked() -> None:
    """Several entries, each with several changes mixing messages and statuses: nothing skipped."""
    other = {"display_phone_number": "441610000001", "phone_number_id": "310000000000099"}

    def text(i: str) -> dict[str, Any]:
        return {
            "from": PHONE,
            "id": f"wamid.{i}",
            "timestamp": "1788003000",
            "type": "text",
            "text": {"body": i},
        }

    body = envelope(
        entry(
            change(value(contacts=[DANA], messages=[text("A1"), text("A2")])),
            change(value(statuses=[DELIVERED_3_13, READ_3_13])),
        ),
        entry(
            change(
                {
                    "messaging_product": "whatsapp",
                    "metadata": other,
                    "contacts": [DANA],
                    "messages": [text("B1")],
                }
            ),
            change(value(contacts=[DANA], messages=[text("B2")], statuses=[FAILED_3_13])),
        ),
    )
    assert [i.dedupe_key for i in decode(body)] == [
        f"wa:msg:{BUSINESS}:wamid.A1",
        f"wa:msg:{BUSINESS}:wamid.A2",
        "wa:st:wamid.OUT_0001:delivered",
        "wa:st:wamid.OUT_0001:read",
        "wa:msg:310000000000099:wamid.B1",
        f"wa:msg:{BUSINESS}:wamid.B2",
        "wa:st:wamid.OUT_0002:failed:131047",
    ]


def test_same_wamid_on_two_numbers_is_two_keys() -> None:
    """The message key includes the business number (phone_number_id)."""
    other = {"display_phone_number": "441610000001", "phone_number_id": "310000000000099"}
    a = decode(envelope(entry(change(value(contacts=[DANA], messages=[TEXT_3_1])))))
    b = decode(envelope(entry(change({"metadata": other, "messages": [TEXT_3_1]}))))
    assert a[0].dedupe_key != b[0].dedupe_key


def test_redelivery_gives_identical_items() -> None:
    """Decoding the same body twice (Meta's retry) gives equal items, hence equal keys."""
    assert decode(BATCH_3_15) == decode(BATCH_3_15)


def test_empty_entry_and_changes() -> None:
    """No entries, or an entry without changes, is simply no items."""
    assert decode({"object": "whatsapp_business_account", "entry": []}) == []
    assert decode(envelope({"id": "210000000000001"})) == []
    assert decode(envelope(entry(change(value())))) == []


@pytest.mark.parametrize(
    "field",
    [
        "account_update",
        "message_template_status_update",
        "user_preferences",
        "something_new",
    ],
)
def test_unknown_field_is_ignored_with_a_note(field: str) -> None:
    """A change for another `field` is a note, not an error; its neighbours still decode."""
    body = envelope(
        entry(
            change({"event": "VERIFIED_ACCOUNT", "ban_info": [1]}, field=field),
            change(value(contacts=[DANA], messages=[IMAGE_3_5])),
        )
    )
    ignored, message = decode(body)
    assert is_ignored(ignored, "ignored_field")
    assert ignored.note_detail == field
    assert ignored.dedupe_key.startswith(f"wa:ignored:field:{field}:")
    assert isinstance(message.event, CustomerMessage)


@pytest.mark.parametrize(
    ("val", "status"),
    [
        ([], "invalid_value"),
        ("text", "invalid_value"),
        (None, "invalid_value"),
        ({"messages": {"id": "not-a-list"}, "metadata": METADATA}, "invalid_value"),
        ({"messages": [TEXT_3_1]}, "invalid_value"),
        (
            {"metadata": {"display_phone_number": "441610000000"}, "messages": [TEXT_3_1]},
            "invalid_value",
        ),
    ],
    ids=["list", "string", "null", "messages-not-list", "no-metadata", "no-phone_number_id"],
)
def test_bad_value_is_ignored_not_raised(val: Any, status: str) -> None:
    """A change whose value is malformed or lacks metadata.phone_number_id is ignored."""
    [item] = decode(envelope(entry(change(val))))
    assert is_ignored(item, status)


def test_missing_value_is_ignored() -> None:
    """A messages change without a value is ignored (no phone number to route by)."""
    [item] = decode(envelope(entry({"field": "messages"})))
    assert is_ignored(item, "invalid_value")


# One bad message inside a good batch

GOOD_1 = {
    "from": PHONE,
    "id": "wamid.GOOD_1",
    "timestamp": "1788003000",
    "type": "text",
    "text": {"body": "one"},
}
GOOD_2 = {
    "from": PHONE,
    "id": "wamid.GOOD_2",
    "timestamp": "1788003002",
    "type": "text",
    "text": {"body": "two"},
}


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"from": PHONE, "timestamp": "1788003001", "type": "text"}, id="no-id"),
        pytest.param({"from": PHONE, "id": "wamid.B", "type": "text"}, id="no-timestamp"),
        pytest.param(
            {"from": PHONE, "id": "wamid.B", "timestamp": "soon", "type": "text"},
            id="timestamp-not-a-number",
        ),
        pytest.param(
            {"from": PHONE, "id": "wamid.B", "timestamp": 1788003001.5, "type": "text"},
            id="timestamp-float",
        ),
        pytest.param(
            {"from": PHONE, "id": "wamid.B", "timestamp": "99999999999999999999", "type": "text"},
            id="timestamp-overflow",
        ),
        pytest.param(
            {"from": PHONE, "id": "wamid.B", "timestamp": str(10**18), "type": "text"},
            id="timestamp-beyond-time_t",
        ),
        pytest.param(
            {
                "from": PHONE,
                "id": "wamid.B",
                "timestamp": "1788003001",
                "type": "text",
                "text": "body should be an object",
            },
            id="text-not-object",
        ),
        pytest.param(
            {"from": PHONE, "id": 42, "timestamp": "1788003001", "type": "text"}, id="id-not-string"
        ),
        pytest.param("just a string", id="not-an-object"),
        pytest.param(None, id="null"),
    ],
)
def test_malformed_message_in_a_batch_is_ignored_alone(bad: Any) -> None:
    """A malformed message is ignored with a note; the messages around it still come out."""
    first, middle, last = messages(GOOD_1, bad, GOOD_2)
    assert first.event is not None and first.event.text == "one"
    assert last.event is not None and last.event.text == "two"
    assert is_ignored(middle, "invalid_message")
    assert middle.dedupe_key.startswith("wa:ignored:bad_message:")


def test_ignored_note_detail_is_bounded() -> None:
    """An ignored item's note detail is cut to 500 characters."""
    [item] = decode(envelope(entry(change({}, field="x" * 900))))
    assert item.note_detail == "x" * 500


# Envelope shape errors


@pytest.mark.parametrize(
    "body",
    [
        {"object": "whatsapp_business_account", "entry": {"id": "1"}},
        {"object": "whatsapp_business_account", "entry": "nope"},
        {"object": "whatsapp_business_account"},
        {"entry": [{"changes": {"field": "messages"}}]},
        {"entry": [{"changes": [{"value": {}}]}]},
        {"entry": [{"changes": [{"field": 7, "value": {}}]}]},
        {"entry": [{"time": "yesterday", "changes": []}]},
        ["entry"],
    ],
    ids=[
        "entry-object",
        "entry-string",
        "no-entry",
        "changes-object",
        "change-without-field",
        "field-not-string",
        "time-not-int",
        "top-level-list",
    ],
)
def test_envelope_shape_errors_raise_validation_error(body: Any) -> None:
    """A wrong envelope shape raises msgspec.ValidationError (the webhook answers 400)."""
    with pytest.raises(msgspec.ValidationError):
        decode_envelope(msgspec.json.encode(body))


@pytest.mark.parametrize("raw", [b"not json", b"", b'{"entry": [', b"\xff\xfe"])
def test_not_json_raises_decode_error(raw: bytes) -> None:
    """A body that is not JSON raises msgspec.DecodeError, not a ValidationError."""
    with pytest.raises(msgspec.DecodeError) as info:
        decode_envelope(raw)
    assert not isinstance(info.value, msgspec.ValidationError)


def test_envelope_ignores_unknown_keys() -> None:
    """Extra keys anywhere in the envelope are allowed."""
    body = {
        "object": "whatsapp_business_account",
        "extra": 1,
        "entry": [{"id": "1", "time": 1788003000, "other": [], "changes": []}],
    }
    assert decode_envelope(msgspec.json.encode(body)).entry[0].time == 1788003000


# smb_message_echoes (coexistence: a human wrote from the WhatsApp Business app)

ECHO = {
    "from": "441610000000",
    "to": PHONE,
    "id": "wamid.ECHO_1",
    "timestamp": "1788004000",
    "type": "text",
    "text": {"body": "Hi Dana, Sam from the front desk here."},
}


def echoes(*echo: Any) -> list[IntakeItem]:
    val = value(message_echoes=list(echo))
    return decode(envelope(entry(change(val, field="smb_message_echoes"))))


def test_business_app_echo_is_an_agent_message() -> None:
    """An smb_message_echoes echo is an AgentMessage from business_app, keyed on `to`."""
    assert echoes(ECHO) == [
        IntakeItem(
            f"wa:echo:{BUSINESS}:wamid.ECHO_1",
            "cloud",
            event=AgentMessage(
                who=Identity(business_id=BUSINESS, customer_id=PHONE, phone=PHONE),
                origin="business_app",
                provider_message_id="wamid.ECHO_1",
                sent_at=at(1788004000),
                kind="text",
                text="Hi Dana, Sam from the front desk here.",
                payload=ECHO,
                content=Text(body="Hi Dana, Sam from the front desk here."),
            ),
        )
    ]


def test_business_app_echo_conversation_is_the_customers() -> None:
    """The echo is keyed on the customer's phone, as the customer's own messages are."""
    [echo] = echoes(ECHO)
    [inbound] = messages(GOOD_1)
    assert echo.event is not None and inbound.event is not None
    assert (echo.event.who.business_id, echo.event.who.customer_id) == (
        inbound.event.who.business_id,
        inbound.event.who.customer_id,
    )


@pytest.mark.parametrize(
    ("echo", "kind", "text"),
    [
        (
            {**ECHO, "type": "image", "text": None, "image": {"id": "1", "caption": "menu"}},
            "image",
            "menu",
        ),
        ({**ECHO, "to_user_id": BSUID}, "text", ECHO["text"]["body"]),
    ],
    ids=["image-caption", "to_user_id"],
)
def test_business_app_echo_variants(echo: dict[str, Any], kind: str, text: str) -> None:
    """An echo's text follows its type; the customer is `to` even with a to_user_id."""
    [item] = echoes(echo)
    assert isinstance(item.event, AgentMessage)
    assert (item.event.kind, item.event.text) == (kind, text)
    assert item.event.who == Identity(
        business_id=BUSINESS, customer_id=PHONE, phone=PHONE, bsuid=echo.get("to_user_id")
    )


@pytest.mark.parametrize(
    ("bad", "status"),
    [
        ({k: v for k, v in ECHO.items() if k != "to"}, "invalid_echo"),
        ({**ECHO, "timestamp": "later"}, "invalid_echo"),
        ({k: v for k, v in ECHO.items() if k != "id"}, "invalid_echo"),
    ],
    ids=["no-to", "bad-timestamp", "no-id"],
)
def test_malformed_echo_is_ignored_alone(bad: dict[str, Any], status: str) -> None:
    """A malformed echo is ignored with a note; the good echo beside it still comes out."""
    ignored, good = echoes(bad, {**ECHO, "id": "wamid.ECHO_2"})
    assert is_ignored(ignored, status)
    assert isinstance(good.event, AgentMessage)


def test_source_is_cloud_everywhere() -> None:
    """Every item of a Cloud API envelope has source "cloud"."""
    items = decode(BATCH_3_15) + echoes(ECHO) + statuses({**READ_3_13, "status": "odd"})
    assert {i.source for i in items} == {cloud_events.SOURCE} == {"cloud"}
