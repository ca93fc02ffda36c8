"""Seed 002's maintenance over HTTP (API.md, "Maintenance"): archive and unarchive, sync,
cleanup, statistics, message status and metadata, analysis, and the scheduled jobs. The work
itself is the maintenance jobs' (actors/maintenance/); these routes run one, or read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from aiohttp import web

from actors.conversation.maintenance import ArchiveAnswer
from actors.conversation.messages import MessagesRead, Unarchive
from actors.jobs.scheduler import JobRun, JobRunning, UnknownJob
from actors.maintenance.analysis import AnalysisError
from actors.maintenance.archiving import archive_job
from actors.maintenance.metadata import message_change
from actors.maintenance.retention import cleanup_job
from actors.maintenance.syncing import sync_job
from gateway.auth import principal_of, requires
from gateway.context import gateway_of
from gateway.errors import ApiError
from gateway.jsonio import json_response, read_json
from gateway.lookups import conversation_or_404
from gateway.paging import int_param, page, paging
from storage.rows import MessageStatusChange, MetadataChange

MAX_BATCH = 1000
DELIVERY = frozenset({"sent", "delivered", "read", "failed"})


class ArchiveBody(msgspec.Struct, forbid_unknown_fields=True):
    chat_ids: list[str]
    reason: str = "manual"
    compress: bool | None = None


class UnarchiveBody(msgspec.Struct, forbid_unknown_fields=True):
    chat_id: str


class SyncBody(msgspec.Struct, forbid_unknown_fields=True):
    chat_id: str | None = None
    mode: Literal["incremental", "full"] = "incremental"


Days = Annotated[float, msgspec.Meta(ge=0)]


class CleanupConfig(msgspec.Struct, forbid_unknown_fields=True):
    archive_retention_days: Days | None = None
    delete_archives_older_than_days: Days | None = None  # seed 002's name for the same
    inbox_retention_days: Days | None = None
    remove_orphans: bool | None = None
    optimize_tables: bool | None = None
    dry_run: bool = False


class CleanupBody(msgspec.Struct, forbid_unknown_fields=True):
    config: CleanupConfig = msgspec.field(default_factory=CleanupConfig)


class StatusChanges(msgspec.Struct, forbid_unknown_fields=True):
    read: bool | None = None
    processed: bool | None = None
    delivery_status: str | None = None


class StatusUpdate(msgspec.Struct, forbid_unknown_fields=True):
    message_id: str
    changes: StatusChanges


class StatusBody(msgspec.Struct, forbid_unknown_fields=True):
    updates: list[StatusUpdate]


def _run(name: str, request: web.Request, params: dict[str, Any]) -> JobRun:
    now = gateway_of(request).runtime.clock.now()
    return JobRun(name, "api", now, params)


@requires("supervisor")
async def archive(request: web.Request) -> web.Response:
    body = await read_json(request, ArchiveBody)
    if not body.chat_ids or len(body.chat_ids) > MAX_BATCH:
        raise ApiError(400, "invalid_body", f"chat_ids: 1 to {MAX_BATCH} ids", "chat_ids")
    runtime = gateway_of(request).runtime
    params: dict[str, Any] = {"chat_ids": body.chat_ids, "reason": body.reason[:200] or "manual"}
    if body.compress is not None:
        params["compress"] = body.compress
    known = [cid for cid in body.chat_ids if await runtime.store.conversation(cid, _now(request))]
    missing = [{"chat_id": cid, "reason": "not_found"} for cid in body.chat_ids if cid not in known]
    run = _run("archive", request, {**params, "chat_ids": known})
    result = await archive_job(runtime.maintenance, run)
    result["skipped"] = missing + result["skipped"]
    return json_response(result)


def _now(request: web.Request) -> datetime:
    return gateway_of(request).runtime.clock.now()


@requires("supervisor")
async def archives(request: web.Request) -> web.Response:
    """Paged by `page` (from 1) and `limit`, as seed 002 asks."""
    limit = int_param(request, "limit", 50, 1, 500)
    number = int_param(request, "page", 1, 1, 2**31)
    found, total = await gateway_of(request).runtime.store.archives(limit, (number - 1) * limit)
    return json_response({**page(found, total, limit, (number - 1) * limit), "page": number})


@requires("supervisor")
async def unarchive(request: web.Request) -> web.Response:
    body = await read_json(request, UnarchiveBody)
    runtime = gateway_of(request).runtime
    before = await runtime.store.conversation(body.chat_id, _now(request))
    if before is None:
        raise ApiError(404, "not_found", f"no conversation {body.chat_id}", "chat_id")
    answer: ArchiveAnswer = await runtime.ask(body.chat_id, Unarchive(principal_of(request).id))
    if not answer.changed:
        raise ApiError(409, answer.reason or "not_archived", "the conversation is not archived",
                       "chat_id")  # fmt: skip
    after = await runtime.store.conversation(body.chat_id, _now(request))
    restored = (after.message_count if after else 0) - before.message_count
    return json_response({"chat_id": body.chat_id, "unarchived": True, "restored": restored})


@requires("supervisor")
async def sync(request: web.Request) -> web.Response:
    body = await read_json(request, SyncBody)
    runtime = gateway_of(request).runtime
    chat = body.chat_id
    if chat is not None and await runtime.store.conversation(chat, _now(request)) is None:
        raise ApiError(404, "not_found", f"no conversation {body.chat_id}", "chat_id")
    params = {"chat_id": body.chat_id, "mode": body.mode}
    return json_response(await sync_job(runtime.maintenance, _run("sync", request, params)))


@requires("supervisor")
async def sync_status(request: web.Request) -> web.Response:
    limit, offset = paging(request)
    chat = request.query.get("chat_id") or None
    found, total = await gateway_of(request).runtime.store.sync_statuses(chat, limit, offset)
    return json_response(page(found, total, limit, offset))


@requires("admin")
async def cleanup(request: web.Request) -> web.Response:
    config = (await read_json(request, CleanupBody)).config
    params: dict[str, Any] = {"dry_run": config.dry_run}
    retention = config.archive_retention_days
    if retention is None:
        retention = config.delete_archives_older_than_days
    for key, value in (
        ("archive_retention_days", retention),
        ("inbox_retention_days", config.inbox_retention_days),
        ("remove_orphans", config.remove_orphans),
        ("optimize_tables", config.optimize_tables),
    ):
        if value is not None:
            params[key] = value
    runtime = gateway_of(request).runtime
    return json_response(await cleanup_job(runtime.maintenance, _run("cleanup", request, params)))


@requires("supervisor")
async def stats(request: web.Request) -> web.Response:
    return json_response(await gateway_of(request).runtime.store.database_stats())


@requires("supervisor")
async def message_status(request: web.Request) -> web.Response:
    body = await read_json(request, StatusBody)
    if len(body.updates) > MAX_BATCH:
        raise ApiError(400, "invalid_body", f"at most {MAX_BATCH} updates", "updates")
    failed: list[dict[str, str]] = []
    changes = []
    for i, update in enumerate(body.updates):
        status = update.changes.delivery_status
        if status is not None and status not in DELIVERY:
            failed.append({"message_id": update.message_id, "reason": f"delivery_status {status!r}"
                           f" is not one of {sorted(DELIVERY)} (updates[{i}])"})  # fmt: skip
            continue
        c = update.changes
        changes.append(MessageStatusChange(update.message_id, c.read, c.processed, status))
    runtime = gateway_of(request).runtime
    batch = await runtime.store.update_message_statuses(changes, _now(request))
    for conversation_id, count in batch.read.items():
        await runtime.ask(conversation_id, MessagesRead(count))
    failed += [{"message_id": mid, "reason": why} for mid, why in batch.failed]
    return json_response({"updated_count": len(batch.updated), "failed": failed})


class MetadataBody(msgspec.Struct, forbid_unknown_fields=True):
    tags: list[str] | None = None
    remove_tags: list[str] | None = None
    category: str | None = None
    sentiment: Literal["positive", "neutral", "negative", "mixed"] | None = None
    metadata: dict[str, Any] | None = None
    auto_archive_after_days: int | None = None


def _change(raw: bytes) -> MetadataChange:
    """Seed 002's body (`{tags, category, custom_field: ...}`): the known keys, and every
    other key a custom field."""
    try:
        data = msgspec.json.decode(raw or b"{}")
    except msgspec.DecodeError:
        raise ApiError(400, "invalid_json", "the body is not JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "the body is a JSON object", "body")
    known = {k: data.pop(k) for k in list(data) if k in MetadataBody.__struct_fields__}
    try:
        body = msgspec.convert(known, MetadataBody)
    except msgspec.ValidationError as exc:
        field = str(exc).rpartition("$.")[2].strip("`") or None
        raise ApiError(400, "invalid_body", str(exc), field) from None
    for i, tag in enumerate(body.tags or []):
        if not 0 < len(tag.strip()) <= 60:
            raise ApiError(400, "invalid_body", "a tag is 1 to 60 characters", f"tags[{i}]")
    days = body.auto_archive_after_days
    if days is not None and not 0 <= days <= 36500:
        raise ApiError(400, "invalid_body", "auto_archive_after_days: 0 to 36500",
                       "auto_archive_after_days")  # fmt: skip
    return MetadataChange(
        tags=[t.strip().lower() for t in body.tags] if body.tags else None,
        remove_tags=body.remove_tags,
        category=body.category,
        sentiment=body.sentiment,
        metadata={**data, **(body.metadata or {})} or None,
        auto_archive_after_days=days,
    )


@requires("supervisor")
async def message_metadata(request: web.Request) -> web.Response:
    change = _change(await request.read())
    message_id = request.match_info["message_id"]
    merged = await gateway_of(request).runtime.store.merge_message_metadata(message_id, change)
    if merged is None:
        raise ApiError(404, "not_found", f"no message {message_id}", "message_id")
    return json_response({"message_id": message_id, **msgspec.to_builtins(merged)})


@requires("supervisor")
async def conversation_metadata(request: web.Request) -> web.Response:
    conversation = await conversation_or_404(request)
    change = _change(await request.read())
    merged = await gateway_of(request).runtime.store.merge_conversation_metadata(
        conversation.id, change
    )
    assert merged is not None
    return json_response({"conversation_id": conversation.id, **msgspec.to_builtins(merged)})


@requires("supervisor")
async def analyze(request: web.Request) -> web.Response:
    runtime = gateway_of(request).runtime
    message_id = request.match_info["message_id"]
    message = await runtime.store.message(message_id)
    if message is None:
        raise ApiError(404, "not_found", f"no message {message_id}", "message_id")
    try:
        analysis = await runtime.analyzer.analyze(message.text or "")
    except AnalysisError as exc:
        raise ApiError(502, "analysis_failed", str(exc)) from None
    await runtime.store.merge_message_metadata(message_id, message_change(analysis))
    runtime.maintenance_stats.metadata_updates += 1
    return json_response({"message_id": message_id, **msgspec.to_builtins(analysis)})


@requires("supervisor")
async def jobs(request: web.Request) -> web.Response:
    found = gateway_of(request).runtime.jobs.infos()
    return json_response({"items": found, "total": len(found)})


@requires("admin")
async def run_job(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    raw = await request.read()
    try:
        params = msgspec.json.decode(raw) if raw.strip() else {}
    except msgspec.DecodeError:
        raise ApiError(400, "invalid_json", "the body is not JSON") from None
    if not isinstance(params, dict):
        raise ApiError(400, "invalid_body", "the body is a JSON object of the job's parameters")
    scheduler = gateway_of(request).runtime.jobs
    try:
        await scheduler.run_now(name, params)
    except UnknownJob:
        known = ", ".join(scheduler.names)
        raise ApiError(404, "not_found", f"no job {name} (jobs: {known})", "name") from None
    except JobRunning:
        raise ApiError(409, "job_running", f"the {name} job is running", "name") from None
    return json_response(scheduler.info(name))


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/conversations/archive", archive)
    r.add_get("/api/conversations/archives", archives)
    r.add_post("/api/conversations/unarchive", unarchive)
    r.add_post("/api/conversations/sync", sync)
    r.add_get("/api/conversations/sync-status", sync_status)
    r.add_post("/api/conversations/{id}/metadata", conversation_metadata)
    r.add_post("/api/database/cleanup", cleanup)
    r.add_get("/api/database/stats", stats)
    r.add_post("/api/messages/status", message_status)
    r.add_post("/api/messages/{message_id}/metadata", message_metadata)
    r.add_post("/api/messages/{message_id}/analyze", analyze)
    r.add_get("/api/jobs", jobs)
    r.add_post("/api/jobs/{name}/run", run_job)
