"""`GET /api/agent/sessions/{id}/media/{message_id}`: the image, audio, video, sticker or
document of a customer's message, for the dashboard, readable by whoever may read the session.

The bytes come from `MediaStore` (fetched from the provider once, then from the cache). The
answer is built so that a browser cannot be made to run what a customer sent: the declared
type with `nosniff`, a sandboxing CSP, and `inline` only for images, audio and video; a
document (even one claiming `text/html`) is always an attachment.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from collections.abc import AsyncIterator
from urllib.parse import quote

from aiohttp import web

from gateway.auth import requires
from gateway.context import GATEWAY, gateway_of
from gateway.errors import ApiError
from gateway.lookups import session_or_404
from gateway.media import (
    MediaContent,
    MediaError,
    MediaFile,
    MediaMissing,
    MediaNotConfigured,
    MediaStore,
)
from storage.content import MEDIA_TYPES
from storage.views import MessageView, SessionView

MEDIA = web.AppKey("media", MediaStore)
ROUTE = "/api/agent/sessions/{id}/media/{message_id}"
INLINE_IMAGES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
CSP = "sandbox; default-src 'none'; img-src 'self'; media-src 'self'"
UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]')
MAX_NAME = 150


@requires("agent")
async def get_media(request: web.Request) -> web.StreamResponse:
    """The bytes of a message's media, for whoever may read its session (`?download=1`:
    always as an attachment)."""
    session = await session_or_404(request)
    content = await _media_of(request, session)
    try:
        media = await request.app[MEDIA].get(content)
    except MediaError as exc:
        raise api_error(exc) from None
    download = request.query.get("download", "") in ("1", "true")
    name = safe_filename(media.filename, media.mime_type, type(content).__name__.lower())
    return web.FileResponse(media.path, headers=media_headers(media, name, download=download))


async def _media_of(request: web.Request, session: SessionView) -> MediaContent:
    """The message's media content: a message the session's reads show (one of its own, or
    of its context: outside any session, before it started), carrying media. A message of
    another session of the conversation is not this one's (that session may be another
    operator's chat)."""
    message_id = request.match_info["message_id"]
    message = await gateway_of(request).runtime.store.message(message_id)
    if message is None or not _shown_with(message, session):
        raise ApiError(404, "not_found", f"no message {message_id} in this session", "message_id")
    content = message.content
    if not isinstance(content, MEDIA_TYPES):
        kind = message.kind if content is None else type(content).__name__.lower()
        raise ApiError(404, "not_media", f"message {message_id} is {kind}, not media", "message_id")
    return content


def _shown_with(message: MessageView, session: SessionView) -> bool:
    if message.conversation_id != session.conversation_id:
        return False
    if message.session_id is not None:
        return message.session_id == session.id
    return message.created_at <= session.started_at


def api_error(exc: MediaError) -> ApiError:
    """The HTTP answer to a media that cannot be served."""
    if isinstance(exc, MediaMissing):
        return ApiError(404, "media_missing", exc.detail, "message_id")
    if isinstance(exc, MediaNotConfigured):
        return ApiError(503, "media_not_configured", exc.detail)
    return ApiError(502, "media_unavailable", f"{exc.reason}: {exc.detail}")


def media_headers(media: MediaFile, filename: str, *, download: bool) -> dict[str, str]:
    """The declared type, never sniffed, sandboxed, kept by the browser only (an hour)."""
    inline = not download and shows_inline(media.mime_type)
    return {
        "Content-Type": media.mime_type,
        "Content-Disposition": content_disposition("inline" if inline else "attachment", filename),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=3600",
        "Content-Security-Policy": CSP,
    }


def shows_inline(mime_type: str) -> bool:
    """Types a browser only displays or plays (SVG, HTML, PDF... are downloaded)."""
    return mime_type in INLINE_IMAGES or mime_type.startswith(("audio/", "video/"))


def content_disposition(kind: str, filename: str) -> str:
    """`kind; filename="..."`, with RFC 5987's `filename*` when the name is not ASCII."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_")
    header = f'{kind}; filename="{fallback}"'
    if fallback != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


def safe_filename(filename: str | None, mime_type: str, kind: str) -> str:
    """The customer's file name without folders, control or quoting characters, at most
    150 characters (its extension kept); `<kind><ext>` when there is none left."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = UNSAFE_IN_NAME.sub("_", name).strip(" .")
    if len(name) > MAX_NAME:
        _, dot, ext = name.rpartition(".")
        ext = dot + ext if dot and len(ext) < 10 else ""
        name = name[: MAX_NAME - len(ext)] + ext
    return name or kind + (mimetypes.guess_extension(mime_type) or "")


def add_routes(app: web.Application) -> None:
    """The route, and the `MediaStore` it uses, made at start-up and closed at shutdown."""
    app.router.add_get(ROUTE, get_media)
    app.cleanup_ctx.append(_media_store)


async def _media_store(app: web.Application) -> AsyncIterator[None]:
    gateway = app[GATEWAY]
    app[MEDIA] = MediaStore.from_settings(gateway.settings, gateway.secrets)
    try:
        yield
    finally:
        await app[MEDIA].close()
