"""gateway.wati_events: WATI webhook events (PROTOCOL.md section 4) to intake items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from hashlib import sha1
from typing import Any

import msgspec
import pytest

from actors.conversation.messages import AgentMessage, CustomerMessage, Identity
from actors.intake.items import IntakeItem
from gateway import wati_events
from gateway.wati_events import MissingField, decode_event, items_from
from storage.content import Image
from storage.rows import StatusRow

BUSINESS = "310000000000002"
NOW = datetime(2026, 9, 14, 10, 0, tzinfo=UTC)
WA_ID = "971500000001"
CONVERSATION = "66f19f00e4b0a1b2c3d40001"


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class OwnSends:
    """A fake `is_own_send`: answers `answer` and records every question."""

    def __init__(self, answer: bool = False) -> None:
        self.answer = answer
        self.calls: list[tuple[list[str], str | None, str | None, datetime]] = []

    async def __call__(
        self, ids: list[str], recipient: str | None, text: str | None, when: datetime
    ) -> bool:
        self.calls.append((ids, recipient, text, when))
        return self.answer


async def decode(body: dict[str, Any], own: OwnSends | None = None) -> list[IntakeItem]:
    """Through the wire: encode, decode the event, turn it into items."""
    raw = msgspec.json.encode(body)
    return await items_from(decode_event(raw), raw, BUSINESS, NOW, own or OwnSends())


async def one(body: dict[str, Any], own: OwnSends | None = None) -> IntakeItem:
    [item] = await decode(body, own)
    assert item.source == "wati"
    return item


def bare(item: IntakeItem) -> IntakeItem:
    """The item without what `test_message_structure` checks: the event's raw payload (the
    whole event, as it came), its content and its reply context."""
    event = item.event
    if event is None:
        return item
    assert event.payload is not None and "eventType" in event.payload
    stripped = msgspec.structs.replace(event, payload=None, content=None, reply_to=None)
    return msgspec.structs.replace(item, event=stripped)


# PROTOCOL.md 4.4

MESSAGE_4_4 = {
    "eventType": "message",
    "id": "66f1a0c2e4b0a1b2c3d4e5f6",
    "created": "2026-09-14T08:02:11.512Z",
    "whatsappMessageId": "wamid.HBgMOTcxNTAwMDAwMDAxFQIAEhgUM0VCMDAwMDAwMDAwMDAwMDAwMDEA",
    "conversationId": CONVERSATION,
    "ticketId": "66f19f00e4b0a1b2c3d40002",
    "text": "Option B please",
    "type": "interactive",
    "data": None,
    "timestamp": "1789372931",
    "owner": False,
    "statusString": "SENT",
    "avatarUrl": None,
    "assignedId": "65a0000000000000000000aa",
    "operatorName": "Noa (Support)",
    "operatorEmail": "noa@shop.example",
    "waId": WA_ID,
    "messageContact": None,
    "senderName": "Omar",
    "listReply": None,
    "interactiveButtonReply": {"id": "opt_b", "title": "Option B"},
    "buttonReply": None,
    "replyContextId": "wamid.OUR_BTN_MSG",
    "sourceType": 0,
    "forwarded": False,
    "frequentlyForwarded": False,
    "channelId": None,
    "channelPhoneNumber": "971400000000",
}
AGENT_4_4 = {
    "eventType": "sessionMessageSent_v2",
    "localMessageId": None,
    "id": "66f1a1d3e4b0a1b2c3d4e600",
    "whatsappMessageId": "wamid.HBgMOTcxNTAwMDAwMDAxFQIAERgSQUdFTlQwMDAwMDAwMDAwMDEA",
    "conversationId": CONVERSATION,
    "ticketId": "66f19f00e4b0a1b2c3d40002",
    "text": "Hi Omar, I'm taking over from the bot.",
    "type": "text",
    "data": None,
    "timestamp": "1789373012",
    "owner": True,
    "statusString": "SENT",
    "assigneeId": "65a0000000000000000000aa",
    "operatorEmail": "noa@shop.example",
    "operatorName": "Noa (Support)",
    "waId": WA_ID,
    "replyContextId": "",
    "channelId": None,
    "channelPhoneNumber": "971400000000",
}
TEMPLATE_4_4 = {
    "eventType": "templateMessageSent_v2",
    "localMessageId": "2b7e5c1a-4a7d-4a5e-9d1c-0f3b7a6e9c21",
    "id": "66f1a2e4e4b0a1b2c3d4e700",
    "whatsappMessageId": "wamid.HBgMOTcxNTAwMDAwMDAxFQIAERgSVEVNUEwwMDAwMDAwMDAwMDEA",
    "templateId": "6612000000000000000000t1",
    "templateName": "order_shipped",
    "created": "2026-09-14T09:00:00.000Z",
    "conversationId": CONVERSATION,
    "ticketId": "66f19f00e4b0a1b2c3d40003",
    "text": "Your order #5521 has shipped.",
    "operatorEmail": "api@shop.example",
    "waId": WA_ID,
    "type": "template",
    "statusString": "SENT",
    "sourceType": "API",
}
DELIVERED_4_4 = {
    "eventType": "sentMessageDELIVERED_v2",
    "statusString": "Delivered",
    "localMessageId": "2b7e5c1a-4a7d-4a5e-9d1c-0f3b7a6e9c21",
    "id": "66f1a2e4e4b0a1b2c3d4e700",
    "whatsappMessageId": "wamid.HBgMOTcxNTAwMDAwMDAxFQIAERgSVEVNUEwwMDAwMDAwMDAwMDEA",
    "conversationId": CONVERSATION,
    "ticketId": "66f19f00e4b0a1b2c3d40003",
    "text": None,
    "type": "template",
    "timestamp": "1789376405",
    "assigneeId": None,
    "operatorEmail": "api@shop.example",
}
FAILED_4_4 = {
    "eventType": "templateMessageFailed",
    "statusString": "Failed",
    "localMessageId": "8c0d...",
    "failedCode": "131026",
    "failedDetail": "Message undeliverable",
    "id": "66f1a3f5e4b0a1b2c3d4e800",
    "whatsappMessageId": "wamid.HBgM...",
    "conversationId": "66f19f00e4b0a1b2c3d40009",
    "ticketId": "66f19f00e4b0a1b2c3d4000a",
    "text": None,
    "type": "template",
    "timestamp": "1789376500",
    "assigneeId": None,
    "operatorEmail": "api@shop.example",
}
# Seed 000: the agent message that must pause the bot.
SEED_000_AGENT = {
    "eventType": "sessionMessageSent",
    "id": "68b3fd6bcf4f6635df89d3fe",
    "conversationId": "68b3fa21e5a7b16373de06f6",
    "text": "للاسف لا يمكن",
    "owner": True,
    "assigneeId": "656d7ed0da548ff8371d50aa",
    "operatorEmail": "contracts@abar.app",
    "operatorName": "M. Ibramim",
    "waId": "966509491382",
}


async def test_customer_message_4_4() -> None:
    """4.4 `message` with interactiveButtonReply: a CustomerMessage with the choice."""
    item = await one(MESSAGE_4_4)
    wamid = MESSAGE_4_4["whatsappMessageId"]
    assert bare(item) == IntakeItem(
        f"wati:msg:{wamid}",
        "wati",
        event=CustomerMessage(
            who=Identity(business_id=BUSINESS, customer_id=WA_ID, phone=WA_ID, name="Omar"),
            provider="wati",
            provider_message_id=wamid,
            sent_at=at(1789372931),
            kind="interactive",
            text=None,
            choice_id="opt_b",
            choice_title="Option B",
            external_conversation_id=CONVERSATION,
        ),
    )


@pytest.mark.parametrize(
    ("fields", "kind", "text", "choice_id", "choice_title"),
    [
        ({"type": "text", "interactiveButtonReply": None}, "text", "Option B please", None, None),
        (
            {
                "type": "interactive",
                "interactiveButtonReply": None,
                "listReply": {"id": "slot_2000", "title": "20:00", "description": "Bar area"},
            },
            "interactive",
            None,
            "slot_2000",
            "20:00",
        ),
        (
            {
                "type": "button",
                "interactiveButtonReply": None,
                "buttonReply": {"payload": "REMINDER_CONFIRM", "text": "Yes, see you"},
            },
            "button",
            None,
            "REMINDER_CONFIRM",
            "Yes, see you",
        ),
        ({"type": None, "interactiveButtonReply": None}, "text", "Option B please", None, None),
    ],
    ids=["text", "listReply", "buttonReply", "no-type"],
)
async def test_customer_message_content(
    fields: dict[str, Any],
    kind: str,
    text: str | None,
    choice_id: str | None,
    choice_title: str | None,
) -> None:
    """A customer message's kind, text and choice follow its reply fields."""
    item = await one({**MESSAGE_4_4, **fields})
    assert isinstance(item.event, CustomerMessage)
    event = item.event
    assert (event.kind, event.text, event.choice_id, event.choice_title) == (
        kind,
        text,
        choice_id,
        choice_title,
    )


async def test_customer_message_data_is_the_payload() -> None:
    """A message's `data` (a media URL or structure) is kept as the payload."""
    item = await one(
        {
            **MESSAGE_4_4,
            "type": "image",
            "interactiveButtonReply": None,
            "data": "https://live.wati.io/data/img.jpg",
            "text": "caption",
        }
    )
    assert isinstance(item.event, CustomerMessage)
    assert item.event.payload is not None
    assert item.event.payload["data"] == "https://live.wati.io/data/img.jpg"
    assert item.event.content == Image(url="https://live.wati.io/data/img.jpg", caption="caption")
    assert item.event.text == "caption"


async def test_customer_message_does_not_ask_about_own_sends() -> None:
    """Only outbound events are checked against our sends."""
    own = OwnSends(answer=True)
    await one(MESSAGE_4_4, own)
    assert own.calls == []


async def test_bsuid_customer_message() -> None:
    """`message_bsuid` without waId: the customer is the BSUID and the phone is unknown."""
    body = {k: v for k, v in MESSAGE_4_4.items() if k != "waId"}
    item = await one({**body, "eventType": "message_bsuid", "bsuid": "AE.123456"})
    assert item.event is not None
    assert item.event.who == Identity(
        business_id=BUSINESS, customer_id="AE.123456", phone=None, name="Omar", bsuid="AE.123456"
    )


async def test_agent_session_message_4_4() -> None:
    """4.4 `sessionMessageSent_v2` (owner, operator, assignee): an AgentMessage from WATI."""
    own = OwnSends()
    item = await one(AGENT_4_4, own)
    wamid = AGENT_4_4["whatsappMessageId"]
    assert bare(item) == IntakeItem(
        f"wati:sent:{wamid}",
        "wati",
        event=AgentMessage(
            who=Identity(business_id=BUSINESS, customer_id=WA_ID, phone=WA_ID),
            origin="wati_session",
            provider_message_id=wamid,
            sent_at=at(1789373012),
            owner=True,
            is_echo=False,
            kind="text",
            text="Hi Omar, I'm taking over from the bot.",
            agent_email="noa@shop.example",
            agent_name="Noa (Support)",
            agent_assignee_id="65a0000000000000000000aa",
            external_conversation_id=CONVERSATION,
        ),
    )
    assert own.calls == [([wamid, AGENT_4_4["id"]], WA_ID, AGENT_4_4["text"], at(1789373012))]


async def test_seed_000_agent_message() -> None:
    """Seed 000's sessionMessageSent (no wamid, no timestamp) is an agent message to pause on."""
    own = OwnSends()
    item = await one(SEED_000_AGENT, own)
    assert bare(item) == IntakeItem(
        "wati:sent:68b3fd6bcf4f6635df89d3fe",
        "wati",
        event=AgentMessage(
            who=Identity(business_id=BUSINESS, customer_id="966509491382", phone="966509491382"),
            origin="wati_session",
            provider_message_id="68b3fd6bcf4f6635df89d3fe",
            sent_at=NOW,
            owner=True,
            is_echo=False,
            kind="text",
            text="للاسف لا يمكن",
            agent_email="contracts@abar.app",
            agent_name="M. Ibramim",
            agent_assignee_id="656d7ed0da548ff8371d50aa",
            external_conversation_id="68b3fa21e5a7b16373de06f6",
        ),
    )
    assert own.calls == [(["68b3fd6bcf4f6635df89d3fe"], "966509491382", "للاسف لا يمكن", NOW)]


async def test_template_sent_4_4() -> None:
    """4.4 `templateMessageSent_v2`: an AgentMessage of origin wati_template, timed by `created`."""
    own = OwnSends()
    item = await one(TEMPLATE_4_4, own)
    wamid = TEMPLATE_4_4["whatsappMessageId"]
    sent = datetime(2026, 9, 14, 9, 0, tzinfo=UTC)
    assert bare(item) == IntakeItem(
        f"wati:tpl:{wamid}",
        "wati",
        event=AgentMessage(
            who=Identity(business_id=BUSINESS, customer_id=WA_ID, phone=WA_ID),
            origin="wati_template",
            provider_message_id=wamid,
            sent_at=sent,
            owner=True,
            is_echo=False,
            kind="template",
            text="Your order #5521 has shipped.",
            agent_email="api@shop.example",
            external_conversation_id=CONVERSATION,
        ),
    )
    ids = [TEMPLATE_4_4["localMessageId"], wamid, TEMPLATE_4_4["id"]]
    assert own.calls == [(ids, WA_ID, TEMPLATE_4_4["text"], sent)]


@pytest.mark.parametrize(
    "body", [AGENT_4_4, TEMPLATE_4_4, SEED_000_AGENT], ids=["session", "template", "seed-000"]
)
@pytest.mark.parametrize("answer", [True, False])
async def test_is_echo_is_what_the_callback_says(body: dict[str, Any], answer: bool) -> None:
    """is_echo is the answer of is_own_send."""
    item = await one(body, OwnSends(answer=answer))
    assert isinstance(item.event, AgentMessage)
    assert item.event.is_echo is answer


@pytest.mark.parametrize(("owner", "expected"), [(True, True), (False, False), (None, True)])
async def test_agent_owner(owner: bool | None, expected: bool) -> None:
    """`owner` is passed on; when absent an outbound event counts as owned by the business."""
    item = await one({**AGENT_4_4, "owner": owner})
    assert isinstance(item.event, AgentMessage)
    assert item.event.owner is expected


async def test_agent_assignee_falls_back_to_assigned_id() -> None:
    """`assignedId` (the inbound spelling) is used when `assigneeId` is missing."""
    body = {k: v for k, v in AGENT_4_4.items() if k != "assigneeId"}
    item = await one({**body, "assignedId": "65a0000000000000000000bb"})
    assert isinstance(item.event, AgentMessage)
    assert item.event.agent_assignee_id == "65a0000000000000000000bb"


async def test_late_echo_is_checked_at_the_send_time() -> None:
    """A retried echo is matched against our sends from its own time, not from its arrival."""
    own = OwnSends()
    sent = NOW - timedelta(minutes=30)
    await one({**AGENT_4_4, "timestamp": str(int(sent.timestamp()))}, own)
    assert own.calls[0][3] == sent


async def test_echo_time_is_never_after_now() -> None:
    """An event stamped in the future (clock skew) is checked from now."""
    own = OwnSends()
    item = await one({**AGENT_4_4, "timestamp": str(int(NOW.timestamp()) + 600)}, own)
    assert own.calls[0][3] == NOW
    assert item.event is not None
    assert item.event.sent_at == NOW + timedelta(minutes=10)


# v1 and v2 of the same event


@pytest.mark.parametrize(
    ("v1", "v2", "key"),
    [
        (
            SEED_000_AGENT | {"whatsappMessageId": "wamid.SEED"},
            SEED_000_AGENT
            | {
                "eventType": "sessionMessageSent_v2",
                "whatsappMessageId": "wamid.SEED",
                "localMessageId": None,
            },
            "wati:sent:wamid.SEED",
        ),
        (
            AGENT_4_4 | {"eventType": "sessionMessageSent"},
            AGENT_4_4,
            f"wati:sent:{AGENT_4_4['whatsappMessageId']}",
        ),
        (
            SEED_000_AGENT,
            SEED_000_AGENT | {"eventType": "sessionMessageSent_v2"},
            "wati:sent:68b3fd6bcf4f6635df89d3fe",
        ),
        (
            TEMPLATE_4_4 | {"eventType": "templateMessageSent", "localMessageId": None},
            TEMPLATE_4_4,
            f"wati:tpl:{TEMPLATE_4_4['whatsappMessageId']}",
        ),
        (
            DELIVERED_4_4 | {"eventType": "sentMessageDELIVERED", "localMessageId": None},
            DELIVERED_4_4,
            f"wati:st:{DELIVERED_4_4['whatsappMessageId']}:delivered",
        ),
        (
            DELIVERED_4_4 | {"eventType": "sentMessageREAD"},
            DELIVERED_4_4 | {"eventType": "sentMessageREAD_v2"},
            f"wati:st:{DELIVERED_4_4['whatsappMessageId']}:read",
        ),
    ],
    ids=["seed-000-with-wamid", "session-4.4", "seed-000-id-only", "template", "delivered", "read"],
)
async def test_v1_and_v2_share_a_dedupe_key(
    v1: dict[str, Any], v2: dict[str, Any], key: str
) -> None:
    """The v1 and v2 variants of one event have the same dedupe key (stored once)."""
    first, second = await one(v1), await one(v2)
    assert first.dedupe_key == second.dedupe_key == key


async def test_session_and_template_keys_differ() -> None:
    """A session send and a template send never share a key family."""
    session = await one({**TEMPLATE_4_4, "eventType": "sessionMessageSent_v2"})
    template = await one(TEMPLATE_4_4)
    assert session.dedupe_key != template.dedupe_key


# Statuses


async def test_delivered_status_4_4() -> None:
    """4.4 `sentMessageDELIVERED_v2` is a delivered StatusRow for the wamid."""
    item = await one(DELIVERED_4_4)
    wamid = DELIVERED_4_4["whatsappMessageId"]
    assert item == IntakeItem(
        f"wati:st:{wamid}:delivered", "wati", status=StatusRow(wamid, "delivered", at(1789376405))
    )


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("sentMessageDELIVERED", "delivered"),
        ("sentMessageDELIVERED_v2", "delivered"),
        ("sentMessageREAD", "read"),
        ("sentMessageREAD_v2", "read"),
        ("sessionMessageFailed", "failed"),
        ("templateMessageFailed", "failed"),
    ],
)
async def test_status_event_types(event_type: str, status: str) -> None:
    """Each status event type maps to its delivery status."""
    item = await one({**DELIVERED_4_4, "eventType": event_type})
    assert item.status is not None
    assert item.status.status == status
    assert item.event is None


async def test_template_failed_4_4() -> None:
    """4.4 `templateMessageFailed` with failedCode "131026": failed, error_code 131026."""
    item = await one(FAILED_4_4)
    assert item == IntakeItem(
        "wati:st:wamid.HBgM...:failed",
        "wati",
        status=StatusRow(
            "wamid.HBgM...",
            "failed",
            at(1789376500),
            error_code=131026,
            error_detail="Message undeliverable",
        ),
    )


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("131026", 131026),
        (131047, 131047),
        ("", None),
        (None, None),
        ("n/a", None),
        (str(2**64), None),
    ],
)
async def test_failed_code(code: str | int | None, expected: int | None) -> None:
    """failedCode as a string or a number becomes the int error code; otherwise None."""
    item = await one({**FAILED_4_4, "failedCode": code})
    assert item.status is not None
    assert item.status.error_code == expected


# Times


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"timestamp": "1789372931"}, at(1789372931)),
        ({"timestamp": 1789372931}, at(1789372931)),
        ({"timestamp": "1789372931", "created": "2020-01-01T00:00:00Z"}, at(1789372931)),
        (
            {"timestamp": None, "created": "2026-09-14T08:02:11.512Z"},
            datetime(2026, 9, 14, 8, 2, 11, 512000, tzinfo=UTC),
        ),
        (
            {"timestamp": "", "created": "2026-09-14T08:02:11+04:00"},
            datetime(2026, 9, 14, 4, 2, 11, tzinfo=UTC),
        ),
        (
            {"timestamp": "soon", "created": "2026-09-14T08:02:11"},
            datetime(2026, 9, 14, 8, 2, 11, tzinfo=UTC),
        ),
        ({"timestamp": str(10**18), "created": None}, NOW),
        ({"timestamp": None, "created": "yesterday"}, NOW),
        ({"timestamp": None, "created": None}, NOW),
    ],
    ids=[
        "str",
        "int",
        "timestamp-first",
        "created-z",
        "created-offset",
        "created-naive",
        "timestamp-out-of-range",
        "created-bad",
        "nothing",
    ],
)
async def test_sent_at(fields: dict[str, Any], expected: datetime) -> None:
    """The time is `timestamp`, else `created` (UTC when it has no offset), else now."""
    item = await one({**MESSAGE_4_4, **fields})
    assert item.event is not None
    assert item.event.sent_at == expected
    assert item.event.sent_at.tzinfo is not None


# Missing fields


@pytest.mark.parametrize(
    "body",
    [MESSAGE_4_4, AGENT_4_4, TEMPLATE_4_4, SEED_000_AGENT],
    ids=["message", "session", "template", "seed-000"],
)
async def test_missing_wa_id(body: dict[str, Any]) -> None:
    """An event about a customer without waId (nor bsuid) raises MissingField("waId")."""
    without = {k: v for k, v in body.items() if k != "waId"}
    with pytest.raises(MissingField) as info:
        await decode(without)
    assert info.value.field == "waId"
    assert isinstance(info.value, ValueError)


async def test_null_wa_id_is_missing() -> None:
    """A null or empty waId is as good as missing."""
    for wa_id in (None, ""):
        with pytest.raises(MissingField, match="waId"):
            await decode({**MESSAGE_4_4, "waId": wa_id})


@pytest.mark.parametrize(
    "body", [MESSAGE_4_4, AGENT_4_4, DELIVERED_4_4], ids=["message", "session", "status"]
)
async def test_missing_message_ids(body: dict[str, Any]) -> None:
    """An event with none of whatsappMessageId, id, localMessageId raises MissingField."""
    without = {
        k: v for k, v in body.items() if k not in ("whatsappMessageId", "id", "localMessageId")
    }
    with pytest.raises(MissingField) as info:
        await decode(without)
    assert info.value.field == "whatsappMessageId"


async def test_status_without_wa_id_is_fine() -> None:
    """A status is about our message, not a customer: it needs no waId."""
    item = await one(DELIVERED_4_4)
    assert item.status is not None


@pytest.mark.parametrize(
    ("fields", "provider_id"),
    [
        ({}, "wamid.HBgMOTcxNTAwMDAwMDAxFQIAEhgUM0VCMDAwMDAwMDAwMDAwMDAwMDEA"),
        ({"whatsappMessageId": None}, "66f1a0c2e4b0a1b2c3d4e5f6"),
        ({"whatsappMessageId": None, "id": None, "localMessageId": "local-1"}, "local-1"),
    ],
)
async def test_message_id_preference(fields: dict[str, Any], provider_id: str) -> None:
    """The message id is the wamid, else WATI's id, else the localMessageId."""
    item = await one({**MESSAGE_4_4, **fields})
    assert item.event is not None
    assert item.event.provider_message_id == provider_id
    assert item.dedupe_key == f"wati:msg:{provider_id}"


# Unknown events and decoding


@pytest.mark.parametrize(
    "body",
    [
        {"eventType": "newContactMessageReceived", "waId": WA_ID, "senderName": "Omar"},
        {"eventType": "sentMessageSomethingElse_v2", "id": "66f1a2e4e4b0a1b2c3d4e700"},
        {
            "eventType": "templateStatusUpdate",
            "templateName": "order_shipped",
            "status": "APPROVED",
        },
        {"eventType": "somethingNew"},
        {
            "eventType": "phoneNumberQualityUpdate",
            "id": 17,
            "timestamp": 1789372931.5,
            "owner": "n/a",
            "waId": 971500000001,
        },
    ],
    ids=["newContact", "untracked-status", "templateStatus", "new", "fields-of-other-types"],
)
async def test_unknown_event_type_is_ignored_with_a_note(body: dict[str, Any]) -> None:
    """An event type we do not handle is ignored with a note, whatever its other fields."""
    raw = msgspec.json.encode(body)
    own = OwnSends()
    items = await items_from(decode_event(raw), raw, BUSINESS, NOW, own)
    digest = sha1(raw, usedforsecurity=False).hexdigest()
    assert items == [
        IntakeItem(
            f"wati:ignored:{digest}",
            "wati",
            note_step="webhook",
            note_status="ignored_event",
            note_detail=body["eventType"],
        )
    ]
    assert own.calls == []


@pytest.mark.parametrize(
    "body",
    [
        {**MESSAGE_4_4, "owner": "yes"},
        {**AGENT_4_4, "timestamp": 1789373012.5},
        {**DELIVERED_4_4, "whatsappMessageId": 42},
        {**MESSAGE_4_4, "interactiveButtonReply": "opt_b"},
    ],
    ids=["owner-string", "timestamp-float", "wamid-int", "reply-string"],
)
def test_known_event_of_wrong_shape_raises_validation_error(body: dict[str, Any]) -> None:
    """An event we handle with a field of the wrong type raises ValidationError (a 400)."""
    with pytest.raises(msgspec.ValidationError):
        decode_event(msgspec.json.encode(body))


@pytest.mark.parametrize(
    "body",
    [{}, {"eventType": None}, {"eventType": 3}, ["message"]],
    ids=["no-eventType", "null", "int", "list"],
)
def test_event_without_event_type_raises_validation_error(body: Any) -> None:
    """Without a string eventType an event cannot be dispatched: ValidationError."""
    with pytest.raises(msgspec.ValidationError):
        decode_event(msgspec.json.encode(body))


@pytest.mark.parametrize("raw", [b"", b"eventType=message", b'{"eventType": "message"'])
def test_not_json_raises_decode_error(raw: bytes) -> None:
    """A body that is not JSON raises msgspec.DecodeError, not a ValidationError."""
    with pytest.raises(msgspec.DecodeError) as info:
        decode_event(raw)
    assert not isinstance(info.value, msgspec.ValidationError)


def test_decode_ignores_unknown_fields() -> None:
    """Fields the gateway does not use (ticketId, sourceType as int or str...) are allowed."""
    assert decode_event(msgspec.json.encode(MESSAGE_4_4)).eventType == "message"
    assert decode_event(msgspec.json.encode(TEMPLATE_4_4)).eventType == "templateMessageSent_v2"


@pytest.mark.parametrize(
    ("event_type", "family"),
    [
        ("message", "customer"),
        ("message_bsuid", "customer"),
        ("message_v2", "customer"),
        ("sessionMessageSent", "session"),
        ("sessionMessageSent_v2", "session"),
        ("sessionMessageSent_bsuid", "session"),
        ("sessionMessageSent_v2_bsuid", "session"),
        ("templateMessageSent", "template"),
        ("templateMessageSent_v2", "template"),
        ("templateMessageSent_v2_bsuid", "template"),
        ("sentMessageDELIVERED", "status"),
        ("sentMessageDELIVERED_v2", "status"),
        ("sentMessageREAD_v2", "status"),
        ("sentMessageREPLIED", "status"),
        ("sentMessageREPLIED_v2", "status"),
        ("sessionMessageFailed", "status"),
        ("templateMessageFailed", "status"),
        ("templateMessageFailed_v2", "status"),
        ("newContactMessageReceived", None),
        ("newContactMessageReceived_bsuid", None),
        ("templateStatusUpdate", None),
        ("messages", None),
    ],
)
def test_event_families(event_type: str, family: str | None) -> None:
    """Every event name is matched by its family, so new variants are understood."""
    assert wati_events.family(event_type) == family


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("sentMessageDELIVERED_v2", "delivered"),
        ("sentMessageREAD", "read"),
        ("sentMessageREPLIED_v2", "read"),
        ("sessionMessageFailed", "failed"),
        ("templateMessageFailed_v2", "failed"),
    ],
)
async def test_every_status_variant_is_merged(event_type: str, status: str) -> None:
    """The status families are statuses of our sends (a reply implies the message was read)."""
    item = await one({**DELIVERED_4_4, "eventType": event_type})
    assert item.status is not None and item.status.status == status


async def test_sessionmessagesent_v2_bsuid_is_an_agent_message() -> None:
    """`sessionMessageSent_v2_bsuid` was ignored before: an agent's message, on the phone."""
    item = await one({**AGENT_4_4, "eventType": "sessionMessageSent_v2_bsuid", "bsuid": "AE.77"})
    assert isinstance(item.event, AgentMessage)
    assert item.event.who == Identity(BUSINESS, WA_ID, WA_ID, None, "AE.77")
