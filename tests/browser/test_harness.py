"""The browser-test harness itself, without the dashboard: the real gateway starts and
answers in Chromium, webhooks reach it signed, operators and the virtual clock work."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.gateway_process import BUSINESS, GatewayProcess, settings_toml
from tests.sim import wati_agent

DANA = "447700900123"


def test_healthz_is_ok_in_the_browser(gateway: GatewayProcess, page: Page) -> None:
    page.goto(gateway.base_url + "/healthz")
    expect(page.locator("body")).to_contain_text('"status":"ok"')
    health = json.loads(page.locator("body").inner_text())
    assert health["clock"] == "virtual"
    assert health["provider"] == "console"
    assert not health["warnings"], "the secrets are set: signatures and tokens are checked"


def test_a_customer_message_makes_a_conversation_the_bot_answers(gateway: GatewayProcess) -> None:
    assert gateway.customer_says(DANA, "hi") == {"accepted": 1, "duplicates": 0, "ignored": 0}
    status, found = gateway.api("GET", f"/api/conversations?phone={DANA}")
    assert status == 200 and found["total"] == 1
    conversation = found["items"][0]
    assert conversation["business_id"] == BUSINESS
    messages = gateway.expect(200, "GET", f"/api/conversations/{conversation['id']}/messages")
    assert [m["direction"] for m in messages["items"]] == ["in", "out"], "Dana's, the menu"
    assert gateway.logs("would_send"), "the console provider logged the bot's menu"


def test_an_unsigned_webhook_is_refused(gateway: GatewayProcess) -> None:
    status, answer = gateway.api("POST", "/webhooks/whatsapp", {"object": "x"}, token=None)
    assert status == 401 and answer["error"]["code"] == "invalid_signature"


def test_a_wati_agent_pauses_the_bot(gateway: GatewayProcess) -> None:
    gateway.customer_says(DANA, "hi")
    gateway.post_wati(wati_agent(DANA, "Hi, I am taking over", event_id="evt-1"))
    pauses = gateway.expect(200, "GET", "/api/pauses")
    assert pauses["total"] == 1


def test_an_operator_is_created_and_its_token_works(gateway: GatewayProcess) -> None:
    noa = gateway.create_operator("Noa")
    assert noa.id.startswith("op_") and noa.role == "agent" and noa.token
    status, _ = gateway.api("POST", "/api/operator/next", token=noa.token)
    assert status == 204, "nothing waits"
    status, _ = gateway.api("GET", "/api/operators", token=noa.token)
    assert status == 403, "an agent is not a supervisor"
    status, _ = gateway.api("GET", "/api/operators", token=None)
    assert status == 401


def test_a_tapped_button_opens_a_live_agent_session(gateway: GatewayProcess) -> None:
    gateway.customer_says(DANA, "hi")
    gateway.customer_taps(DANA, "AGENT_MODE", "Talk to Expert")
    waiting = gateway.expect(200, "GET", "/api/agent/sessions/waiting")
    assert waiting["total"] == 1


def test_the_virtual_clock_advances(gateway: GatewayProcess) -> None:
    before = gateway.now()
    after = gateway.advance(3 * 3600)
    assert (after - before).total_seconds() == pytest.approx(3 * 3600, abs=1)
    assert gateway.now() == after, "the virtual clock stands still between advances"
    gateway.customer_says(DANA, "still there?")  # stamped at the moved clock: answered
    (conversation,) = gateway.expect(200, "GET", f"/api/conversations?phone={DANA}")["items"]
    messages = gateway.expect(200, "GET", f"/api/conversations/{conversation['id']}/messages")
    assert [m["direction"] for m in messages["items"]] == ["in", "out"]


@pytest.mark.parametrize(
    "gateway",
    [{"extra_toml": '[pause]\nduration_hours = 2\n[log]\nlevel = "debug"'}],
    indirect=True,
)
def test_extra_settings_reach_the_gateway(gateway: GatewayProcess) -> None:
    text = gateway.settings_path.read_text()
    assert "duration_hours = 2" in text and 'level = "debug"' in text
    assert 'mode = "virtual"' in text, "merged over the base, not instead of it"
    assert gateway.health()["status"] == "ok"


def test_extra_tables_merge_key_by_key(tmp_path: Path) -> None:
    text = settings_toml(
        tmp_path,
        '[whatsapp]\ngraph_api_base = "http://127.0.0.1:9/v21.0"\n'
        '[numbers."310000000000002".timeouts]\ninactivity_minutes = 30\n'
        '[sessions]\nconnecting_text = "🙋 \\"quoted\\"\\nnext"',
    )
    data = tomllib.loads(text)
    assert data["whatsapp"]["graph_api_base"] == "http://127.0.0.1:9/v21.0"
    assert data["whatsapp"]["phone_number_id"] == BUSINESS
    assert data["numbers"][BUSINESS]["timeouts"]["inactivity_minutes"] == 30
    assert data["sessions"]["connecting_text"] == '🙋 "quoted"\nnext'


def test_two_pages_and_a_phone(
    gateway: GatewayProcess,
    new_page: Callable[..., Page],
    phone_page: Page,
    shot: Callable[[Page, str], None],
) -> None:
    agent, supervisor = new_page(), new_page()
    for each in (agent, supervisor, phone_page):
        each.goto(gateway.base_url + "/healthz")
        expect(each.locator("body")).to_contain_text('"status":"ok"')
    shot(phone_page, "healthz on a phone")
    assert phone_page.viewport_size == {"width": 390, "height": 844}
    assert agent.viewport_size == {"width": 1280, "height": 800}
    assert agent.context is not supervisor.context, "each page has its own storage"
