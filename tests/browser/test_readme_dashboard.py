"""The README's "The dashboard" section, as written: its curl commands against a running
gateway, and what it says a person then does in the page."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.gateway_process import GatewayProcess
from tests.sim import REPO


def section_blocks() -> list[str]:
    text = (REPO / "README.md").read_text()
    part = text[text.index("## The dashboard") :]
    part = part[: part.index("\n## ", 5)]
    return re.findall(r"```sh\n(.*?)```", part, flags=re.S)


def run(block: str, gateway: GatewayProcess) -> str:
    script = block.replace("localhost:8080", f"127.0.0.1:{gateway.port}").replace(
        "dev-admin-token", gateway.admin_token
    )
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    gateway.wait_idle()
    return done.stdout


@pytest.fixture
def unsigned(start_gateway: Any) -> GatewayProcess:
    """As `make run` is: no app secret, so the README's unsigned webhooks are taken."""
    gateway: GatewayProcess = start_gateway("", {"WHATSAPP_APP_SECRET": None})
    return gateway


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's commands use curl")
def test_the_readme_dashboard_walk_through(unsigned: GatewayProcess, page: Page) -> None:
    create, customer, answer = section_blocks()
    token = json.loads(run(create, unsigned))["token"]
    page.goto(unsigned.base_url + "/dashboard/")
    page.get_by_label("Operator token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who")).to_have_text("Ari (agent)")
    expect(page.locator("#conn")).to_have_text("live")

    run(customer, unsigned)
    expect(page.locator('[data-count="waiting"]')).to_have_text("1")
    expect(page).to_have_title(re.compile(r"^\(1\) "))
    page.locator("#list .item button").first.click()
    expect(page.locator("#messages")).to_contain_text("hi")
    page.get_by_role("button", name="Accept").click()
    page.get_by_placeholder("Type a message").fill("Hello Omar, I am Ari")
    page.keyboard.press("Enter")
    expect(page.locator('#messages .msg[data-sender="agent"]').last).to_contain_text("Ari")

    run(answer, unsigned)
    expect(page.locator('#messages .msg[data-sender="customer"]').last).to_contain_text("Thanks!")
    page.get_by_role("button", name="End chat").click()
    expect(page.locator("#chat-state")).to_have_text("ended (agent)")
