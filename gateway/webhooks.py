"""The webhook endpoints: verify, decode, store durably, answer 200; the actors do the rest."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
import structlog
from aiohttp import web

from gateway import cloud_events, wati_events
from gateway.cloud_history import decode_history
from gateway.context import Gateway, gateway_of
from gateway.errors import ApiError, decoded
from gateway.jsonio import json_response
from gateway.providers.wati import outbox_id_of
from gateway.signature import valid_signature, valid_token

log = structlog.get_logger("webhooks")


async def verify_cloud(request: web.Request) -> web.Response:
    """Meta's subscription handshake: echo `hub.challenge` when the token matches."""
    gw = gateway_of(request)
    q = request.query
    expected = gw.settings.whatsapp.verify_token
    if (
        q.get("hub.mode") == "subscribe"
        and expected
        and valid_token(q.get("hub.verify_token"), expected)
    ):
        return web.Response(text=q.get("hub.challenge", ""), content_type="text/plain")
    raise ApiError(
        403,
        "verification_failed",
        "hub.mode or hub.verify_token does not match",
        "hub.verify_token",
    )


async def receive_cloud(request: web.Request) -> web.Response:
    gw = _accepting(request)
    raw = await request.read()
    secret = gw.secrets.app_secret
    if secret and not valid_signature(raw, request.headers.get("X-Hub-Signature-256"), secret):
        raise ApiError(
            401,
            "invalid_signature",
            "X-Hub-Signature-256 is missing or does not match the body",
            "X-Hub-Signature-256",
        )
    envelope = decoded(cloud_events.decode_envelope, raw)
    for value in cloud_events.history_values(envelope):
        await _import_history(gw, value)
    result = await gw.runtime.accept(cloud_events.items_from(envelope))
    return json_response(result)


async def _import_history(gw: Gateway, value: msgspec.Raw) -> None:
    """Stored (idempotently) before the 200: a store that cannot write is answered 503 with
    Retry-After (errors.py) and Meta sends the chunk again."""
    history = decode_history(value)
    for skipped in history.skipped:
        log.warning("history_skipped", reason=skipped.reason, detail=skipped.detail)
    if history.business_id and history.messages:
        inserted, updated = await gw.runtime.import_history(history.business_id, history.messages)
        log.info("history_imported", business_id=history.business_id, inserted=inserted,
                 updated=updated, chunks=len(history.chunks))  # fmt: skip


async def receive_wati(request: web.Request) -> web.Response:
    gw = _accepting(request)
    expected = gw.secrets.wati_webhook_token
    if expected:
        given = request.query.get("token") or request.headers.get("X-Webhook-Token")
        if not valid_token(given, expected):
            raise ApiError(401, "invalid_token", "the webhook token is missing or wrong", "token")
    raw = await request.read()
    event = decoded(wati_events.decode_event, raw)
    business = gw.settings.wati.business_of(
        event.channelPhoneNumber, gw.settings.whatsapp.phone_number_id
    )
    now = gw.runtime.clock.now()
    store = gw.runtime.store

    async def is_own_send(
        ids: list[str], recipient: str | None, text: str | None, at: datetime
    ) -> bool:
        since = at - timedelta(seconds=wati_events.ECHO_WINDOW_SECONDS)
        ours = [n for n in map(outbox_id_of, ids) if n is not None]
        return await store.is_own_send(ids, ours, recipient, text, since)

    try:
        items = await wati_events.items_from(event, raw, business, now, is_own_send)
    except wati_events.MissingField as exc:
        raise ApiError(400, "invalid_body", str(exc), exc.field) from None
    result = await gw.runtime.accept(items)
    return json_response(result)


def _accepting(request: web.Request) -> Gateway:
    """The gateway, when it takes webhooks now: past the bound on unprocessed intake the
    webhook is shed before its body is read (IntakeFull: 503 with Retry-After)."""
    gw = gateway_of(request)
    if not gw.accepting:
        raise ApiError(503, "not_ready", "the gateway is starting or stopping; retry later")
    gw.runtime.admission.check()
    return gw


def add_routes(app: web.Application) -> None:
    app.router.add_get("/webhooks/whatsapp", verify_cloud)
    app.router.add_post("/webhooks/whatsapp", receive_cloud)
    app.router.add_post("/webhooks/wati", receive_wati)
