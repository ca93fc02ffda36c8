"""The simulation helper: the whole gateway in-process, wall time under freezegun, and
`advance()` that moves time deadline by deadline and waits for quiescence (no sleeps)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory, StepTickTimeFactory

from actors.system import Runtime
from gateway.context import GATEWAY
from gateway.providers.console import ConsoleProvider
from gateway.settings import BotSettings, Settings, StorageSettings, WhatsAppSettings
from gateway.signature import sign

REPO = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "test-admin-token"
APP_SECRET = "test-app-secret"
BUSINESS = "310000000000002"
ENVIRON = {"GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN, "WHATSAPP_APP_SECRET": APP_SECRET}


def settings_for(db_path: Path, **sections: Any) -> Settings:
    """Settings for a test gateway: its own database file, the repository's flows."""
    base = Settings(
        storage=StorageSettings(path=str(db_path), synchronous="NORMAL"),
        bot=BotSettings(flows_dir=str(REPO / "flows")),
        whatsapp=WhatsAppSettings(phone_number_id=BUSINESS, verify_token="verify-me"),
    )
    return msgspec.structs.replace(base, **sections)


def cloud_text(
    phone: str, text: str, *, wamid: str, ts: int, name: str = "Dana Levi", business: str = BUSINESS
) -> dict[str, Any]:
    return cloud_envelope(
        business,
        [{"profile": {"name": name}, "wa_id": phone}],
        [
            {
                "from": phone,
                "id": wamid,
                "timestamp": str(ts),
                "type": "text",
                "text": {"body": text},
            }
        ],
    )


def cloud_button(
    phone: str, button_id: str, title: str, *, wamid: str, ts: int, name: str = "Dana Levi"
) -> dict[str, Any]:
    return cloud_envelope(
        BUSINESS,
        [{"profile": {"name": name}, "wa_id": phone}],
        [
            {
                "from": phone,
                "id": wamid,
                "timestamp": str(ts),
                "type": "interactive",
                "interactive": {
                    "type": "button_reply",
                    "button_reply": {"id": button_id, "title": title},
                },
            }
        ],
    )


def cloud_envelope(
    business: str, contacts: list[dict[str, Any]], messages: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "210000000000001",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "441610000000",
                                "phone_number_id": business,
                            },
                            "contacts": contacts,
                            "messages": messages,
                        },
                    }
                ],
            }
        ],
    }


def wati_agent(
    phone: str,
    text: str,
    *,
    event_id: str,
    email: str = "contracts@abar.app",
    conversation_id: str = "68b3fa21e5a7b16373de06f6",
    owner: bool = True,
    event_type: str = "sessionMessageSent",
    ts: int | None = None,
    wamid: str | None = None,
) -> dict[str, Any]:
    """Seed 000's agent message, as WATI sends it."""
    body: dict[str, Any] = {
        "eventType": event_type,
        "id": event_id,
        "conversationId": conversation_id,
        "text": text,
        "owner": owner,
        "assigneeId": "656d7ed0da548ff8371d50aa",
        "operatorEmail": email,
        "operatorName": "M. Ibramim",
        "waId": phone,
    }
    if ts is not None:
        body["timestamp"] = str(ts)
    if wamid is not None:
        body["whatsappMessageId"] = wamid
    return body


def wati_message(
    phone: str,
    text: str,
    *,
    event_id: str,
    ts: int,
    conversation_id: str = "68b3fa21e5a7b16373de06f6",
) -> dict[str, Any]:
    return {
        "eventType": "message",
        "id": event_id,
        "whatsappMessageId": f"wamid.{event_id}",
        "conversationId": conversation_id,
        "text": text,
        "type": "text",
        "timestamp": str(ts),
        "owner": False,
        "waId": phone,
        "senderName": "Omar",
        "operatorEmail": "contracts@abar.app",
    }


class Sim:
    """Drives one running gateway: webhooks in, time forward, API reads."""

    def __init__(
        self, client: TestClient, frozen: FrozenDateTimeFactory | StepTickTimeFactory
    ) -> None:
        self.client = client
        self.frozen = frozen
        self._seq = 0

    @property
    def runtime(self) -> Runtime:
        return self.client.app[GATEWAY].runtime  # type: ignore[index]

    @property
    def provider(self) -> ConsoleProvider:
        provider = self.runtime.provider
        assert isinstance(provider, ConsoleProvider)
        return provider

    def sent_texts(self) -> list[str]:
        return [m.text for m in self.provider.sent]

    def now(self) -> datetime:
        return self.runtime.clock.now()

    def ts(self) -> int:
        return int(self.now().timestamp())

    def next_id(self, prefix: str = "wamid.T") -> str:
        self._seq += 1
        return f"{prefix}{self._seq:05d}"

    async def post_cloud(
        self, body: dict[str, Any] | bytes, *, signed: bool = True, expect: int = 200
    ) -> dict[str, Any]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if signed:
            headers["X-Hub-Signature-256"] = sign(raw, APP_SECRET)
        response = await self.client.post("/webhooks/whatsapp", data=raw, headers=headers)
        assert response.status == expect, await response.text()
        result: dict[str, Any] = await response.json()
        await self.settle()
        return result

    async def post_wati(self, body: dict[str, Any], *, expect: int = 200) -> dict[str, Any]:
        response = await self.client.post("/webhooks/wati", json=body)
        assert response.status == expect, await response.text()
        result: dict[str, Any] = await response.json()
        await self.settle()
        return result

    async def customer_says(self, phone: str, text: str, **kw: Any) -> dict[str, Any]:
        return await self.post_cloud(
            cloud_text(phone, text, wamid=self.next_id(), ts=self.ts(), **kw)
        )

    async def customer_taps(self, phone: str, button_id: str, title: str) -> dict[str, Any]:
        return await self.post_cloud(
            cloud_button(phone, button_id, title, wamid=self.next_id(), ts=self.ts())
        )

    async def agent_writes(self, phone: str, text: str, **kw: Any) -> dict[str, Any]:
        return await self.post_wati(
            wati_agent(phone, text, event_id=self.next_id("wati."), ts=self.ts(), **kw)
        )

    async def settle(self) -> None:
        await self.runtime.wait_idle()

    async def advance(self, delta: timedelta) -> None:
        """Move wall time by `delta`, firing each deadline at its own instant, in order."""

        def move(when: datetime) -> None:
            self.frozen.move_to(when)

        await self.runtime.advance_to(self.now() + delta, move)

    async def api(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        token: str | None = ADMIN_TOKEN,
        expect: int | None = 200,
    ) -> Any:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        response = await self.client.request(method, path, json=body, headers=headers)
        if expect is not None:
            assert response.status == expect, f"{response.status}: {await response.text()}"
        if response.content_type == "application/json":
            return await response.json()
        return await response.text()

    async def conversation(self, phone: str) -> dict[str, Any]:
        found = await self.api("GET", f"/api/conversations?phone={phone}")
        assert found["total"] == 1, found
        conversation: dict[str, Any] = found["items"][0]
        return conversation

    async def journey(self, phone: str) -> list[tuple[str, str]]:
        conversation = await self.conversation(phone)
        entries = await self.api("GET", f"/api/conversations/{conversation['id']}/journey")
        return [(e["step_type"], e["status"]) for e in entries["items"]]

    async def messages(self, phone: str) -> list[dict[str, Any]]:
        conversation = await self.conversation(phone)
        found = await self.api("GET", f"/api/conversations/{conversation['id']}/messages")
        items: list[dict[str, Any]] = found["items"]
        return items


def conversation_timers(sim: Sim) -> int:
    """Deadlines of conversations (not the outbox's or the scheduled jobs')."""
    return sum(1 for key in sim.runtime.timers.deadline_keys() if str(key).startswith("c_"))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def monotonic() -> float:
    return time.monotonic()


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


class Operator:
    """An operator account made through the API, with its token."""

    def __init__(self, sim: Sim, data: dict[str, Any], token: str) -> None:
        self.sim = sim
        self.id: str = data["id"]
        self.name: str = data["name"]
        self.role: str = data["role"]
        self.token = token

    async def api(
        self, method: str, path: str, *, body: Any = None, expect: int | None = 200
    ) -> Any:
        """A call as this operator; a command (not a GET) returns once what it started has
        settled (its sends are made), as a webhook does."""
        answer = await self.sim.api(method, path, body=body, token=self.token, expect=expect)
        if method != "GET":
            await self.sim.settle()
        return answer

    async def next(self, expect: int | None = 200) -> Any:
        return await self.api("POST", "/api/operator/next", expect=expect)

    async def reply(self, session_id: str, text: str, expect: int | None = 201) -> Any:
        return await self.api(
            "POST", f"/api/agent/sessions/{session_id}/messages", body={"text": text}, expect=expect
        )


async def make_operator(sim: Sim, name: str, role: str = "agent") -> Operator:
    email = f"{name.lower().replace(' ', '.')}@shop.example"
    created = await sim.api(
        "POST", "/api/operators", body={"name": name, "email": email, "role": role}, expect=201
    )
    return Operator(sim, created["operator"], created["token"])


async def session_of(sim: Sim, phone: str) -> dict[str, Any]:
    conversation = await sim.conversation(phone)
    session: dict[str, Any] | None = conversation["session"]
    assert session is not None, conversation
    return session
