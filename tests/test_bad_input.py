"""Every class of bad input gets a clear 4xx naming the field, never a 500, nothing lost."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from gateway.settings import ServerSettings
from tests.conftest import MakeSim
from tests.sim import APP_SECRET, ENVIRON, Sim, cloud_text, settings_for, wati_message

PHONE = "447700900123"


def error_of(body: dict[str, Any]) -> tuple[str, str | None]:
    return body["error"]["code"], body["error"]["field"]


async def test_malformed_json_is_400(sim: Sim) -> None:
    """A body that is not JSON: 400 invalid_json."""
    body = await sim.post_cloud(b"{not json", expect=400)
    assert error_of(body) == ("invalid_json", "body")


async def test_wrong_envelope_shape_names_the_field(sim: Sim) -> None:
    """`entry` not a list: 400 naming `entry`; a missing `entry` too."""
    body = await sim.post_cloud({"object": "whatsapp_business_account", "entry": 5}, expect=400)
    assert error_of(body) == ("invalid_body", "entry")
    body = await sim.post_cloud({"object": "whatsapp_business_account"}, expect=400)
    assert error_of(body) == ("invalid_body", "entry")


async def test_missing_signature_is_401(sim: Sim) -> None:
    """No X-Hub-Signature-256 with an app secret set: 401, nothing stored."""
    body = await sim.post_cloud(
        cloud_text(PHONE, "hi", wamid="w1", ts=sim.ts()), signed=False, expect=401
    )
    assert error_of(body) == ("invalid_signature", "X-Hub-Signature-256")
    assert (await sim.api("GET", "/api/conversations"))["total"] == 0


async def test_wrong_signature_is_401(sim: Sim) -> None:
    """A signature over other bytes (or with another secret) is refused."""
    raw = json.dumps(cloud_text(PHONE, "hi", wamid="w1", ts=sim.ts())).encode()
    response = await sim.client.post(
        "/webhooks/whatsapp", data=raw, headers={"X-Hub-Signature-256": "sha256=" + "0" * 64}
    )
    assert response.status == 401


async def test_signature_is_checked_over_raw_bytes(sim: Sim) -> None:
    """Escaped non-ASCII text (as Meta sends it) verifies against the exact bytes."""
    raw = b'{"object":"whatsapp_business_account","entry":[{"changes":[]}],"note":"caf\\u00e9"}'
    result = await sim.post_cloud(raw)
    assert result == {"accepted": 0, "duplicates": 0, "ignored": 0}


async def test_no_app_secret_means_no_check(make_sim: MakeSim) -> None:
    """Without an app secret (dev), unsigned webhooks are accepted (and warned about)."""
    sim = await make_sim(environ={"GATEWAY_ADMIN_TOKEN": ENVIRON["GATEWAY_ADMIN_TOKEN"]})
    result = await sim.post_cloud(cloud_text(PHONE, "hi", wamid="w1", ts=sim.ts()), signed=False)
    assert result["accepted"] == 1
    health = await sim.api("GET", "/healthz")
    assert any("WHATSAPP_APP_SECRET" in w for w in health["warnings"])


async def test_body_over_the_limit_is_413(make_sim: MakeSim, db_path: Any) -> None:
    """A body larger than server.max_body_bytes: 413 naming the body."""
    settings = settings_for(db_path, server=ServerSettings(max_body_bytes=2048))
    sim = await make_sim(settings)
    big = cloud_text(PHONE, "x" * 4096, wamid="w1", ts=sim.ts())
    body = await sim.post_cloud(big, expect=413)
    assert error_of(body) == ("body_too_large", "body")


async def test_duplicate_is_200_and_changes_nothing(sim: Sim) -> None:
    """A redelivery is acknowledged as a duplicate; the bot does not answer twice."""
    payload = cloud_text(PHONE, "hi", wamid="wamid.D1", ts=sim.ts())
    assert await sim.post_cloud(payload) == {"accepted": 1, "duplicates": 0, "ignored": 0}
    assert await sim.post_cloud(payload) == {"accepted": 0, "duplicates": 1, "ignored": 0}
    assert len(sim.sent_texts()) == 1
    assert len(await sim.messages(PHONE)) == 2


async def test_unknown_field_is_200_and_journaled(sim: Sim) -> None:
    """An unknown change field (account_update) is acknowledged, ignored, journaled."""
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [{"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}}],
            }
        ],
    }
    assert await sim.post_cloud(body) == {"accepted": 0, "duplicates": 0, "ignored": 1}
    assert await sim.post_cloud(body) == {"accepted": 0, "duplicates": 1, "ignored": 0}
    import sqlite3

    with sqlite3.connect(sim.runtime.config.db_path) as conn:
        rows = conn.execute(
            "SELECT step_type, status, detail FROM journal WHERE conversation_id IS NULL"
        ).fetchall()
    assert rows == [("webhook", "ignored_field", "account_update")]


async def test_unknown_message_type_is_recorded(sim: Sim) -> None:
    """A message of a type we do not know is stored (and journaled), not answered."""
    body = cloud_text(PHONE, "hi", wamid="wamid.U1", ts=sim.ts())
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message.pop("text")
    message["type"] = "poll_vote"
    message["poll_vote"] = {"option": 2}
    assert (await sim.post_cloud(body))["accepted"] == 1
    assert sim.sent_texts() == []
    assert ("webhook", "unsupported_message") in await sim.journey(PHONE)
    assert [m["kind"] for m in await sim.messages(PHONE)] == ["unknown"]


async def test_verification_handshake(sim: Sim) -> None:
    """GET with the right token echoes the challenge as plain text; a wrong token is 403."""
    ok = await sim.client.get(
        "/webhooks/whatsapp",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": "verify-me",
            "hub.challenge": "1158201444",
        },
    )
    assert ok.status == 200
    assert await ok.text() == "1158201444"
    assert ok.content_type == "text/plain"
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "verify-me"},
        {},
    ):
        refused = await sim.client.get("/webhooks/whatsapp", params=params)
        assert refused.status == 403


async def test_wati_token(make_sim: MakeSim) -> None:
    """With a WATI token set: wrong or missing 401; in the query or the header it passes."""
    sim = await make_sim(environ={**ENVIRON, "WATI_WEBHOOK_TOKEN": "wati-secret"})
    body = wati_message(PHONE, "hi", event_id="e1", ts=sim.ts())
    for url, headers in (("/webhooks/wati", {}), ("/webhooks/wati?token=bad", {})):
        response = await sim.client.post(url, json=body, headers=headers)
        assert response.status == 401
        assert error_of(await response.json()) == ("invalid_token", "token")
    response = await sim.client.post("/webhooks/wati?token=wati-secret", json=body)
    assert response.status == 200
    response = await sim.client.post(
        "/webhooks/wati", json=body, headers={"X-Webhook-Token": "wati-secret"}
    )
    assert (await response.json())["duplicates"] == 1


async def test_wati_event_without_wa_id_is_400(sim: Sim) -> None:
    """A WATI message without waId cannot be routed: 400 naming waId."""
    body = wati_message(PHONE, "hi", event_id="e1", ts=sim.ts())
    del body["waId"]
    assert error_of(await sim.post_wati(body, expect=400)) == ("invalid_body", "waId")


async def test_wati_wrong_type_names_the_field(sim: Sim) -> None:
    """`owner` must be a boolean: 400 naming it."""
    body = wati_message(PHONE, "hi", event_id="e1", ts=sim.ts())
    body["owner"] = "yes"
    assert error_of(await sim.post_wati(body, expect=400)) == ("invalid_body", "owner")


async def test_wati_unknown_event_is_ignored(sim: Sim) -> None:
    """An event type the gateway does not handle is 200 and ignored."""
    body = {"eventType": "newContactMessageReceived", "waId": PHONE, "senderName": "Omar"}
    assert await sim.post_wati(body) == {"accepted": 0, "duplicates": 0, "ignored": 1}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/conversations"),
        ("GET", "/api/pauses"),
        ("POST", "/api/pauses/cleanup"),
        ("GET", "/api/admin/clock"),
        ("GET", "/api/conversations/c_x/pause"),
    ],
)
async def test_api_needs_a_valid_token(sim: Sim, method: str, path: str) -> None:
    """No token or a wrong one: 401 with the error shape."""
    body = await sim.api(method, path, token=None, expect=401)
    assert error_of(body) == ("unauthorized", None)
    body = await sim.api(method, path, token="wrong", expect=401)
    assert error_of(body) == ("unauthorized", None)


async def test_unknown_conversation_is_404(sim: Sim) -> None:
    """An id that names no conversation: 404 naming `id`."""
    body = await sim.api("GET", "/api/conversations/c_nope", expect=404)
    assert error_of(body) == ("not_found", "id")
    await sim.api("PUT", "/api/conversations/c_nope/pause", body={"hours": 1}, expect=404)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "hours"),
        ({"hours": "ten"}, "hours"),
        ({"hours": -1}, "hours"),
        ({"hours": 0}, "hours"),
        ({"hours": 1, "extra": True}, "extra"),
    ],
)
async def test_pause_body_errors_name_the_field(
    sim: Sim, payload: dict[str, Any], field: str
) -> None:
    """PUT pause with a bad body: 400 naming the field."""
    await sim.customer_says(PHONE, "hi")
    cid = (await sim.conversation(PHONE))["id"]
    body = await sim.api("PUT", f"/api/conversations/{cid}/pause", body=payload, expect=400)
    assert body["error"]["field"] == field


async def test_bad_query_parameters_are_400(sim: Sim) -> None:
    """limit out of range, or not a number: 400 naming it."""
    for query in ("limit=0", "limit=501", "limit=x", "offset=-1", "status=weird"):
        body = await sim.api("GET", f"/api/conversations?{query}", expect=400)
        assert body["error"]["field"] == query.split("=")[0]


async def test_unknown_route_is_json_404(sim: Sim) -> None:
    """Paths that do not exist get the JSON error shape."""
    body = await sim.api("GET", "/api/nothing-here", expect=404)
    assert error_of(body) == ("not_found", None)


def test_signature_helper_matches_meta() -> None:
    """The signing helper and the verifier agree (HMAC-SHA256 hex of the raw body)."""
    from gateway.signature import sign, valid_signature

    raw = msgspec.json.encode({"a": 1})
    assert valid_signature(raw, sign(raw, APP_SECRET), APP_SECRET)
    assert not valid_signature(raw, sign(raw, "other"), APP_SECRET)
    assert not valid_signature(raw, None, APP_SECRET)
    assert not valid_signature(raw, "md5=abc", APP_SECRET)
