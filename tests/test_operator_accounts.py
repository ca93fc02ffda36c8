"""Operator accounts over HTTP: an admin renames, changes the role, deactivates and gives a
new token; each change counts from the operator's next request (nothing cached outlives it)."""

from __future__ import annotations

from tests.sim import Sim, make_operator


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
