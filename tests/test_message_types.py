"""Every WhatsApp message type, end to end: a webhook in (Cloud API or WATI, payloads written
from the published formats), the message stored, and shown by the API with a `text` a person
can act on and its structure as `content`; reactions, deletions and edits change the message
they are about; system notices are lines, not customer messages."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.sim import BUSINESS, Sim, cloud_envelope

PHONE = "447700900123"
MENU = "How can we help you today?"


def message(kind: str, body: dict[str, Any], wamid: str, ts: int, **extra: Any) -> dict[str, Any]:
    return {"from": PHONE, "id": wamid, "timestamp": str(ts), "type": kind, kind: body, **extra}


async def post(sim: Sim, msg: dict[str, Any]) -> None:
    contacts = [{"profile": {"name": "Dana Levi"}, "wa_id": PHONE}]
    await sim.post_cloud(cloud_envelope(BUSINESS, contacts, [msg]))


async def shown(sim: Sim) -> list[dict[str, Any]]:
    return await sim.messages(PHONE)


CARD = {
    "name": {"formatted_name": "Noa Cohen", "first_name": "Noa", "last_name": "Cohen"},
    "phones": [{"phone": "+44 7700 900456", "wa_id": "447700900456", "type": "CELL"}],
    "emails": [{"email": "noa@example.com", "type": "WORK"}],
    "org": {"company": "Shop", "title": "Buyer"},
    "urls": [{"url": "https://shop.example", "type": "WORK"}],
    "addresses": [{"street": "1 High St", "city": "London", "country": "UK", "type": "HOME"}],
}
CASES = [
    pytest.param(
        "text",
        {"body": "Is the terrace open tonight?"},
        {},
        "Is the terrace open tonight?",
        {"type": "text", "body": "Is the terrace open tonight?"},
        id="text",
    ),
    pytest.param(
        "image",
        {"id": "1299887766554433", "mime_type": "image/jpeg", "sha256": "k3Yw",
         "caption": "this one"},
        {},
        "[image] this one",
        {"type": "image", "media_id": "1299887766554433", "mime_type": "image/jpeg",
         "sha256": "k3Yw", "caption": "this one"},
        id="image",
    ),
    pytest.param(
        "video",
        {"id": "1300000000000010", "mime_type": "video/mp4"},
        {},
        "[video]",
        {"type": "video", "media_id": "1300000000000010", "mime_type": "video/mp4"},
        id="video",
    ),
    pytest.param(
        "audio",
        {"id": "1300000000000001", "mime_type": "audio/ogg; codecs=opus", "voice": True},
        {},
        "[voice message]",
        {"type": "audio", "media_id": "1300000000000001", "mime_type": "audio/ogg; codecs=opus",
         "voice": True},
        id="voice",
    ),
    pytest.param(
        "document",
        {"id": "1300000000000002", "mime_type": "application/pdf", "filename": "passport.pdf",
         "caption": "my ID"},
        {},
        "[document: passport.pdf] my ID",
        {"type": "document", "media_id": "1300000000000002", "mime_type": "application/pdf",
         "filename": "passport.pdf", "caption": "my ID"},
        id="document",
    ),
    pytest.param(
        "sticker",
        {"id": "1300000000000003", "mime_type": "image/webp", "animated": False},
        {},
        "[sticker]",
        {"type": "sticker", "media_id": "1300000000000003", "mime_type": "image/webp",
         "animated": False},
        id="sticker",
    ),
    pytest.param(
        "location",
        {"latitude": 51.5033, "longitude": -0.1196, "name": "County Hall",
         "address": "Westminster Bridge Rd, London", "url": "https://maps.example/ch"},
        {},
        "[location] County Hall, Westminster Bridge Rd, London (51.5033, -0.1196)",
        {"type": "location", "latitude": 51.5033, "longitude": -0.1196, "name": "County Hall",
         "address": "Westminster Bridge Rd, London", "url": "https://maps.example/ch"},
        id="location",
    ),
    pytest.param(
        "location",
        {"latitude": 51.5033, "longitude": -0.1196},
        {},
        "[location] (51.5033, -0.1196)",
        {"type": "location", "latitude": 51.5033, "longitude": -0.1196},
        id="location-coordinates-only",
    ),
    pytest.param(
        "order",
        {"catalog_id": "cat_1", "text": "Deliver after 6pm",
         "product_items": [
             {"product_retailer_id": "sku_tee", "quantity": 2, "item_price": 12.5,
              "currency": "GBP"},
             {"product_retailer_id": "sku_cap", "quantity": 1, "item_price": 8,
              "currency": "GBP"},
         ]},
        {},
        "[order] 2 x sku_tee at 12.5 GBP; 1 x sku_cap at 8 GBP Deliver after 6pm",
        {"type": "order", "catalog_id": "cat_1", "text": "Deliver after 6pm",
         "items": [
             {"product_retailer_id": "sku_tee", "quantity": 2.0, "item_price": 12.5,
              "currency": "GBP"},
             {"product_retailer_id": "sku_cap", "quantity": 1.0, "item_price": 8.0,
              "currency": "GBP"},
         ]},
        id="order",
    ),
    pytest.param(
        "interactive",
        {"type": "list_reply", "list_reply": {"id": "slot_2000", "title": "20:00",
                                              "description": "Bar area"}},
        {"context": {"from": "441610000000", "id": "wamid.OUR_LIST_MSG"}},
        "20:00 (Bar area)",
        {"type": "interactive", "reply_type": "list_reply", "id": "slot_2000", "title": "20:00",
         "description": "Bar area"},
        id="list-reply",
    ),
    pytest.param(
        "interactive",
        {"type": "nfm_reply", "nfm_reply": {
            "name": "booking", "body": "Sent",
            "response_json": '{"flow_token": "t1", "party_size": "4", "date": "2026-12-24"}'}},
        {},
        "[form booking] party_size: 4, date: 2026-12-24",
        {"type": "interactive", "reply_type": "nfm_reply", "flow_name": "booking", "body": "Sent",
         "answers": {"flow_token": "t1", "party_size": "4", "date": "2026-12-24"}},
        id="flow-answer",
    ),
    pytest.param(
        "interactive",
        {"type": "call_permission_reply", "call_permission_reply": {
            "response": "accept", "expiration_timestamp": 1790000000,
            "response_source": "user_action"}},
        {},
        "[call permission] accepted",
        {"type": "interactive", "reply_type": "call_permission_reply", "accepted": True,
         "expires_at": 1790000000},
        id="call-permission",
    ),
    pytest.param(
        "button",
        {"payload": "REMINDER_CONFIRM", "text": "Yes, see you"},
        {"context": {"from": "441610000000", "id": "wamid.OUR_TEMPLATE_MSG"}},
        "Yes, see you",
        {"type": "button", "payload": "REMINDER_CONFIRM", "text": "Yes, see you"},
        id="template-button",
    ),
    pytest.param(
        "unsupported",
        {"type": "poll_creation"},
        {"errors": [{"code": 131051, "title": "Message type unknown"}]},
        "[unsupported] poll_creation",
        {"type": "unsupported", "kind": "poll_creation", "errors": ["131051 Message type unknown"]},
        id="unsupported",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "body", "extra", "text", "content"), CASES)
async def test_each_type_is_stored_readable_and_structured(
    sim: Sim,
    kind: str,
    body: dict[str, Any],
    extra: dict[str, Any],
    text: str,
    content: dict[str, Any],
) -> None:
    """The stored message has a text a person can act on and the content's structure."""
    await post(sim, message(kind, body, "wamid.T1", sim.ts(), **extra))
    [received, *_] = await shown(sim)
    assert (received["sender_type"], received["text"], received["content"]) == (
        "customer",
        text,
        content,
    )
    assert received["reply_to"] == extra.get("context", {}).get("id")


async def test_contacts_keep_names_phones_and_emails(sim: Sim) -> None:
    await post(sim, {"from": PHONE, "id": "wamid.C1", "timestamp": str(sim.ts()),
                     "type": "contacts", "contacts": [CARD]})  # fmt: skip
    [received, *_] = await shown(sim)
    assert received["text"] == "[contact] Noa Cohen: +44 7700 900456, noa@example.com"
    [card] = received["content"]["contacts"]
    assert card["name"] == "Noa Cohen" and card["organization"] == "Shop - Buyer"
    assert card["phones"] == [{"phone": "+44 7700 900456", "wa_id": "447700900456", "type": "CELL"}]
    assert card["emails"] == [{"email": "noa@example.com", "type": "WORK"}]
    assert card["urls"] == ["https://shop.example"]
    assert card["addresses"] == ["1 High St, London, UK"]


async def test_forwarded_and_ad_referral_are_kept(sim: Sim) -> None:
    """A forwarded message says so; a message from a Click-to-WhatsApp ad keeps the ad."""
    referral = {
        "source_url": "https://fb.me/ad1",
        "source_type": "ad",
        "source_id": "120208",
        "headline": "Winter sale",
        "body": "20% off everything",
        "media_type": "image",
        "image_url": "https://cdn.example/ad.jpg",
        "ctwa_clid": "ARAkLk",
    }
    await post(
        sim,
        message("text", {"body": "Is this still on?"}, "wamid.AD", sim.ts(),
                context={"forwarded": True}, referral=referral),
    )  # fmt: skip
    [received, *_] = await shown(sim)
    assert received["forwarded"] is True
    assert received["referral"] == referral
    assert received["text"] == (
        "Is this still on? [from an ad: Winter sale - 20% off everything - https://fb.me/ad1]"
    )


async def test_a_reaction_attaches_to_the_message_and_its_removal_clears_it(sim: Sim) -> None:
    """No message of its own: the reaction is shown on the message it is about."""
    await sim.customer_says(PHONE, "hi")
    menu = next(m for m in await shown(sim) if m["text"] == MENU)
    target = menu["provider_message_id"]
    await post(sim, message("reaction", {"message_id": target, "emoji": "👍"}, "wamid.R", sim.ts()))
    after = await shown(sim)
    assert len(after) == 2, "no line of its own"
    reacted = next(m for m in after if m["id"] == menu["id"])
    assert [(r["emoji"], r["by"]) for r in reacted["reactions"]] == [("👍", "customer")]
    conversation = await sim.conversation(PHONE)
    assert conversation["unread_count"] == 1, "a reaction is not an unread message"
    await post(sim, message("reaction", {"message_id": target}, "wamid.R", sim.ts() + 1))
    cleared = next(m for m in await shown(sim) if m["id"] == menu["id"])
    assert cleared["reactions"] == []
    assert sim.sent_texts() == [MENU], "the bot does not answer reactions"


async def test_revoke_marks_the_original_deleted(sim: Sim) -> None:
    await post(sim, message("text", {"body": "oops, wrong chat"}, "wamid.ORIG", sim.ts()))
    await post(sim, message("revoke", {"original_message_id": "wamid.ORIG"}, "wamid.DEL", sim.ts()))
    [original, *rest] = await shown(sim)
    assert original["deleted_at"] is not None
    assert all(m["provider_message_id"] != "wamid.DEL" for m in rest)


async def test_edit_updates_the_text_and_keeps_the_previous(sim: Sim) -> None:
    await post(sim, message("text", {"body": "see you at 8"}, "wamid.ORIG", sim.ts()))
    edit = {"original_message_id": "wamid.ORIG",
            "message": {"type": "text", "text": {"body": "see you at 9"}}}  # fmt: skip
    await post(sim, message("edit", edit, "wamid.EDIT", sim.ts()))
    [original, *_] = await shown(sim)
    assert (original["text"], original["previous_text"]) == ("see you at 9", "see you at 8")
    assert original["edited_at"] is not None
    assert original["content"] == {"type": "text", "body": "see you at 9"}


async def test_an_edit_without_its_new_text_marks_the_message_and_keeps_it_readable(
    sim: Sim,
) -> None:
    """An edit in a shape we do not know (no `message`): the original is marked edited, its
    text stays, and it is still listed (it once became unreadable: a 500)."""
    await post(sim, message("text", {"body": "see you at 8"}, "wamid.ORIG", sim.ts()))
    odd = {"original_message_id": "wamid.ORIG", "text": "see you at 9"}
    await post(sim, message("edit", odd, "wamid.EDIT", sim.ts()))
    [original, *_] = await shown(sim)
    assert (original["text"], original["previous_text"]) == ("see you at 8", None)
    assert original["edited_at"] is not None
    assert original["content"] == {"type": "text", "body": "see you at 8"}


async def test_a_number_change_is_a_system_line_and_moves_the_conversation(sim: Sim) -> None:
    """Not a customer message (no unread, no window); the new number's messages meet the
    same conversation, and replies go to the new number."""
    await sim.customer_says(PHONE, "hi")
    before = await sim.conversation(PHONE)
    system = {
        "body": "User Dana Levi changed from 447700900123 to 447700900999",
        "wa_id": "447700900999",
        "type": "user_changed_number",
    }
    await sim.post_cloud(
        cloud_envelope(BUSINESS, [], [message("system", system, "wamid.SYS", sim.ts() + 60)])
    )
    line = (await sim.messages("447700900999"))[-1]
    assert (line["sender_type"], line["text"]) == ("system", system["body"])
    assert line["content"]["kind"] == "user_changed_number"
    moved = await sim.conversation("447700900999")
    assert moved["id"] == before["id"]
    assert moved["unread_count"] == before["unread_count"]
    assert moved["window_expires_at"] == before["window_expires_at"]
    new = "447700900999"
    await sim.post_cloud(
        cloud_envelope(
            BUSINESS,
            [{"profile": {"name": "Dana"}, "wa_id": new}],
            [{**message("text", {"body": "it's me"}, "wamid.NEW", sim.ts()), "from": new}],
        )
    )
    assert (await sim.conversation(new))["id"] == before["id"]
    assert sim.provider.sent[-1].to == new


async def test_system_line_for_identity_change(sim: Sim) -> None:
    await sim.customer_says(PHONE, "hi")
    system = {"body": "Dana's security code changed.", "type": "customer_identity_changed"}
    await post(sim, message("system", system, "wamid.ID", sim.ts()))
    line = (await shown(sim))[-1]
    assert (line["sender_type"], line["text"]) == ("system", "Dana's security code changed.")
    assert sim.sent_texts() == [MENU]


async def test_business_app_echoes_get_the_same_treatment(sim: Sim) -> None:
    """A human's image from the Business app is stored as the agent's, readable."""
    echo = {
        "from": "441610000000",
        "to": PHONE,
        "id": "wamid.ECHO_IMG",
        "timestamp": str(sim.ts()),
        "type": "image",
        "image": {"id": "77", "mime_type": "image/jpeg", "caption": "our menu"},
    }
    body = cloud_envelope(BUSINESS, [], [])
    change = body["entry"][0]["changes"][0]
    change["field"] = "smb_message_echoes"
    change["value"] = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": BUSINESS},
        "message_echoes": [echo],
    }
    await sim.post_cloud(body)
    [line] = await shown(sim)
    assert (line["sender_type"], line["text"]) == ("agent", "[image] our menu")
    assert line["content"]["media_id"] == "77"


WATI_BASE = {
    "id": "66f1a0c2e4b0a1b2c3d4e5f6",
    "conversationId": "66f19f00e4b0a1b2c3d40001",
    "owner": False,
    "waId": PHONE,
    "senderName": "Dana",
}


@pytest.mark.parametrize(
    ("fields", "text", "content"),
    [
        ({"type": "text", "text": "hello"}, "hello", {"type": "text", "body": "hello"}),
        (
            {"type": "image", "text": "this one", "data": "https://live.wati.io/f/img.jpg"},
            "[image] this one",
            {"type": "image", "caption": "this one", "url": "https://live.wati.io/f/img.jpg"},
        ),
        (
            {"type": "document", "text": "passport.pdf", "data": "https://live.wati.io/f/p.pdf"},
            "[document: passport.pdf]",
            {"type": "document", "filename": "passport.pdf", "url": "https://live.wati.io/f/p.pdf"},
        ),
        (
            {"type": "voice", "data": "https://live.wati.io/f/v.ogg"},
            "[voice message]",
            {"type": "audio", "url": "https://live.wati.io/f/v.ogg", "voice": True},
        ),
        (
            {"type": "location", "text": "County Hall",
             "data": {"latitude": 51.5033, "longitude": -0.1196}},
            "[location] County Hall (51.5033, -0.1196)",
            {"type": "location", "latitude": 51.5033, "longitude": -0.1196,
             "address": "County Hall"},
        ),
        (
            {"type": "interactive", "listReply": {"id": "s1", "title": "20:00",
                                                  "description": "Bar"}},
            "20:00 (Bar)",
            {"type": "interactive", "reply_type": "list_reply", "id": "s1", "title": "20:00",
             "description": "Bar"},
        ),
        (
            {"type": "catalog", "text": "a catalog"},
            "a catalog",
            {"type": "unsupported", "kind": "catalog", "text": "a catalog"},
        ),
    ],
    ids=["text", "image", "document", "voice", "location", "list", "unknown-type"],
)  # fmt: skip
async def test_wati_types_are_readable(
    sim: Sim, fields: dict[str, Any], text: str, content: dict[str, Any]
) -> None:
    body = {
        **WATI_BASE,
        "eventType": "message",
        "whatsappMessageId": "wamid.W1",
        "timestamp": str(sim.ts()),
        **fields,
    }
    await sim.post_wati(body)
    [received, *_] = await shown(sim)
    assert (received["text"], received["content"]) == (text, content)


async def test_raw_payloads_are_readable_by_supervisors(sim: Sim) -> None:
    """`GET /api/conversations/{id}/events`: each stored webhook event, raw."""
    msg = message("text", {"body": "hi"}, "wamid.RAW", sim.ts(), context={"forwarded": True})
    await post(sim, msg)
    conversation = await sim.conversation(PHONE)
    events = await sim.api("GET", f"/api/conversations/{conversation['id']}/events")
    [event] = events["items"]
    assert event["raw"] == msg
    assert event["kind"] == "message" and event["processed_at"] is not None


async def test_message_count_counts_what_the_messages_list_shows(sim: Sim) -> None:
    """The customer's messages, the bot's, the session's lines and notices all count; a
    reaction (no message of its own) does not."""
    await sim.customer_says(PHONE, "hi")
    await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    menu = next(m for m in await shown(sim) if m["text"] == MENU)
    await post(
        sim,
        message("reaction", {"message_id": menu["provider_message_id"], "emoji": "👍"},
                "wamid.R2", sim.ts()),
    )  # fmt: skip
    listed = await shown(sim)
    conversation = await sim.conversation(PHONE)
    assert conversation["message_count"] == len(listed) >= 5


async def test_a_stored_structure_that_no_longer_decodes_is_not_an_error(
    sim: Sim, db_path: Path
) -> None:
    """A message whose stored content is damaged (or from another version) is listed with
    its text and no content, not answered 500."""
    await post(sim, message("text", {"body": "see you at 8"}, "wamid.ORIG", sim.ts()))
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "UPDATE messages SET content = ? WHERE provider_message_id = 'wamid.ORIG'",
            ('{"type": "text", "body": null}',),
        )
    conn.close()
    [original, *_] = await shown(sim)
    assert (original["text"], original["content"]) == ("see you at 8", None)
