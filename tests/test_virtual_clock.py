"""The virtual clock: time moves only through POST /api/admin/clock/advance, firing every
due deadline in order, and it resumes where it was after a restart."""

from __future__ import annotations

from pathlib import Path

from gateway.settings import ClockSettings
from tests.conftest import MakeSim
from tests.sim import hours, settings_for, utc

PHONE = "966509491382"


def virtual(db_path: Path) -> object:
    return settings_for(db_path, clock=ClockSettings(mode="virtual"))


async def test_advance_is_404_on_the_system_clock(make_sim: MakeSim) -> None:
    """In system mode the advance endpoint does not exist."""
    sim = await make_sim()
    clock = await sim.api("GET", "/api/admin/clock")
    assert clock["mode"] == "system"
    body = await sim.api("POST", "/api/admin/clock/advance", body={"seconds": 60}, expect=404)
    assert body["error"]["code"] == "not_found"


async def test_pause_expires_by_advancing_virtual_time(make_sim: MakeSim, db_path: Path) -> None:
    """A 10-hour pause runs out after advancing 10 virtual hours, in milliseconds."""
    sim = await make_sim(virtual(db_path))
    start = utc((await sim.api("GET", "/api/admin/clock"))["now"])
    await sim.agent_writes(PHONE, "taking over")
    await sim.api("POST", "/api/admin/clock/advance", body={"seconds": 9 * 3600})
    assert (await sim.conversation(PHONE))["paused"] is True
    answer = await sim.api("POST", "/api/admin/clock/advance", body={"seconds": 3600})
    assert utc(answer["now"]) == start + hours(10)
    assert (await sim.conversation(PHONE))["paused"] is False
    assert ("conversation_pause_expiry", "pause_expired") in await sim.journey(PHONE)


async def test_virtual_time_does_not_move_by_itself(make_sim: MakeSim, db_path: Path) -> None:
    """Wall time passing does not move the virtual clock."""
    sim = await make_sim(virtual(db_path))
    before = (await sim.api("GET", "/api/admin/clock"))["now"]
    sim.frozen.tick(hours(30))
    assert (await sim.api("GET", "/api/admin/clock"))["now"] == before


async def test_virtual_clock_resumes_after_restart(make_sim: MakeSim, db_path: Path) -> None:
    """The virtual now is stored: a restart continues from it, not from the real time."""
    first = await make_sim(virtual(db_path))
    answer = await first.api("POST", "/api/admin/clock/advance", body={"seconds": 5 * 86400})
    await first.client.close()
    second = await make_sim(virtual(db_path))
    assert (await second.api("GET", "/api/admin/clock"))["now"] == answer["now"]


async def test_advance_needs_admin_and_a_valid_body(make_sim: MakeSim, db_path: Path) -> None:
    """No token: 401; a negative or missing `seconds`: 400 naming it."""
    sim = await make_sim(virtual(db_path))
    await sim.api("POST", "/api/admin/clock/advance", body={"seconds": 1}, token=None, expect=401)
    for body in ({"seconds": -5}, {}, {"seconds": "x"}):
        error = await sim.api("POST", "/api/admin/clock/advance", body=body, expect=400)
        assert error["error"]["field"] == "seconds"
