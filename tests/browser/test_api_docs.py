"""The API reference at /api/docs, in Chromium, against the real gateway: it renders every
operation of /api/openapi.json with its role, opens one to its parameters and answers, and
filters; nothing breaks the page's CSP."""

from __future__ import annotations

import json
import urllib.request

from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.gateway_process import GatewayProcess


def test_the_reference_shows_every_operation(gateway: GatewayProcess, page: Page) -> None:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(message.text)

    page.on("console", on_console)
    with urllib.request.urlopen(gateway.base_url + "/api/openapi.json") as answer:
        document = json.load(answer)
    count = sum(len(item) for item in document["paths"].values())
    page.goto(gateway.base_url + "/api/docs")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#status")).to_have_text(f"{count} operations")
    expect(page.locator("details.op")).to_have_count(count)
    expect(page.locator("#title")).to_have_text(document["info"]["title"])

    waiting = page.locator('[data-operation="GET /api/agent/sessions/waiting"]')
    expect(waiting.locator(".role")).to_have_text("agent")
    cleanup = page.locator('[data-operation="POST /api/database/cleanup"]')
    expect(cleanup.locator(".role")).to_have_text("admin")
    health = page.locator('[data-operation="GET /healthz"]')
    expect(health.locator(".role")).to_have_text("public")

    history = page.locator('[data-operation="GET /api/agent/sessions/history"]')
    history.locator("summary").click()
    expect(history.get_by_role("cell", name="start_date", exact=True)).to_be_visible()
    expect(history.locator('tr[data-status="401"]')).to_contain_text("no valid bearer token")
    expect(history.locator("code", has_text="Page_SessionView_")).to_be_visible()

    page.get_by_label("Filter").fill("{id}/pause supervisor")
    visible = page.locator("details.op:visible")
    expect(visible).to_have_count(3)  # GET, PUT, DELETE /api/conversations/{id}/pause
    expect(page.locator('[data-operation="GET /api/pauses"]')).to_be_hidden()
    expect(page.locator('section[data-tag="webhooks"]')).to_be_hidden()
    assert problems == []
