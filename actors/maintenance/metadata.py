"""The metadata job (seed 002): new customer messages get a sentiment, a category and tags;
conversations active since the last run get a summary (`auto_analyze`), from the
configured analyzer (offline lexicons by default)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from actors.jobs.scheduler import JobRun
from actors.maintenance.analysis import Analysis, AnalysisError
from actors.maintenance.context import Maintenance, log
from storage.rows import MetadataChange

SUMMARY_MESSAGES = 200  # the last messages a summary reads


def message_change(analysis: Analysis) -> MetadataChange:
    return MetadataChange(
        tags=analysis.tags,
        category=analysis.category,
        sentiment=analysis.sentiment,
        metadata={"analyzer": analysis.analyzer},
    )


async def metadata_job(m: Maintenance, run: JobRun) -> dict[str, Any]:
    """`params`: `since` (ISO time: conversations active since then; default the previous
    run), `messages`/`conversations` (false to skip a part)."""
    settings = m.settings.metadata
    result: dict[str, Any] = {"messages_analyzed": 0, "conversations_summarized": 0, "errors": 0}
    if run.params.get("messages", settings.analyze_messages):
        after = 0
        while batch := await m.store.unanalyzed_messages(after, settings.batch):
            for message in batch:
                after = int(message.id)
                try:
                    analysis = await m.analyzer.analyze(message.text or "")
                except AnalysisError as exc:
                    result["errors"] += 1
                    log.warning("analysis_failed", message_id=message.id, reason=str(exc))
                    continue
                if await m.store.merge_message_metadata(message.id, message_change(analysis)):
                    result["messages_analyzed"] += 1
                    m.stats.metadata_updates += 1
    if run.params.get("conversations", settings.auto_analyze):
        since = _since(run.params.get("since")) or run.previous_run_at
        result["conversations_summarized"], failed = await summarize_active(m, since)
        result["errors"] += failed
    return result


def _since(value: object) -> datetime | None:
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if isinstance(value, datetime) else None


async def summarize_active(m: Maintenance, since: datetime | None) -> tuple[int, int]:
    """A summary of each conversation with activity since `since` (all when None)."""
    done = failed = 0
    after = ""
    while page := await m.store.conversation_refs(after, m.settings.metadata.batch):
        after = page[-1].id
        for ref in page:
            if ref.archived or (since is not None and (ref.last_activity_at or since) <= since):
                continue
            ok = await summarize(m, ref.id)
            done, failed = done + int(ok), failed + int(not ok)
    return done, failed


async def summarize(m: Maintenance, conversation_id: str) -> bool:
    total = (await m.store.messages(conversation_id, 1, 0))[1]
    found, _ = await m.store.messages(
        conversation_id, SUMMARY_MESSAGES, max(0, total - SUMMARY_MESSAGES)
    )
    texts = [msg.text for msg in found if msg.text and msg.sender_type == "customer"]
    if not texts:
        return False
    try:
        analysis = await m.analyzer.summarize(texts)
    except AnalysisError as exc:
        log.warning("summary_failed", conversation_id=conversation_id, reason=str(exc))
        return False
    change = MetadataChange(
        tags=analysis.tags,
        category=analysis.category,
        sentiment=analysis.sentiment,
        metadata={
            "summary": analysis.summary,
            "analyzer": analysis.analyzer,
            "analyzed_at": m.clock.now().isoformat(),
        },
    )
    await m.store.merge_conversation_metadata(conversation_id, change)
    m.stats.metadata_updates += 1
    return True
