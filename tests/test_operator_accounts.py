"""Operator accounts over HTTP: an admin renames, changes the role, deactivates and gives a
new token; each change counts from the operator's next request (nothing cached outlives it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from aiohttp import ClientWebSocketResponse, WSCloseCode, WSMsgType, WSServerHandshakeError

from gateway.auth import Authenticator
from storage.store import Store
from storage.views import OperatorView
from tests.sim import Sim, make_operator

PHONE = "447700900123"
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


async def test_a_new_token_replaces_the_old_one_at_once(sim: Sim) -> None:
    noa = await make_operator(sim, "Noa")
    await sim.api("GET", "/api/me", token=noa.token)  # the token is known (and cached)
    rotated = await sim.api("POST", f"/api/operators/{noa.id}/token")
    assert rotated["operator"]["id"] == noa.id and rotated["token"] != noa.token
    refused = await sim.api("GET", "/api/me", token=noa.token, expect=401)
    assert refused["error"]["code"] == "unauthorized"
    me = await sim.api("GET", "/api/me", token=rotated["token"])
    assert (me["id"], me["name"], me["role"], me["operator"]) == (noa.id, "Noa", "agent", True)


async def test_a_deactivated_operator_is_refused_on_its_next_request(sim: Sim) -> None:
    noa = await make_operator(sim, "Noa")
    await sim.api("GET", "/api/me", token=noa.token)
    changed = await sim.api("PATCH", f"/api/operators/{noa.id}", body={"active": False})
    assert changed["active"] is False
    await sim.api("GET", "/api/me", token=noa.token, expect=401)
    await sim.api("PATCH", f"/api/operators/{noa.id}", body={"active": True})
    await sim.api("GET", "/api/me", token=noa.token)


async def test_role_and_name_changes_count_at_once(sim: Sim) -> None:
    noa = await make_operator(sim, "Noa")
    await sim.api("GET", "/api/operators", token=noa.token, expect=403)
    changed = await sim.api(
        "PATCH", f"/api/operators/{noa.id}", body={"role": "supervisor", "name": " Noa K. "}
    )
    assert (changed["role"], changed["name"], changed["email"]) == (
        "supervisor",
        "Noa K.",
        "noa@shop.example",
    )
    await sim.api("GET", "/api/operators", token=noa.token)
    me = await sim.api("GET", "/api/me", token=noa.token)
    assert (me["name"], me["role"]) == ("Noa K.", "supervisor")


async def test_bad_changes_name_the_field(sim: Sim) -> None:
    noa = await make_operator(sim, "Noa")
    path = f"/api/operators/{noa.id}"
    for body, field in (({"name": "  "}, "name"), ({"role": "boss"}, "role"),
                        ({"active": "no"}, "active"), ({"email": "x@y"}, "email")):  # fmt: skip
        refused = await sim.api("PATCH", path, body=body, expect=400)
        assert field in (refused["error"]["field"] or "") + refused["error"]["message"]
    missing = await sim.api("PATCH", "/api/operators/op_nobody", body={"active": False}, expect=404)
    assert missing["error"]["field"] == "id"
    await sim.api("POST", "/api/operators/op_nobody/token", expect=404)


async def test_a_demoted_supervisor_is_an_agent_on_its_next_request(sim: Sim) -> None:
    sue = await make_operator(sim, "Sue", "supervisor")
    await sim.api("GET", "/api/operators", token=sue.token)  # known, as a supervisor
    await sim.api("PATCH", f"/api/operators/{sue.id}", body={"role": "agent"})
    refused = await sim.api("GET", "/api/operators", token=sue.token, expect=403)
    assert refused["error"]["code"] == "forbidden"


async def test_a_deactivated_operators_chats_go_back_to_the_queue(sim: Sim) -> None:
    """It can no longer answer them: each chat it held waits again, for another operator."""
    noa, ben = await make_operator(sim, "Noa"), await make_operator(sim, "Ben")
    await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    taken = await noa.next()
    await noa.reply(taken["id"], "Hello")  # sticky: it waits for the customer, still Noa's
    await sim.api("PATCH", f"/api/operators/{noa.id}", body={"active": False})
    session = await sim.api("GET", f"/api/agent/sessions/{taken['id']}")
    assert (session["chat_state"], session["agent_id"]) == ("waiting_assignment", None)
    assert session["assignments"][-1]["reason"] == "operator_deactivated"
    assert (await ben.next())["id"] == taken["id"]


# -- the real-time feed of an operator whose access changes --------------------------------


async def open_feed(sim: Sim, token: str) -> ClientWebSocketResponse:
    ws = await sim.client.ws_connect(f"/api/agent/ws?token={token}")
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "hello"
    return ws


async def closed_with(ws: ClientWebSocketResponse) -> tuple[int | None, list[Any]]:
    """Read until the server closes the socket: the code of its close frame, and the frames
    before."""
    frames = []
    while True:
        message = await ws.receive(timeout=5)
        if message.type == WSMsgType.CLOSE:
            return int(message.data), frames
        assert message.type == WSMsgType.TEXT, message
        frames.append(message.json())


async def refused_upgrade(sim: Sim, token: str) -> int:
    with pytest.raises(WSServerHandshakeError) as refused:
        await sim.client.ws_connect(f"/api/agent/ws?token={token}")
    return refused.value.status


async def test_a_deactivated_operators_open_feed_is_closed_at_once(sim: Sim) -> None:
    """The socket is closed (1008) before anything that happens after the change reaches
    it; reconnecting with the token is refused (401)."""
    noa = await make_operator(sim, "Noa")
    ws = await open_feed(sim, noa.token)
    try:
        await sim.api("PATCH", f"/api/operators/{noa.id}", body={"active": False})
        await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")  # agents see this
        code, frames = await closed_with(ws)
    finally:
        await ws.close()
    assert code == WSCloseCode.POLICY_VIOLATION
    assert [f for f in frames if f["type"] != "pong"] == []
    assert await refused_upgrade(sim, noa.token) == 401


async def test_a_new_token_closes_the_feed_opened_with_the_old(sim: Sim) -> None:
    noa = await make_operator(sim, "Noa")
    ws = await open_feed(sim, noa.token)
    try:
        rotated = await sim.api("POST", f"/api/operators/{noa.id}/token")
        code, _ = await closed_with(ws)
    finally:
        await ws.close()
    assert code == WSCloseCode.POLICY_VIOLATION
    assert await refused_upgrade(sim, noa.token) == 401
    again = await open_feed(sim, rotated["token"])
    await again.close()


async def test_a_new_role_closes_the_feed_and_the_reconnect_has_it(sim: Sim) -> None:
    noa = await make_operator(sim, "Noa")
    ws = await open_feed(sim, noa.token)
    try:
        await sim.api("PATCH", f"/api/operators/{noa.id}", body={"role": "supervisor"})
        code, _ = await closed_with(ws)
    finally:
        await ws.close()
    assert code == WSCloseCode.POLICY_VIOLATION
    back = await sim.client.ws_connect(f"/api/agent/ws?token={noa.token}")
    try:
        assert (await back.receive_json(timeout=5))["data"]["role"] == "supervisor"
    finally:
        await back.close()


async def test_a_rename_or_another_operators_change_keeps_the_feed_open(sim: Sim) -> None:
    noa, ben = await make_operator(sim, "Noa"), await make_operator(sim, "Ben")
    ws = await open_feed(sim, noa.token)
    try:
        await sim.api("PATCH", f"/api/operators/{noa.id}", body={"name": "Noa K."})
        await sim.api("PATCH", f"/api/operators/{ben.id}", body={"active": False})
        await sim.api("POST", f"/api/operators/{ben.id}/token")
        await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
        frame = await ws.receive_json(timeout=5)
        assert frame["type"] in ("message.created", "session.created"), frame
    finally:
        await ws.close()


# -- what a lookup read while the operator changed --------------------------------------


class SlowStore:
    """`operator_by_token` that waits to be let go, as a read racing a PATCH would."""

    def __init__(self, operator: OperatorView) -> None:
        self.operator: OperatorView | None = operator
        self.reads = 0
        self.go = asyncio.Event()

    async def operator_by_token(self, _digest: str) -> OperatorView | None:
        self.reads += 1
        found = self.operator
        await self.go.wait()
        return found


async def test_a_lookup_that_raced_a_change_is_not_remembered() -> None:
    """A lookup that read the operator before a deactivation and finished after it does not
    put the old access in the cache: the next request reads the store again."""
    noa = OperatorView(
        id="op_noa", name="Noa", email="noa@shop.example", role="agent", created_at=T0
    )
    store = SlowStore(noa)
    auth = Authenticator("", cast(Store, store))
    racing = asyncio.ensure_future(auth.principal("noa-token"))
    await asyncio.sleep(0)  # the lookup is reading
    store.operator = None  # deactivated and committed...
    auth.forget(noa.id)  # ...and forgotten, while the read is under way
    store.go.set()
    assert (await racing) is not None  # it asked before the change: it may pass
    assert await auth.principal("noa-token") is None
    assert store.reads == 2


async def test_an_unchanged_lookup_is_remembered() -> None:
    noa = OperatorView(
        id="op_noa", name="Noa", email="noa@shop.example", role="agent", created_at=T0
    )
    store = SlowStore(noa)
    store.go.set()
    auth = Authenticator("", cast(Store, store))
    for _ in range(3):
        assert await auth.principal("noa-token") is not None
    assert store.reads == 1
