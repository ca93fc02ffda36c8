"""`create_app(settings, ...)`: the whole gateway as one aiohttp application, no globals."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import structlog
from aiohttp import web

from actors.maintenance.analysis import AnalysisError
from actors.maintenance.history import HistorySource
from actors.outbox.outbound import OutboundProvider
from actors.runtime.clock import Clock
from actors.system import Runtime, RuntimeConfig
from gateway import (
    api_admin,
    api_conversations,
    api_dashboard,
    api_flows,
    api_maintenance,
    api_media,
    api_openapi,
    api_operators,
    api_pauses,
    api_sessions,
    realtime,
    webhooks,
)
from gateway.auth import AUTH_FAILURES, Authenticator, make_auth_middleware
from gateway.auth_failures import FailureLimiter
from gateway.context import GATEWAY, Gateway
from gateway.errors import RETRY_AFTER, error_middleware, query_middleware
from gateway.policies import build_policies
from gateway.providers.cloud import CloudProvider
from gateway.providers.console import ConsoleProvider
from gateway.providers.llm import analyzer_from
from gateway.providers.wati import WatiProvider
from gateway.providers.wati_history import WatiHistory
from gateway.settings import Secrets, Settings, SettingsError

log = structlog.get_logger("gateway")


def make_provider(settings: Settings, secrets: Secrets) -> OutboundProvider:
    if settings.whatsapp.provider == "cloud":
        return CloudProvider(
            base_url=settings.whatsapp.graph_api_base,
            phone_number_id=settings.whatsapp.phone_number_id,
            access_token=secrets.access_token,
            timeout_seconds=settings.outbox.request_timeout_seconds,
            connections=settings.outbox.concurrency,
        )
    if settings.whatsapp.provider == "wati":
        wati = settings.wati
        return WatiProvider(
            api_base=wati.api_base,
            token=secrets.wati_api_token,
            channels={number: channel for channel, number in wati.channels.items()},
            timeout_seconds=settings.outbox.request_timeout_seconds,
            connections=settings.outbox.concurrency,
            templates_per_10s=wati.templates_per_10s,
        )
    return ConsoleProvider()


def make_history(settings: Settings, secrets: Secrets) -> HistorySource | None:
    """Where the sync job reads history: WATI's history API (the Cloud API has none: its
    history comes by `history` webhooks)."""
    source = settings.sync.source
    wati = settings.wati
    if source == "none" or (source == "auto" and settings.whatsapp.provider != "wati"):
        return None
    if not wati.api_base or not secrets.wati_api_token:
        return None  # warned at start
    return WatiHistory(
        api_base=wati.api_base,
        token=secrets.wati_api_token,
        channels={number: channel for channel, number in wati.channels.items()},
        timeout_seconds=settings.outbox.request_timeout_seconds,
    )


def startup_warnings(settings: Settings, secrets: Secrets) -> list[str]:
    warnings = []
    if not secrets.app_secret:
        warnings.append(
            f"{settings.whatsapp.app_secret_env} is not set: Cloud API webhook "
            "signatures are not checked"
        )
    if not secrets.wati_webhook_token:
        warnings.append(
            f"{settings.wati.webhook_token_env} is not set: the WATI webhook token is not checked"
        )
    if not secrets.admin_token:
        warnings.append(f"{settings.auth.admin_token_env} is not set: no admin can call the API")
    if settings.whatsapp.provider == "cloud" and not secrets.access_token:
        warnings.append(f"{settings.whatsapp.access_token_env} is not set: sends will fail")
    if settings.whatsapp.provider == "wati":
        if not settings.wati.api_base:
            warnings.append("[wati] api_base is not set: sends through WATI will fail")
        if not secrets.wati_api_token:
            warnings.append(f"{settings.wati.api_token_env} is not set: sends will fail")
    return warnings


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
    provider: OutboundProvider | None = None,
    base_dir: Path | None = None,
) -> web.Application:
    """Build the gateway. Nothing starts until the app runs (aiohttp's cleanup context)."""
    environ = os.environ if environ is None else environ
    secrets = Secrets.from_env(settings, environ)
    policy_for = build_policies(settings, base_dir)
    try:
        analyzer = analyzer_from(settings.analysis, environ)
    except AnalysisError as exc:
        raise SettingsError(str(exc)) from None
    config = RuntimeConfig(
        db_path=settings.storage.path,
        synchronous=settings.storage.synchronous,
        writer_max_batch=settings.storage.writer_max_batch,
        mailbox_size=settings.actors.mailbox_size,
        passivate_after=settings.actors.passivate_after_seconds,
        outbox_concurrency=settings.outbox.concurrency,
        outbox_max_attempts=settings.outbox.max_attempts,
        retry_base=settings.outbox.retry_base_seconds,
        retry_max=settings.outbox.retry_max_seconds,
        outbox_drain_seconds=settings.outbox.drain_seconds,
        events_kept=settings.realtime.events_kept,
        messages_per_second=settings.whatsapp.messages_per_second,
        outbox_max_queued=settings.outbox.max_queued,
        max_unprocessed=settings.intake.max_unprocessed,
        outbox_unconfirmed_grace=settings.outbox.unconfirmed_grace_seconds,
    )
    runtime = Runtime(
        config,
        clock=clock,
        clock_mode=settings.clock.mode,
        provider=provider or make_provider(settings, secrets),
        policy_for=policy_for,
        maintenance=settings.maintenance,
        analyzer=analyzer,
        history=make_history(settings, secrets),
    )
    auth = Authenticator(secrets.admin_token, runtime.store)
    limits = settings.auth
    failures = FailureLimiter(
        limits.failures_per_window, limits.failure_window_seconds, limits.tracked_addresses
    )
    gateway = Gateway(
        settings=settings,
        secrets=secrets,
        runtime=runtime,
        auth=auth,
        warnings=startup_warnings(settings, secrets),
    )
    app = web.Application(
        client_max_size=settings.server.max_body_bytes,
        middlewares=[
            error_middleware,
            query_middleware,
            make_auth_middleware(auth, failures, limits.forwarded_for_hops),
        ],
    )
    app[GATEWAY] = gateway
    app[RETRY_AFTER] = settings.intake.retry_after_seconds
    app[AUTH_FAILURES] = failures
    webhooks.add_routes(app)
    api_maintenance.add_routes(app)  # before /api/conversations/{id}
    api_conversations.add_routes(app)
    api_flows.add_routes(app)
    api_dashboard.add_routes(app)
    api_media.add_routes(app)
    api_pauses.add_routes(app)
    api_admin.add_routes(app)
    api_sessions.add_routes(app)
    api_operators.add_routes(app)
    realtime.add_routes(app)
    api_openapi.add_routes(app)
    app.cleanup_ctx.append(_lifecycle)
    return app


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    gateway = app[GATEWAY]
    for warning in gateway.warnings:
        log.warning("startup_warning", detail=warning)
    await gateway.runtime.start()
    gateway.accepting = True
    try:
        yield
    finally:
        gateway.accepting = False  # 1. stop intake
        await gateway.runtime.stop()  # 2. actors, 3. sender, 4. writer flush, 5. close
