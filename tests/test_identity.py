"""One customer, one conversation, however they reach us (Cloud API, WATI and its `_bsuid`
variants, Business-app echoes, a session opened by API); and replies only to recipients
that WhatsApp could deliver to."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from actors.intake.identity import Resolver
from gateway.settings import WatiSettings, WhatsAppSettings, load_settings
from tests.conftest import MakeSim
from tests.sim import BUSINESS, REPO, Sim, cloud_envelope, settings_for, wati_agent, wati_message

PHONE = "447700900123"
BSUID = "GB.8812345678901234"
MENU = "How can we help you today?"


def cloud(msg: dict[str, Any], contacts: list[dict[str, Any]]) -> dict[str, Any]:
    return cloud_envelope(BUSINESS, contacts, [msg])


def text(sim: Sim, body: str, **sender: Any) -> dict[str, Any]:
    return {"id": sim.next_id(), "timestamp": str(sim.ts()), "type": "text",
            "text": {"body": body}, **sender}  # fmt: skip


async def conversation_ids(sim: Sim) -> list[str]:
    found = await sim.api("GET", "/api/conversations")
    return [c["id"] for c in found["items"]]


async def test_a_bsuid_only_message_meets_the_phone_conversation(sim: Sim) -> None:
    """An event with both the phone and the BSUID links them; the customer's later
    BSUID-only messages (a hidden number) land in the same conversation."""
    both = [{"profile": {"name": "Dana"}, "wa_id": PHONE, "user_id": BSUID}]
    await sim.post_cloud(cloud(text(sim, "hi", **{"from": PHONE, "from_user_id": BSUID}), both))
    hidden = [{"profile": {"name": "Dana"}, "user_id": BSUID}]
    await sim.post_cloud(cloud(text(sim, "still me", from_user_id=BSUID), hidden))
    [one] = await conversation_ids(sim)
    texts = [m["text"] for m in await sim.messages(PHONE) if m["sender_type"] == "customer"]
    assert texts == ["hi", "still me"]
    assert one == (await sim.conversation(PHONE))["id"]


async def test_the_link_survives_a_restart(make_sim: MakeSim) -> None:
    first = await make_sim()
    both = [{"profile": {"name": "Dana"}, "wa_id": PHONE, "user_id": BSUID}]
    await first.post_cloud(cloud(text(first, "hi", **{"from": PHONE, "from_user_id": BSUID}), both))
    await first.client.close()
    second = await make_sim()
    hidden = [{"profile": {"name": "Dana"}, "user_id": BSUID}]
    await second.post_cloud(cloud(text(second, "again", from_user_id=BSUID), hidden))
    assert len(await conversation_ids(second)) == 1


async def test_cloud_wati_echo_and_api_session_share_one_conversation(sim: Sim) -> None:
    """The customer on the Cloud API, on WATI (plain and `_bsuid`), a Business-app echo and
    a session opened by API: one conversation."""
    await sim.customer_says(PHONE, "hi")
    await sim.post_wati(wati_message(PHONE, "from WATI", event_id="w1", ts=sim.ts()))
    bsuid_event = {**wati_message(PHONE, "bsuid variant", event_id="w2", ts=sim.ts()),
                   "eventType": "message_bsuid", "bsuid": "GB.77"}  # fmt: skip
    await sim.post_wati(bsuid_event)
    await sim.post_wati({**wati_agent(PHONE, "agent here", event_id="w3"),
                         "eventType": "sessionMessageSent_v2_bsuid", "bsuid": "GB.77"})  # fmt: skip
    echo = {"from": "441610000000", "to": PHONE, "id": "wamid.E1", "timestamp": str(sim.ts()),
            "type": "text", "text": {"body": "from the app"}}  # fmt: skip
    body = cloud_envelope(BUSINESS, [], [])
    change = body["entry"][0]["changes"][0]
    change["field"] = "smb_message_echoes"
    change["value"] = {"metadata": {"phone_number_id": BUSINESS}, "message_echoes": [echo]}
    await sim.post_cloud(body)
    started = await sim.api("POST", f"/api/agent/sessions/start/{PHONE}", expect=201)
    [one] = await conversation_ids(sim)
    assert started["conversation_id"] == one
    senders = [(m["sender_type"], m["text"]) for m in await sim.messages(PHONE)]
    assert ("customer", "bsuid variant") in senders
    assert ("agent", "agent here") in senders
    assert ("agent", "from the app") in senders
    assert (await sim.conversation(PHONE))["pause"] is not None, "the _v2_bsuid agent paused"


async def test_the_shipped_settings_put_wati_events_in_the_cloud_conversation(
    make_sim: MakeSim, db_path: Path
) -> None:
    """With settings.toml as shipped, the README's WATI example pauses the very conversation
    the customer's Cloud messages are in."""
    shipped = load_settings(REPO / "settings.toml")
    number = shipped.whatsapp.phone_number_id
    assert number, "the shipped settings name a business number"
    sim = await make_sim(
        settings_for(db_path, whatsapp=WhatsAppSettings(phone_number_id=number), wati=shipped.wati)
    )
    await sim.post_cloud(
        cloud_envelope(number, [{"profile": {"name": "Dana"}, "wa_id": PHONE}],
                       [text(sim, "hi", **{"from": PHONE})])
    )  # fmt: skip
    await sim.agent_writes(PHONE, "I'm taking over")
    [one] = await conversation_ids(sim)
    conversation = await sim.conversation(PHONE)
    assert conversation["id"] == one and conversation["paused"] is True


def test_wati_channels_map_to_business_numbers() -> None:
    """Several numbers on one WATI account: each channel to its number id."""
    wati = WatiSettings(phone_number_id="111", channels={"971400000000": "222"})
    assert wati.business_of("971400000000", "999") == "222"
    assert wati.business_of("971400000001", "999") == "111"
    assert WatiSettings().business_of(None, "999") == "999"
    assert WatiSettings().business_of(None, "") == "default"


async def test_resolver_prefers_the_phone_and_links_the_bsuid() -> None:
    """Unit: the phone's conversation; the BSUID taught once; a BSUID alone asks the store."""

    class Store:
        asked: ClassVar[list[str]] = []

        async def aliases(self, kind: str) -> list[Any]:
            return []

        async def alias(self, business: str, kind: str, key: str) -> str | None:
            self.asked.append(key)
            return "c_linked" if key == "GB.1" else None

    from actors.conversation.messages import Identity

    resolver = Resolver(Store())  # type: ignore[arg-type]
    await resolver.start()
    cid, links = await resolver.conversation_of(Identity("b", PHONE, PHONE, None, "GB.9"))
    assert [(a.kind, a.key, a.conversation_id) for a in links] == [("bsuid", "GB.9", cid)]
    resolver.learned(links)
    again, links = await resolver.conversation_of(Identity("b", PHONE, PHONE, None, "GB.9"))
    assert (again, links) == (cid, [])
    hidden, _ = await resolver.conversation_of(Identity("b", "GB.9", None, None, "GB.9"))
    assert hidden == cid, "known from memory"
    linked, _ = await resolver.conversation_of(Identity("b", "GB.1", None, None, "GB.1"))
    assert linked == "c_linked" and Store.asked == ["GB.1"]


@pytest.mark.parametrize("sender", ["abc123", "' OR 1=1 --", "44\n79", "12345", "+" + "9" * 16])
async def test_a_recipient_that_is_no_phone_or_bsuid_gets_nothing(sim: Sim, sender: str) -> None:
    """The message is stored as received; nothing is sent to it, and the journal says why."""
    await sim.post_cloud(
        cloud(text(sim, "hi", **{"from": sender}), [{"profile": {"name": "X"}, "wa_id": sender}])
    )
    assert sim.sent_texts() == []
    [conversation] = (await sim.api("GET", "/api/conversations"))["items"]
    journey = await sim.api("GET", f"/api/conversations/{conversation['id']}/journey")
    reasons = [e["detail"] for e in journey["items"] if e["status"] == "not_answered"]
    assert reasons and "invalid recipient" in reasons[0]
    messages = await sim.api("GET", f"/api/conversations/{conversation['id']}/messages")
    assert [m["text"] for m in messages["items"]] == ["hi"]


@pytest.mark.parametrize("recipient", ["447700900123", "+447700900123", BSUID, "US.ENT.1234567"])
async def test_plausible_recipients_get_answers(sim: Sim, recipient: str) -> None:
    sender: dict[str, Any] = (
        {"from": recipient} if recipient[0] in "+4" else {"from_user_id": recipient}
    )
    contact = {"profile": {"name": "X"}, "wa_id": recipient} if "from" in sender else {
        "profile": {"name": "X"}, "user_id": recipient}  # fmt: skip
    await sim.post_cloud(cloud(text(sim, "hi", **sender), [contact]))
    assert sim.sent_texts() == [MENU]
