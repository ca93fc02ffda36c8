"""The loaded bot flows (`GET /api/flows`, `GET /api/flows/{id}`): each with its nodes, the
timeout keys its file sets, and the timeouts in force once every layer is applied (the
global `[timeouts]`, and the business number's with `?number=<phone_number_id>`)."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from actors.conversation.policy import Policy
from actors.flows.model import Flow, QuestionNode
from actors.flows.timeouts import resolve
from gateway.auth import requires
from gateway.context import gateway_of
from gateway.errors import ApiError
from gateway.jsonio import json_response


def _set(struct: msgspec.Struct) -> dict[str, Any]:
    """The keys a layer names (None is "not set here")."""
    return {k: v for k, v in msgspec.to_builtins(struct).items() if v is not None}


def flow_view(flow: Flow, policy: Policy) -> dict[str, Any]:
    def in_force(node: QuestionNode | None) -> dict[str, Any]:
        rules = resolve(node, flow.timeouts, policy.number_timeouts, policy.timeouts)
        return _set(rules)

    nodes = []
    for name, node in flow.nodes.items():
        item = {"id": name, **msgspec.to_builtins(node)}
        if isinstance(node, QuestionNode):
            item["timeouts_in_force"] = in_force(node)
        nodes.append(item)
    return {
        "id": flow.id,
        "description": flow.description,
        "start": flow.start,
        "default": flow.id == policy.flows.default,
        "nodes": nodes,
        "timeouts": _set(flow.timeouts),
        "timeouts_in_force": in_force(None),
    }


def _policy(request: web.Request) -> Policy:
    return gateway_of(request).runtime.policy_for(request.query.get("number", ""))


@requires("agent")
async def list_flows(request: web.Request) -> web.Response:
    policy = _policy(request)
    items = [flow_view(flow, policy) for flow in policy.flows.flows.values()]
    return json_response({"items": items, "default": policy.flows.default})


@requires("agent")
async def get_flow(request: web.Request) -> web.Response:
    policy = _policy(request)
    flow = policy.flows.get(request.match_info["flow_id"])
    if flow is None:
        raise ApiError(404, "not_found", "no flow with this id is loaded", "flow_id")
    return json_response(flow_view(flow, policy))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/flows", list_flows)
    app.router.add_get("/api/flows/{flow_id}", get_flow)
