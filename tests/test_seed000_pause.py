"""Seed 000 end to end: an agent writes, the bot pauses 10 h, customer messages are skipped,
and 10 h later, at the exact instant, the bot answers again."""

from __future__ import annotations

from datetime import timedelta

from tests.sim import Sim, hours, utc

PHONE = "966509491382"


async def test_flow_1_to_4(sim: Sim) -> None:
    """Seed 000 "Flow" 1-4: pause on the agent's message, silence, expiry, the bot is back."""
    await sim.customer_says(PHONE, "hi")
    assert sim.sent_texts() == ["How can we help you today?"]

    # 1. The agent enters the conversation; 2. the pause is created for 10 hours.
    paused_at = sim.now()
    await sim.agent_writes(PHONE, "للاسف لا يمكن")
    conversation = await sim.conversation(PHONE)
    pause = await sim.api("GET", f"/api/conversations/{conversation['id']}/pause")
    assert pause["paused"] is True
    assert utc(pause["expires_at"]) == paused_at + hours(10)
    assert pause["agent_email"] == "contracts@abar.app"
    assert pause["agent_name"] == "M. Ibramim"
    assert pause["agent_assignee_id"] == "656d7ed0da548ff8371d50aa"
    assert ("contracts_agent_detection", "conversation_paused") in await sim.journey(PHONE)

    # 3. Customer messages arrive: recorded, the bot stays silent.
    await sim.advance(hours(1))
    await sim.customer_says(PHONE, "hello?")
    await sim.advance(hours(8) + timedelta(minutes=59, seconds=59))
    await sim.customer_says(PHONE, "anyone?")
    assert sim.sent_texts() == ["How can we help you today?"]
    journey = await sim.journey(PHONE)
    assert journey.count(("conversation_pause_check", "paused_by_agent")) == 2
    texts = [m["text"] for m in await sim.messages(PHONE) if m["sender_type"] == "customer"]
    assert texts == ["hi", "hello?", "anyone?"]

    # 4. Ten hours after the agent wrote, the pause expires by itself, at that instant.
    await sim.advance(timedelta(seconds=1))
    assert sim.now() == paused_at + hours(10)
    assert ("conversation_pause_expiry", "pause_expired") in await sim.journey(PHONE)
    conversation = await sim.conversation(PHONE)
    assert conversation["paused"] is False
    assert conversation["next_wakeup_at"] is None
    await sim.customer_says(PHONE, "hi again")
    assert sim.sent_texts()[-1] == "How can we help you today?"
    assert len(sim.sent_texts()) == 2


async def test_pause_still_holds_one_second_before_expiry(sim: Sim) -> None:
    """A message one second before expires_at is still skipped."""
    await sim.agent_writes(PHONE, "taking over")
    await sim.advance(hours(10) - timedelta(seconds=1))
    await sim.customer_says(PHONE, "hi")
    assert sim.sent_texts() == []
    assert (await sim.conversation(PHONE))["paused"] is True


async def test_pause_table_row_has_seed_columns(sim: Sim) -> None:
    """conversation_pauses holds the agent, the conversation id, the phone and the expiry."""
    await sim.agent_writes(PHONE, "taking over")
    listed = await sim.api("GET", "/api/pauses")
    assert listed["total"] == 1
    row = listed["items"][0]
    assert row["phone_number"] == PHONE
    assert row["external_conversation_id"] == "68b3fa21e5a7b16373de06f6"
    assert row["agent_email"] == "contracts@abar.app"
    assert utc(row["expires_at"]) == sim.now() + hours(10)
    await sim.advance(hours(10))
    assert (await sim.api("GET", "/api/pauses"))["total"] == 0


async def test_second_agent_message_extends_the_pause(sim: Sim) -> None:
    """A later agent message moves expires_at to 10 h after it (create or update)."""
    await sim.agent_writes(PHONE, "first")
    await sim.advance(hours(4))
    await sim.agent_writes(PHONE, "second")
    conversation = await sim.conversation(PHONE)
    assert utc(conversation["pause"]["expires_at"]) == sim.now() + hours(10)
    assert ("contracts_agent_detection", "conversation_pause_extended") in await sim.journey(PHONE)
    await sim.advance(hours(6))
    assert (await sim.conversation(PHONE))["paused"] is True
    await sim.advance(hours(4))
    assert (await sim.conversation(PHONE))["paused"] is False


async def test_email_match_is_case_insensitive(sim: Sim) -> None:
    """`Contracts@ABAR.app` triggers like `contracts@abar.app`."""
    await sim.agent_writes(PHONE, "hi", email="Contracts@ABAR.app")
    assert (await sim.conversation(PHONE))["paused"] is True


async def test_v2_event_triggers_too(sim: Sim) -> None:
    """`sessionMessageSent_v2` is a trigger as well."""
    await sim.agent_writes(PHONE, "hi", event_type="sessionMessageSent_v2")
    assert (await sim.conversation(PHONE))["paused"] is True


async def test_other_agent_does_not_pause(sim: Sim) -> None:
    """An agent whose e-mail is not in the list is recorded but does not pause the bot."""
    await sim.agent_writes(PHONE, "hello", email="someone@abar.app")
    conversation = await sim.conversation(PHONE)
    assert conversation["paused"] is False
    assert ("agent_detection", "not_trigger_agent") in await sim.journey(PHONE)
    assert [m["sender_type"] for m in await sim.messages(PHONE)] == ["agent"]
    await sim.customer_says(PHONE, "hi")
    assert sim.sent_texts() == ["How can we help you today?"]


async def test_owner_false_does_not_pause(sim: Sim) -> None:
    """`owner: false` is not an agent message."""
    await sim.agent_writes(PHONE, "hello", owner=False)
    assert (await sim.conversation(PHONE))["paused"] is False


async def test_missing_conversation_id_does_not_pause(sim: Sim) -> None:
    """Without a conversationId there is nothing to pause (seed: "Valid conversationId")."""
    await sim.agent_writes(PHONE, "hello", conversation_id="")
    assert (await sim.conversation(PHONE))["paused"] is False
    assert ("agent_detection", "no_conversation_id") in await sim.journey(PHONE)


async def test_echo_of_our_own_send_does_not_pause(sim: Sim) -> None:
    """WATI echoes the gateway's own sends with owner true: matched by id, never a pause."""
    await sim.customer_says(PHONE, "hi")
    own_id = "console.1"  # the id the console provider returned for the menu
    await sim.agent_writes(PHONE, "How can we help you today?", wamid=own_id)
    conversation = await sim.conversation(PHONE)
    assert conversation["paused"] is False
    assert ("agent_detection", "echo_ignored") in await sim.journey(PHONE)


async def test_echo_matched_by_text_when_it_outruns_the_send(sim: Sim) -> None:
    """An echo with an unknown id but our text to the same number, just now, is ours."""
    await sim.customer_says(PHONE, "hi")
    await sim.agent_writes(PHONE, "How can we help you today?", wamid="wamid.unknown")
    assert (await sim.conversation(PHONE))["paused"] is False


async def test_business_app_echo_pauses(sim: Sim) -> None:
    """Cloud API smb_message_echoes (a human in the Business app) pause the bot."""
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "smb_message_echoes",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "441610000000",
                                "phone_number_id": "310000000000002",
                            },
                            "message_echoes": [
                                {
                                    "from": "441610000000",
                                    "to": PHONE,
                                    "id": "wamid.ECHO1",
                                    "timestamp": str(sim.ts()),
                                    "type": "text",
                                    "text": {"body": "I'll handle this"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    result = await sim.post_cloud(body)
    assert result == {"accepted": 1, "duplicates": 0, "ignored": 0}
    conversation = await sim.conversation(PHONE)
    assert conversation["paused"] is True
    assert conversation["pause"]["source"] == "business_app"
    await sim.customer_says(PHONE, "hi")
    assert sim.sent_texts() == []


async def test_duplicate_agent_event_changes_nothing(sim: Sim) -> None:
    """A redelivered agent event is acknowledged and does not extend the pause."""
    from tests.sim import wati_agent

    body = wati_agent(PHONE, "hi", event_id="wati.dup", ts=sim.ts())
    assert (await sim.post_wati(body))["accepted"] == 1
    first = (await sim.conversation(PHONE))["pause"]["expires_at"]
    await sim.advance(hours(1))
    assert (await sim.post_wati(body)) == {"accepted": 0, "duplicates": 1, "ignored": 0}
    assert (await sim.conversation(PHONE))["pause"]["expires_at"] == first
