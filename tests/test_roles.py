"""The role matrix: every route under /api with no token, a wrong token and each role (401,
403, or an answer), the ownership rules of agents, and the public routes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from gateway.auth import RANK
from gateway.settings import ClockSettings
from gateway.signature import sign
from tests.conftest import MakeSim
from tests.sim import (
    ADMIN_TOKEN,
    APP_SECRET,
    Operator,
    Sim,
    cloud_text,
    make_operator,
    session_of,
    settings_for,
)

S = "/api/agent/sessions"
PHONE, FRESH = "447700900101", "447700900199"
NEW_OPERATOR = {"name": "New One", "email": "new.one@shop.example", "role": "agent"}

# (method, path template, body, least role, status of an allowed call). Placeholders:
# {session} a waiting session, {held} the same, first accepted by the caller when it is an
# agent, {conversation} its conversation, {me} the caller's id, {fresh} a phone without one,
# {peer} the supervisor operator (renamed, or given a new token, by an admin).
ROUTES: list[tuple[str, str, Any, str, int]] = [
    ("POST", f"{S}/start/{{fresh}}", None, "supervisor", 201),
    ("GET", f"{S}/waiting", None, "agent", 200),
    ("GET", f"{S}/my-chats/{{me}}", None, "agent", 200),
    ("GET", f"{S}/all", None, "supervisor", 200),
    ("GET", f"{S}/history", None, "agent", 200),
    ("GET", f"{S}/{{session}}", None, "agent", 200),
    ("POST", f"{S}/{{session}}/assign", {}, "agent", 200),
    ("POST", f"{S}/{{held}}/release", {"reason": "test"}, "agent", 200),
    ("POST", f"{S}/{{held}}/end", {"reason": "test"}, "agent", 200),
    ("GET", f"{S}/{{session}}/messages", None, "agent", 200),
    ("GET", f"{S}/{{session}}/context", None, "agent", 200),
    ("GET", f"{S}/{{session}}/media/{{message}}", None, "agent", 404),  # not a media message
    ("POST", f"{S}/{{held}}/messages", {"text": "Hello"}, "agent", 201),
    ("GET", "/api/agent/ws", None, "agent", 101),
    ("POST", "/api/operators", NEW_OPERATOR, "admin", 201),
    ("GET", "/api/operators", None, "supervisor", 200),
    ("PATCH", "/api/operators/{peer}", {"name": "Renamed"}, "admin", 200),
    ("POST", "/api/operators/{peer}/token", None, "admin", 200),
    ("POST", "/api/operator/next", None, "agent", 200),
    ("GET", "/api/monitor/chat-states", None, "supervisor", 200),
    ("GET", "/api/monitor/queue", None, "supervisor", 200),
    ("GET", "/api/monitor/stuck", None, "supervisor", 200),
    ("GET", "/api/monitor/operators", None, "supervisor", 200),
    ("GET", "/api/conversations", None, "supervisor", 200),
    ("GET", "/api/conversations/{conversation}", None, "supervisor", 200),
    ("GET", "/api/conversations/{conversation}/messages", None, "supervisor", 200),
    ("GET", "/api/conversations/{conversation}/journey", None, "supervisor", 200),
    ("GET", "/api/conversations/{conversation}/events", None, "supervisor", 200),
    ("GET", "/api/conversations/{conversation}/pause", None, "supervisor", 200),
    ("PUT", "/api/conversations/{conversation}/pause", {"hours": 1}, "supervisor", 200),
    ("DELETE", "/api/conversations/{conversation}/pause", None, "supervisor", 200),
    ("GET", "/api/pauses", None, "supervisor", 200),
    ("POST", "/api/pauses/cleanup", None, "admin", 200),
    ("GET", "/api/admin/clock", None, "agent", 200),
    ("POST", "/api/conversations/archive", {"chat_ids": ["c_none"]}, "supervisor", 200),
    ("GET", "/api/conversations/archives", None, "supervisor", 200),
    ("POST", "/api/conversations/unarchive", {"chat_id": "c_none"}, "supervisor", 404),
    ("POST", "/api/conversations/sync", {}, "supervisor", 200),
    ("GET", "/api/conversations/sync-status", None, "supervisor", 200),
    ("POST", "/api/conversations/{conversation}/metadata", {"tags": ["vip"]}, "supervisor", 200),
    ("POST", "/api/database/cleanup", {"config": {"dry_run": True}}, "admin", 200),
    ("GET", "/api/database/stats", None, "supervisor", 200),
    ("POST", "/api/messages/status", {"updates": []}, "supervisor", 200),
    ("POST", "/api/messages/{message}/metadata", {"tags": ["x"]}, "supervisor", 200),
    ("POST", "/api/messages/{message}/analyze", None, "supervisor", 200),
    ("GET", "/api/jobs", None, "supervisor", 200),
    ("POST", "/api/jobs/{job}/run", {"dry_run": True}, "admin", 200),
    ("GET", "/api/me", None, "agent", 200),
    ("GET", "/api/canned-responses", None, "agent", 200),
    ("GET", "/api/flows", None, "agent", 200),
    ("GET", "/api/flows/{flow}", None, "agent", 200),
    ("POST", "/api/admin/clock/advance", {"seconds": 0}, "admin", 200),
]
# The public routes (no bearer token: webhooks check their own secret), with what they
# answer a caller that has none, and the body that gets that answer.
PUBLIC: list[tuple[str, str, int]] = [
    ("GET", "/webhooks/whatsapp", 200),  # with the verify token
    ("POST", "/webhooks/whatsapp", 200),  # signed
    ("POST", "/webhooks/wati", 200),
    ("GET", "/healthz", 200),
    ("GET", "/metrics", 200),
    ("GET", "/dashboard", 308),
    ("GET", "/dashboard/", 200),
    ("GET", "/dashboard/{name}", 200),
    ("GET", "/api/openapi.json", 200),
    ("GET", "/api/docs", 200),
    ("GET", "/api/docs/{name}", 200),
]
PLACEHOLDER = re.compile(r"\{[^}]*\}")
CALLERS = ["no token", "wrong token", "agent", "supervisor", "env admin", "admin"]
ROLE = {"agent": "agent", "supervisor": "supervisor", "env admin": "admin", "admin": "admin"}
# Public routes under /api: the API's own description (it shows no data).
PUBLIC_API = [
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"),
    ("GET", "/api/docs/{name}"),
]


class World:
    """A gateway with a virtual clock, one operator per role, and one waiting session."""

    def __init__(self, sim: Sim, ops: dict[str, Operator], session: dict[str, Any]) -> None:
        self.sim, self.ops, self.session = sim, ops, session

    def token(self, caller: str) -> str | None:
        if caller == "no token":
            return None
        if caller == "wrong token":
            return "not-a-token"
        return ADMIN_TOKEN if caller == "env admin" else self.ops[caller].token

    def id_of(self, caller: str) -> str:
        return "admin" if caller == "env admin" else self.ops[caller].id


@pytest.fixture
async def world(make_sim: MakeSim, db_path: Path) -> World:
    sim = await make_sim(settings_for(db_path, clock=ClockSettings(mode="virtual")))
    ops = {role: await make_operator(sim, f"{role} one", role) for role in RANK}
    await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    return World(sim, ops, await session_of(sim, PHONE))


def assert_error(body: Any, code: str) -> None:
    assert isinstance(body, dict) and body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and "field" in body["error"], body


async def call(sim: Sim, method: str, path: str, token: str | None, body: Any = None) -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = await sim.client.request(method, path, json=body, headers=headers)
    data = await response.json() if response.content_type == "application/json" else None
    return response.status, data


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(
    ("method", "template", "body", "least", "status"),
    ROUTES,
    ids=[f"{r[0]} {r[1]}" for r in ROUTES],
)
async def test_role_matrix(
    world: World, method: str, template: str, body: Any, least: str, status: int, caller: str
) -> None:
    """401 without a valid token, 403 below the least role, the success status otherwise."""
    sim, token = world.sim, world.token(caller)
    if caller == "agent" and "{held}" in template:
        await world.ops["agent"].api("POST", f"{S}/{world.session['id']}/assign", body={})
    path = template.format(
        session=world.session["id"],
        held=world.session["id"],
        conversation=world.session["conversation_id"],
        me=world.id_of(caller) if caller in ROLE else "nobody",
        fresh=FRESH,
        flow="main",
        message="1",
        peer=world.ops["supervisor"].id,
        job="cleanup",
    )
    if caller not in ROLE:
        got, answer = await call(sim, method, path, token, body)
        assert got == 401, answer
        assert_error(answer, "unauthorized")
    elif RANK[ROLE[caller]] < RANK[least]:
        got, answer = await call(sim, method, path, token, body)
        assert got == 403, answer
        assert_error(answer, "forbidden")
    elif caller == "env admin" and template in (f"{S}/{{session}}/assign", "/api/operator/next"):
        got, answer = await call(sim, method, path, token, body)
        assert got == 403, answer  # the environment's admin is not an operator: takes no chats
        assert_error(answer, "not_an_operator")
    elif status == 101:
        headers = {"Authorization": f"Bearer {token}"}
        async with sim.client.ws_connect(path, headers=headers) as ws:
            hello = await ws.receive_json()
            assert hello["data"]["role"] == ROLE[caller]
    else:
        got, answer = await call(sim, method, path, token, body)
        assert got == status, answer


def all_routes(app: web.Application) -> set[tuple[str, str, str | None]]:
    """(method, canonical path, least role its handler declares, None: public) of every
    route; HEAD counts as the GET it mirrors, so a HEAD with another role shows up as an
    extra row."""
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        method = "GET" if route.method == "HEAD" else route.method
        found.add((method, path, getattr(route.handler, "min_role", None)))
    return found


def api_routes(app: web.Application) -> set[tuple[str, str, str | None]]:
    return {r for r in all_routes(app) if r[1].startswith("/api")}


def canonical(template: str) -> str:
    names = {
        "session": "id",
        "held": "id",
        "conversation": "id",
        "me": "agent_id",
        "flow": "flow_id",
        "message": "message_id",
        "peer": "id",
        "job": "name",
    }
    return template.format(**{k: f"{{{v}}}" for k, v in names.items()}, fresh="{phone_number}")


async def test_every_route_is_in_the_table(world: World) -> None:
    """The router's routes, all of them (webhooks, health, metrics, dashboard and media
    included), are exactly the tables': each /api route declaring the role of ROUTES, each
    public one (PUBLIC) declaring none."""
    table = {(m, canonical(t), least) for m, t, _, least, _ in ROUTES}
    table |= {(m, path, None) for m, path, _ in PUBLIC}
    routes = all_routes(world.sim.client.app)
    assert routes == table
    public_api = {(m, p) for m, p, role in routes if p.startswith("/api") and role is None}
    assert public_api == set(PUBLIC_API), "every /api route but the API's description has a role"


def documented_roles() -> set[tuple[str, str, str]]:
    """(method, path with its placeholders as {}, role) of each row of docs/api.md's route
    tables (`| `METHOD /path` | role | ...`)."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()
    rows = re.findall(r"^\| `(GET|POST|PUT|PATCH|DELETE) ([^`? ]+)[^`]*` \| (\w+) \|", text, re.M)
    return {(m, PLACEHOLDER.sub("{}", path), role) for m, path, role in rows}


async def test_the_documented_role_of_every_route_is_its_role(world: World) -> None:
    """docs/api.md names every route with the least role it has ("none": public), and no
    route the router does not have."""
    routes = {
        (m, PLACEHOLDER.sub("{}", path), role or "none")
        for m, path, role in all_routes(world.sim.client.app)
    }
    documented = documented_roles()
    assert routes - documented == set(), "routes docs/api.md does not give a role"
    assert documented - routes == set(), "docs/api.md rows the router does not have"


async def test_public_routes_answer_without_a_token(world: World) -> None:
    """Each public route answers a caller with no token, or a wrong one, as it does (never
    401 for want of a bearer token)."""
    sim = world.sim
    raw = json.dumps(cloud_text(FRESH, "hi", wamid=sim.next_id(), ts=sim.ts())).encode()
    calls: dict[tuple[str, str], dict[str, Any]] = {
        ("GET", "/webhooks/whatsapp"): {
            "params": {
                "hub.mode": "subscribe",
                "hub.verify_token": "verify-me",
                "hub.challenge": "42",
            },
        },
        ("POST", "/webhooks/whatsapp"): {
            "data": raw,
            "headers": {"X-Hub-Signature-256": sign(raw, APP_SECRET)},
        },
        ("POST", "/webhooks/wati"): {"json": {"eventType": "x"}},
    }
    for method, path, status in PUBLIC:
        for bearer in ({}, {"Authorization": "Bearer not-a-token"}):
            kw = dict(calls.get((method, path), {}))
            kw["headers"] = {**kw.get("headers", {}), **bearer}
            url = path.format(name="apidocs.js" if path.startswith("/api/docs") else "app.js")
            response = await sim.client.request(method, url, allow_redirects=False, **kw)
            assert response.status == status, (method, path, await response.text())
    await sim.settle()


async def test_token_forms(world: World) -> None:
    """Only `Bearer <token>` counts (any case); `?token=` only on the WebSocket."""
    sim, path = world.sim, f"{S}/waiting"
    for headers in (
        {"Authorization": f"Basic {ADMIN_TOKEN}"},
        {"Authorization": "Bearer "},
        {"Authorization": ADMIN_TOKEN},
        {"X-Token": ADMIN_TOKEN},
    ):
        response = await sim.client.get(path, headers=headers)
        assert response.status == 401
        assert_error(await response.json(), "unauthorized")
    response = await sim.client.get(path, params={"token": ADMIN_TOKEN})
    assert response.status == 401
    response = await sim.client.get(path, headers={"Authorization": f"bearer {ADMIN_TOKEN}"})
    assert response.status == 200
    agent = world.ops["agent"]
    async with sim.client.ws_connect("/api/agent/ws", params={"token": agent.token}) as ws:
        assert (await ws.receive_json())["data"] == {"operator_id": agent.id, "role": "agent"}
    response = await sim.client.get("/api/agent/ws", params={"token": "not-a-token"})
    assert response.status == 401
    response = await sim.client.head(path)
    assert response.status == 401


class Team:
    """Agents Ana and Ben, supervisor Sue; sessions: waiting, held by Ana, handled last by
    Ana (she ended it), held by Ben."""

    def __init__(self, world: World, ben: Operator, ids: dict[str, str]) -> None:
        self.sim, self.ana, self.ben = world.sim, world.ops["agent"], ben
        self.sue = world.ops["supervisor"]
        self.ids = ids


async def open_chat(sim: Sim, phone: str, holder: Operator | None = None) -> str:
    await sim.customer_taps(phone, "AGENT_MODE", "Talk to Expert")
    session_id: str = (await session_of(sim, phone))["id"]
    if holder is not None:
        await holder.api("POST", f"{S}/{session_id}/assign", body={})
    return session_id


@pytest.fixture
async def team(world: World) -> Team:
    sim, ana = world.sim, world.ops["agent"]
    ben = await make_operator(sim, "Ben", "agent")
    last = await open_chat(sim, "447700900103", ana)
    await ana.api("POST", f"{S}/{last}/end", body={})
    ids = {
        "waiting": world.session["id"],
        "held": await open_chat(sim, "447700900102", ana),
        "last": last,
        "other": await open_chat(sim, "447700900104", ben),
    }
    return Team(world, ben, ids)


async def test_agents_read_only_sessions_they_may_see(team: Team) -> None:
    """Agents read sessions they hold, handled last, or that wait (else 403); supervisors all."""
    sees = {
        team.ana: {"waiting", "held", "last"},
        team.ben: {"waiting", "other"},
        team.sue: set(team.ids),
    }
    for who, allowed in sees.items():
        for name, session_id in team.ids.items():
            for path in (f"{S}/{session_id}", f"{S}/{session_id}/messages"):
                expect = 200 if name in allowed else 403
                answer = await who.api("GET", path, expect=expect)
                if expect == 403:
                    assert_error(answer, "forbidden")


async def test_my_chats_only_for_oneself(team: Team) -> None:
    """An agent lists its own chats only (403 for another's id); a supervisor any agent's."""
    mine = await team.ana.api("GET", f"{S}/my-chats/{team.ana.id}")
    assert [s["id"] for s in mine["items"]] == [team.ids["held"]]
    denied = await team.ana.api("GET", f"{S}/my-chats/{team.ben.id}", expect=403)
    assert_error(denied, "forbidden")
    assert denied["error"]["field"] == "agent_id"
    theirs = await team.sue.api("GET", f"{S}/my-chats/{team.ben.id}")
    assert [s["id"] for s in theirs["items"]] == [team.ids["other"]]


async def test_agents_assign_only_themselves(team: Team) -> None:
    """An agent naming another agent_id gets 403; a supervisor may assign anyone."""
    path = f"{S}/{team.ids['waiting']}/assign"
    for agent_id in (team.ben.id, team.sue.id, "op_nobody"):
        denied = await team.ana.api("POST", path, body={"agent_id": agent_id}, expect=403)
        assert_error(denied, "forbidden")
    cleo = await make_operator(team.sim, "Cleo", "agent")
    done = await team.sue.api("POST", path, body={"agent_id": cleo.id})
    assert (done["agent_id"], done["chat_state"]) == (cleo.id, "assigned")


async def test_only_the_holder_or_a_supervisor_changes_a_held_session(team: Team) -> None:
    """Another agent's release, reply or end is 409 not_held; a supervisor's goes through."""
    held = team.ids["held"]
    for action, body in (("release", {}), ("messages", {"text": "Hi"}), ("end", {})):
        refused = await team.ben.api("POST", f"{S}/{held}/{action}", body=body, expect=409)
        assert_error(refused, "not_held")
    sent = await team.sue.reply(held, "A supervisor here")
    assert (sent["sender_type"], sent["sender_id"]) == ("agent", team.sue.id)
    released = await team.sue.api("POST", f"{S}/{held}/release", body={"reason": "reshuffle"})
    assert (released["chat_state"], released["agent_id"]) == ("waiting_assignment", None)
    ended = await team.sue.api("POST", f"{S}/{team.ids['other']}/end", body={})
    assert (ended["status"], ended["end_reason"]) == ("ended", "supervisor")


async def test_history_is_limited_to_the_agents_own_sessions(team: Team) -> None:
    """An agent's history is its own sessions whatever agent_id it asks; a supervisor's, all."""

    async def history(who: Operator, query: str = "") -> set[str]:
        found = await who.api("GET", f"{S}/history{query}")
        return {s["id"] for s in found["items"]}

    ids = team.ids
    assert await history(team.ana) == {ids["held"], ids["last"]}
    assert await history(team.ana, f"?agent_id={team.ben.id}") == {ids["held"], ids["last"]}
    assert await history(team.ben) == {ids["other"]}
    assert await history(team.sue) == set(ids.values())
    assert await history(team.sue, f"?agent_id={team.ben.id}") == {ids["other"]}


async def test_an_agent_reads_a_session_it_handed_over_only_once_it_has_ended(
    team: Team,
) -> None:
    """A session Ana held before Cleo took it is neither in Ana's history nor readable by
    her while Cleo holds it; once it has ended, it is both."""
    held = team.ids["held"]
    await team.sue.api("POST", f"{S}/{held}/release", body={})
    cleo = await make_operator(team.sim, "Cleo")
    await cleo.api("POST", f"{S}/{held}/assign", body={})
    found = await team.ana.api("GET", f"{S}/history")
    assert held not in {s["id"] for s in found["items"]}
    await team.ana.api("GET", f"{S}/{held}", expect=403)
    await cleo.api("POST", f"{S}/{held}/end", body={})
    found = await team.ana.api("GET", f"{S}/history")
    assert held in {s["id"] for s in found["items"]}
    await team.ana.api("GET", f"{S}/{held}", expect=200)


async def test_a_refused_agent_learns_nothing_of_a_session_it_may_not_read(team: Team) -> None:
    """Cleo's refused assign / reply on Ana's session carries no copy of that session."""
    held, cleo = team.ids["held"], await make_operator(team.sim, "Cleo", "agent")
    await cleo.api("GET", f"{S}/{held}", expect=403)
    taken = await cleo.api("POST", f"{S}/{held}/assign", body={}, expect=409)
    refused = await cleo.api("POST", f"{S}/{held}/messages", body={"text": "x"}, expect=409)
    assert_error(taken, "held_by_other")
    assert_error(refused, "not_held")
    assert "session" not in taken and "session" not in refused
