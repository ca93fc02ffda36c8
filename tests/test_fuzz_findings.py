"""What tests/test_openapi_fuzz.py found, each pinned as a plain test: the request it sent,
and the answer it should have had."""

from __future__ import annotations

from tests.sim import Sim

PHONE = "447700900123"


async def test_a_retention_longer_than_the_calendar_keeps_everything(sim: Sim) -> None:
    """`archive_retention_days: 6.4e16` was a 500 (the date before year 1); now nothing is
    old enough to go."""
    for key in ("archive_retention_days", "delete_archives_older_than_days"):
        config = {key: 6.414783801936937e16, "inbox_retention_days": 1e300, "dry_run": True}
        done = await sim.api("POST", "/api/database/cleanup", body={"config": config})
        assert (done["deleted_archives"], done["inbox_removed"]) == (0, 0)
    ran = await sim.api("POST", "/api/jobs/cleanup/run", body={"archive_retention_days": 1e17})
    assert ran["last_error"] is None


async def test_a_negative_retention_is_refused_naming_the_field(sim: Sim) -> None:
    body = {"config": {"inbox_retention_days": -1}}
    refused = await sim.api("POST", "/api/database/cleanup", body=body, expect=400)
    assert refused["error"]["field"] == "config.inbox_retention_days"


async def test_offset_pages_a_conversations_messages_without_a_limit(sim: Sim) -> None:
    """`?offset=` was ignored (and `?offset=false` taken) when `limit` was not given."""
    for text in ("one", "two", "three"):
        await sim.customer_says(PHONE, text)
    conversation = await sim.conversation(PHONE)
    path = f"/api/conversations/{conversation['id']}/messages"
    every = await sim.api("GET", path)
    later = await sim.api("GET", f"{path}?offset=2")
    assert later["items"] == every["items"][2:] and later["offset"] == 2
    refused = await sim.api("GET", f"{path}?offset=false", expect=400)
    assert refused["error"]["field"] == "offset"
