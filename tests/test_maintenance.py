"""Seed 002 through the API, under freezegun: archive and its exact restore, each archive
criterion, an archived conversation a customer writes to, retention, statistics, status
batches, metadata, analysis, the jobs at their cron times (and after a restart)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from actors.maintenance.settings import ArchiveSettings, JobSettings
from tests.conftest import MakeSim
from tests.sim import BUSINESS, Sim, cloud_envelope, make_operator, settings_for

DANA = "447700900123"
OMAR = "971500000009"
DRY_RUN = {"config": {"archive_retention_days": 365, "dry_run": True}}


async def chat(sim: Sim, phone: str = DANA) -> str:
    """A conversation with a text, a location, a reaction, an agent's reply and statuses."""
    await sim.customer_says(phone, "hi")
    wamid = sim.next_id()
    location = {"latitude": 51.5, "longitude": -0.12, "name": "County Hall"}
    message = {"from": phone, "id": wamid, "timestamp": str(sim.ts()), "type": "location",
               "location": location}  # fmt: skip
    contacts = [{"profile": {"name": "Dana"}, "wa_id": phone}]
    await sim.post_cloud(cloud_envelope(BUSINESS, contacts, [message]))
    reaction = {"from": phone, "id": sim.next_id(), "timestamp": str(sim.ts()),
                "type": "reaction", "reaction": {"message_id": wamid, "emoji": "👍"}}  # fmt: skip
    await sim.post_cloud(cloud_envelope(BUSINESS, contacts, [reaction]))
    return str((await sim.conversation(phone))["id"])


async def messages(sim: Sim, cid: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await sim.api("GET", f"/api/conversations/{cid}/messages"))[
        "items"
    ]
    return found


async def test_archive_and_unarchive_restore_every_field(sim: Sim) -> None:
    cid = await chat(sim)
    before = await messages(sim, cid)
    assert len(before) >= 3 and any(m["reactions"] for m in before)
    done = await sim.api("POST", "/api/conversations/archive",
                         body={"chat_ids": [cid, "c_nobody"], "reason": "Completed"})  # fmt: skip
    assert (done["archived"], done["messages"]) == (1, len(before))
    assert done["skipped"] == [{"chat_id": "c_nobody", "reason": "not_found"}]
    assert await messages(sim, cid) == []
    listed = await sim.api("GET", "/api/conversations/archives?page=1&limit=50")
    [item] = listed["items"]
    assert (item["conversation_id"], item["archive_reason"], item["message_count"]) == (
        cid, "Completed", len(before),
    )  # fmt: skip
    assert item["compressed"] is True and listed["page"] == 1
    conversation = await sim.api("GET", f"/api/conversations/{cid}")
    assert conversation["archived_at"] is not None
    again = await sim.api("POST", "/api/conversations/archive", body={"chat_ids": [cid]})
    assert again["archived"] == 0, "archived once"

    back = await sim.api("POST", "/api/conversations/unarchive", body={"chat_id": cid})
    assert back == {"chat_id": cid, "unarchived": True, "restored": len(before)}
    assert await messages(sim, cid) == before, "every message, field by field"
    assert (await sim.api("GET", f"/api/conversations/{cid}"))["archived_at"] is None
    refused = await sim.api("POST", "/api/conversations/unarchive", body={"chat_id": cid},
                            expect=409)  # fmt: skip
    assert refused["error"]["code"] == "not_archived"


async def test_a_customer_message_unarchives_first(sim: Sim) -> None:
    cid = await chat(sim)
    before = await messages(sim, cid)
    await sim.api("POST", "/api/conversations/archive", body={"chat_ids": [cid]})
    await sim.customer_says(DANA, "I am back")
    after = await messages(sim, cid)
    assert after[: len(before)] == before
    assert [m["text"] for m in after[len(before) :]][:1] == ["I am back"]
    journey = await sim.journey(DANA)
    assert ("conversation", "unarchived") in journey


async def test_an_open_session_is_not_archived(sim: Sim) -> None:
    await sim.customer_taps(DANA, "AGENT_MODE", "Talk to Expert")
    cid = (await sim.conversation(DANA))["id"]
    done = await sim.api("POST", "/api/conversations/archive", body={"chat_ids": [cid]})
    assert done["archived"] == 0
    assert done["skipped"] == [{"chat_id": cid, "reason": "session_open"}]


async def test_each_criterion_at_the_nightly_run(make_sim: MakeSim, db_path: Any) -> None:
    """At 03:00: inactive for 60 days, older than its own 5 days, and closed conversations go;
    a fresh one stays."""
    archive = ArchiveSettings(after_days=90, inactive_after_days=60, completed=True)
    sim = await make_sim(settings_for(db_path, archive=archive))
    idle = await chat(sim, DANA)
    await sim.advance(timedelta(days=61))
    own = await chat(sim, OMAR)
    await sim.api("POST", f"/api/conversations/{own}/metadata",
                  body={"auto_archive_after_days": 5})  # fmt: skip
    fresh = await chat(sim, "447700900999")
    await sim.advance(timedelta(days=1))
    assert (await sim.api("GET", f"/api/conversations/{idle}"))["archived_at"] is not None
    assert (await sim.api("GET", f"/api/conversations/{own}"))["archived_at"] is None
    await sim.advance(timedelta(days=5))
    assert (await sim.api("GET", f"/api/conversations/{own}"))["archived_at"] is not None
    assert (await sim.api("GET", f"/api/conversations/{fresh}"))["archived_at"] is None
    jobs = {j["name"]: j for j in (await sim.api("GET", "/api/jobs"))["items"]}
    assert jobs["archive"]["last_result"]["archived"] >= 1
    reasons = {i["conversation_id"]: i["archive_reason"] for i in
               (await sim.api("GET", "/api/conversations/archives"))["items"]}  # fmt: skip
    assert reasons == {idle: "inactivity", own: "age"}


async def test_a_closed_conversation_is_archived_as_completed(
    make_sim: MakeSim, db_path: Any
) -> None:
    from actors.flows.model import TimeoutSettings

    timeouts = TimeoutSettings(inactivity_minutes=30, action="close")
    sim = await make_sim(settings_for(db_path, timeouts=timeouts))
    cid = await chat(sim)
    await sim.advance(timedelta(minutes=31))
    assert (await sim.conversation(DANA))["status"] == "closed"
    await sim.api("POST", "/api/jobs/archive/run")
    [item] = (await sim.api("GET", "/api/conversations/archives"))["items"]
    assert (item["conversation_id"], item["archive_reason"]) == (cid, "completed")


async def test_retention_removes_old_archives_and_a_dry_run_only_counts(
    make_sim: MakeSim, db_path: Any
) -> None:
    """By hand (the nightly cleanup is off here, else it would take the archive first)."""
    sim = await make_sim(settings_for(db_path, jobs=JobSettings(cleanup="", archive="")))
    cid = await chat(sim)
    await sim.api("POST", "/api/conversations/archive", body={"chat_ids": [cid]})
    stats = await sim.api("GET", "/api/database/stats")
    assert stats["tables"]["message_archives"] == 1 and stats["archive_bytes"] > 0
    await sim.advance(timedelta(days=300))
    dry = await sim.api("POST", "/api/database/cleanup", body=DRY_RUN)
    assert dry["deleted_archives"] == 0
    await sim.advance(timedelta(days=66))
    dry = await sim.api("POST", "/api/database/cleanup", body=DRY_RUN)
    assert (dry["dry_run"], dry["deleted_archives"]) == (True, 1)
    assert (await sim.api("GET", "/api/database/stats"))["tables"]["message_archives"] == 1
    config = {"delete_archives_older_than_days": 365, "optimize_tables": True}
    done = await sim.api("POST", "/api/database/cleanup", body={"config": config})
    assert done["deleted_archives"] == 1 and done["tables_optimized"] is True
    assert done["archive_bytes"] > 0 and "space_freed_mb" in done
    assert (await sim.api("GET", "/api/database/stats"))["tables"]["message_archives"] == 0


async def test_the_nightly_cleanup_keeps_fresh_inbox_rows(sim: Sim) -> None:
    await sim.customer_says(DANA, "hi")
    inbox = (await sim.api("GET", "/api/database/stats"))["tables"]["inbox"]
    await sim.advance(timedelta(days=2))
    jobs = {j["name"]: j for j in (await sim.api("GET", "/api/jobs"))["items"]}
    assert jobs["cleanup"]["runs"] == 2 and jobs["cleanup"]["last_error"] is None
    assert (await sim.api("GET", "/api/database/stats"))["tables"]["inbox"] == inbox
    await sim.advance(timedelta(days=30))
    assert (await sim.api("GET", "/api/database/stats"))["tables"]["inbox"] == 0


async def test_status_batches(sim: Sim) -> None:
    agent = await make_operator(sim, "Noa")
    await sim.customer_taps(DANA, "AGENT_MODE", "Talk to Expert")
    session = await agent.next()
    sent = await agent.reply(session["id"], "hello")
    await sim.customer_says(DANA, "thanks")
    cid = session["conversation_id"]
    unread = (await sim.api("GET", f"/api/conversations/{cid}"))["unread_count"]
    inbound = [m for m in await messages(sim, cid) if m["sender_type"] == "customer"][-1]
    answer = await sim.api("POST", "/api/messages/status", body={"updates": [
        {"message_id": inbound["id"], "changes": {"read": True, "processed": True}},
        {"message_id": sent["id"], "changes": {"delivery_status": "read"}},
        {"message_id": sent["id"], "changes": {"delivery_status": "lost"}},
        {"message_id": "999999", "changes": {"read": True}},
    ]})  # fmt: skip
    assert answer["updated_count"] == 2
    assert [f["message_id"] for f in answer["failed"]] == [sent["id"], "999999"]
    shown = {m["id"]: m for m in await messages(sim, cid)}
    assert shown[sent["id"]]["status"] == "read"
    assert shown[inbound["id"]]["read_at"] is not None
    assert (await sim.api("GET", f"/api/conversations/{cid}"))["unread_count"] == unread - 1
    bad = await sim.api("POST", "/api/messages/status", body={"updates": "x"}, expect=400)
    assert bad["error"]["field"] == "updates"


async def test_metadata_merges_and_tag_listing(sim: Sim) -> None:
    cid = await chat(sim)
    body = {"tags": ["VIP", "refund"], "category": "sales", "region": "uk"}
    first = await sim.api("POST", f"/api/conversations/{cid}/metadata", body=body)
    assert (first["tags"], first["category"], first["metadata"]) == (
        ["refund", "vip"], "sales", {"region": "uk"},
    )  # fmt: skip
    body = {"remove_tags": ["refund"], "metadata": {"region": None}}
    second = await sim.api("POST", f"/api/conversations/{cid}/metadata", body=body)
    assert (second["tags"], second["metadata"]) == (["vip"], {})
    listed = await sim.api("GET", "/api/conversations?tag=vip")
    assert [c["id"] for c in listed["items"]] == [cid]
    [message, *_] = await messages(sim, cid)
    merged = await sim.api("POST", f"/api/messages/{message['id']}/metadata",
                           body={"tags": ["urgent"], "category": "booking",
                                 "custom_field": "value"})  # fmt: skip
    assert (merged["tags"], merged["category"], merged["metadata"]) == (
        ["urgent"], "booking", {"custom_field": "value"},
    )  # fmt: skip
    await sim.api("POST", "/api/messages/424242/metadata", body={"tags": ["x"]}, expect=404)
    bad = await sim.api("POST", f"/api/messages/{message['id']}/metadata",
                        body={"sentiment": "angry"}, expect=400)  # fmt: skip
    assert bad["error"]["field"] == "sentiment"


async def test_analyze_fills_sentiment_category_and_tags(sim: Sim) -> None:
    await sim.customer_says(DANA, "my order never arrived, I want a refund")
    cid = (await sim.conversation(DANA))["id"]
    [message, *_] = await messages(sim, cid)
    analysis = await sim.api("POST", f"/api/messages/{message['id']}/analyze")
    assert analysis["sentiment"] == "negative"
    assert analysis["category"] == "complaint"
    assert "refund" in analysis["tags"]
    assert analysis["analyzer"] == "offline"


async def test_the_weekly_metadata_job_analyses_and_summarises(sim: Sim) -> None:
    await sim.customer_says(DANA, "great service, thank you")
    await sim.customer_says(OMAR, "quero marcar uma consulta amanhã")
    result = (await sim.api("POST", "/api/jobs/metadata/run"))["last_result"]
    assert result["messages_analyzed"] >= 2 and result["conversations_summarized"] == 2
    dana = await sim.conversation(DANA)
    assert dana["metadata"]["sentiment"] == "positive" and dana["metadata"]["summary"]
    omar = await sim.conversation(OMAR)
    assert omar["category"] == "appointment"


async def test_jobs_fire_at_their_cron_time_and_after_a_restart(
    make_sim: MakeSim, db_path: Any
) -> None:
    """The clock starts at 09:00 on a Saturday: cleanup next at 02:00, archive at 03:00,
    sync at 09:30, metadata on Sunday 04:00. Down across a cleanup time, it runs once at
    start."""
    sim = await make_sim()
    jobs = {j["name"]: j for j in (await sim.api("GET", "/api/jobs"))["items"]}
    assert jobs["cleanup"]["next_run_at"] == "2026-11-22T02:00:00Z"
    assert jobs["archive"]["next_run_at"] == "2026-11-22T03:00:00Z"
    assert jobs["sync"]["next_run_at"] is None, "no history source under the console provider"
    assert jobs["metadata"]["next_run_at"] == "2026-11-22T04:00:00Z"
    schedules = {j["schedule"] for j in jobs.values()}
    assert schedules == {"0 2 * * *", "0 3 * * *", "", "0 4 * * sun"}
    await sim.advance(timedelta(hours=17))  # to 02:00
    cleanup = {j["name"]: j for j in (await sim.api("GET", "/api/jobs"))["items"]}["cleanup"]
    assert (cleanup["runs"], cleanup["last_run_at"]) == (1, "2026-11-22T02:00:00Z")
    assert cleanup["next_run_at"] == "2026-11-23T02:00:00Z"
    await sim.client.close()
    sim.frozen.tick(timedelta(days=1, hours=1))  # down from 02:00 to 03:00 the next day

    again = await make_sim()
    await again.settle()
    cleanup = {j["name"]: j for j in (await again.api("GET", "/api/jobs"))["items"]}["cleanup"]
    assert cleanup["runs"] == 2, "the missed run, once"
    assert cleanup["next_run_at"] == "2026-11-24T02:00:00Z"


async def test_a_job_off_and_a_time_zone(make_sim: MakeSim, db_path: Any) -> None:
    jobs = JobSettings(timezone="America/Sao_Paulo", sync="", cleanup="0 2 * * *")
    sim = await make_sim(settings_for(db_path, jobs=jobs))
    found = {j["name"]: j for j in (await sim.api("GET", "/api/jobs"))["items"]}
    assert found["sync"]["next_run_at"] is None
    assert found["cleanup"]["next_run_at"] == "2026-11-22T05:00:00Z", "02:00 in São Paulo"
    assert found["cleanup"]["timezone"] == "America/Sao_Paulo"


async def test_running_a_job_by_hand(sim: Sim) -> None:
    ran = await sim.api("POST", "/api/jobs/cleanup/run", body={"dry_run": True})
    assert ran["runs"] == 1 and ran["last_result"]["dry_run"] is True
    missing = await sim.api("POST", "/api/jobs/nope/run", expect=404)
    assert missing["error"]["field"] == "name"


async def test_alerts_are_listed_by_healthz(sim: Sim) -> None:
    sim.runtime.maintenance_stats.alert("database_size", "the database is too large")
    health = await sim.api("GET", "/healthz", token=None)
    assert health["alerts"] == [{"alert": "database_size", "message": "the database is too large"}]
