"""The media of customer messages, fetched from the provider with its token and cached on disk.

Agents see images and documents in the dashboard through the gateway: the provider's URLs
need the access token, and a Cloud API URL expires after five minutes. `MediaStore.get`
answers a file of the cache folder, fetching it the first time only:

* Cloud API (`media_id`): `GET {graph_api_base}/{media_id}` names a short-lived URL, then
  `GET` that URL; both with the access token.
* WATI (`url`): `GET` the webhook's URL with the WATI token.

A token goes only to the configured Graph base, the URL Graph itself answered, and the host
of `[wati] api_base`. Any other URL of a customer's payload is refused before a request is
made: no token leaks, and a payload cannot make the gateway call an arbitrary host.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import msgspec
import structlog
from yarl import URL

from gateway.media_cache import MediaFile, Partial, Sidecar, commit_sidecar, read_cached
from gateway.providers.wati import USER_AGENT
from gateway.settings import Secrets, Settings
from storage.content import Audio, Document, Image, Sticker, Video

__all__ = [
    "MAX_BYTES",
    "MediaContent",
    "MediaError",
    "MediaFile",
    "MediaMissing",
    "MediaNotConfigured",
    "MediaStore",
    "MediaUnavailable",
]

log = structlog.get_logger("media")
MediaContent = Image | Video | Audio | Document | Sticker
MAX_BYTES = 100 * 1024 * 1024  # WhatsApp's own limit for inbound media
CHUNK = 64 * 1024
MEDIA_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$")
MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
OCTET_STREAM = "application/octet-stream"
GONE = frozenset({400, 404, 410})  # Graph: 400 code 100 for an unknown or expired id
REFUSED = frozenset({401, 403})


class MediaError(Exception):
    """Why a message's media cannot be served: `reason` is a short fixed word, `detail` says
    it for a person, `status` is the provider's HTTP status when it answered."""

    def __init__(self, reason: str, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.status = status


class MediaMissing(MediaError):
    """The message names no media the gateway could fetch (no media id, no URL)."""


class MediaNotConfigured(MediaError):
    """The token or base URL the fetch needs is not set (a console gateway, say)."""


class MediaUnavailable(MediaError):
    """The provider refused or could not be reached, the media is too large, or its URL is
    not one a token may go to."""


class _GraphMedia(msgspec.Struct, frozen=True):
    """Graph's answer to `GET /{media_id}`."""

    url: str
    mime_type: str | None = None
    file_size: int | str | None = None


@dataclass(frozen=True)
class _Source:
    """Where one media comes from: the provider, its cache key, and what the logs call it."""

    provider: str  # "cloud" or "wati"
    key: str  # the cache file's name: a hash, never a path from the payload
    label: str  # the media id, or a short hash of the URL (URLs may carry secrets)
    url: URL  # Graph's metadata URL, or WATI's file URL


def clean_mime(value: str | None) -> str | None:
    """A media type without its parameters, or None when it is not one (header safety)."""
    if not value:
        return None
    bare = value.split(";", 1)[0].strip().lower()
    return bare if MIME.match(bare) else None


def _origin(url: URL) -> tuple[str, str, int | None]:
    return url.scheme.lower(), (url.host or "").lower(), url.port


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class MediaStore:
    """Fetches media with the provider's token, once, into `folder`; `close()` at shutdown."""

    def __init__(
        self,
        folder: Path,
        *,
        graph_api_base: str,
        access_token: str,
        wati_api_base: str = "",
        wati_token: str = "",
        timeout_seconds: float = 15.0,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.folder = folder
        self._graph = URL(graph_api_base.rstrip("/"))
        self._token = access_token
        self._wati = URL(wati_api_base.rstrip("/")) if wati_api_base else None
        self._wati_token = wati_token
        # a download of 100 MB takes longer than one request's timeout: bound each read
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=timeout_seconds, sock_read=timeout_seconds
        )
        self._max = max_bytes
        self._session: aiohttp.ClientSession | None = None
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @classmethod
    def from_settings(cls, settings: Settings, secrets: Secrets) -> MediaStore:
        """The store of a gateway: its cache is `media/` next to the database."""
        return cls(
            Path(settings.storage.path).parent / "media",
            graph_api_base=settings.whatsapp.graph_api_base,
            access_token=secrets.access_token,
            wati_api_base=settings.wati.api_base,
            wati_token=secrets.wati_api_token,
            timeout_seconds=settings.outbox.request_timeout_seconds,
        )

    async def get(self, content: MediaContent) -> MediaFile:
        """The message's media from the cache, fetched first if it is not there yet.

        Raises `MediaMissing`, `MediaNotConfigured` or `MediaUnavailable` (logged here)."""
        try:
            source = self._source(content)
            lock = self._locks.setdefault(source.key, asyncio.Lock())
            async with lock:  # two agents opening the same image: one fetch
                return await self._cached_or_fetched(source, content)
        except MediaError as exc:
            log.warning("media_failed", media=content.media_id, error=type(exc).__name__,
                        reason=exc.reason, status=exc.status)  # fmt: skip
            raise

    async def _cached_or_fetched(self, source: _Source, content: MediaContent) -> MediaFile:
        found = await asyncio.to_thread(read_cached, self.folder, source.key)
        file = found or await self._fetch(source, content)
        log.info("media_fetched", media=source.label, provider=source.provider,
                 bytes=file.size, cached=found is not None, mime_type=file.mime_type)  # fmt: skip
        return file if found is None else _named(found, content.filename)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- where from ------------------------------------------------------------------------

    def _source(self, content: MediaContent) -> _Source:
        if content.media_id:
            return self._cloud_source(content.media_id)
        if content.url:
            return self._wati_source(content.url)
        raise MediaMissing("no_reference", "the message names no media id and no URL")

    def _cloud_source(self, media_id: str) -> _Source:
        if not MEDIA_ID.match(media_id):
            raise MediaMissing("bad_reference", "the media id is not one Graph gives")
        if not self._token:
            raise MediaNotConfigured(
                "no_token",
                "no Cloud API access token is set (the variable [whatsapp] access_token_env "
                "names): media cannot be fetched",
            )
        key = f"cloud-{_digest(media_id)[:40]}"
        return _Source("cloud", key, media_id, self._graph / media_id)

    def _wati_source(self, raw: str) -> _Source:
        if self._wati is None:
            raise MediaNotConfigured(
                "no_wati", "[wati] api_base is not set: media URLs are not fetched"
            )
        url = self._wati_url(raw)
        if not self._wati_token:
            raise MediaNotConfigured(
                "no_token",
                "no WATI API token is set (the variable [wati] api_token_env names): "
                "media cannot be fetched",
            )
        digest = _digest(str(url))
        return _Source("wati", f"wati-{digest[:40]}", f"url:{digest[:12]}", url)

    def _wati_url(self, raw: str) -> URL:
        """The URL to fetch: the payload's, if on the WATI host; a bare path (v1 history's
        `data`) as WATI's `showFile` of it."""
        assert self._wati is not None
        try:
            url = URL(raw, encoded=True)
        except ValueError:
            raise MediaUnavailable("untrusted_url", "the media URL is not a URL") from None
        if not url.absolute and not raw.startswith("/") and ".." not in raw:
            return (self._wati / "api/file/showFile").with_query(fileName=raw)
        if url.user is not None or _origin(url) != _origin(self._wati):
            raise MediaUnavailable(
                "untrusted_host",
                "the media URL is not on the host of [wati] api_base; it was not fetched",
            )
        return url

    # -- fetching --------------------------------------------------------------------------

    async def _fetch(self, source: _Source, content: MediaContent) -> MediaFile:
        try:
            if source.provider == "cloud":
                url, mime, size = await self._graph_url(source.url)
                token = self._token
            else:
                url, mime, size, token = source.url, None, None, self._wati_token
            if size is not None and size > self._max:
                raise _too_large(self._max)
            written, answered = await self._download(url, token, source.key)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise MediaUnavailable(
                "unreachable", f"the provider could not be reached: {type(exc).__name__}"
            ) from None
        mime_type = clean_mime(mime) or clean_mime(content.mime_type) or answered or OCTET_STREAM
        sidecar = Sidecar(mime_type, content.filename, written)
        await asyncio.to_thread(commit_sidecar, self.folder, source.key, sidecar)
        return MediaFile(self.folder / source.key, mime_type, content.filename, written)

    async def _graph_url(self, metadata: URL) -> tuple[URL, str | None, int | None]:
        """Graph's fresh download URL for a media id, its type and size."""
        headers = self._auth(self._token)
        async with self._client().get(metadata, headers=headers, allow_redirects=False) as response:
            _check(response.status)
            raw = await response.read()
        try:
            answer = msgspec.json.decode(raw, type=_GraphMedia)
            url = URL(answer.url, encoded=True)
        except (msgspec.MsgspecError, ValueError):
            raise MediaUnavailable("bad_answer", "Graph's answer names no media URL") from None
        if url.scheme not in ("https", self._graph.scheme) or not url.host:
            raise MediaUnavailable("bad_answer", "Graph's media URL is not an https URL")
        return url, answer.mime_type, _size(answer.file_size)

    async def _download(self, url: URL, token: str, key: str) -> tuple[int, str | None]:
        """Stream the bytes into the cache, up to the size limit; their size and type.
        Redirects are not followed: the token would go wherever they point."""
        client = self._client()
        async with client.get(url, headers=self._auth(token), allow_redirects=False) as response:
            _check(response.status)
            if (response.content_length or 0) > self._max:
                raise _too_large(self._max)
            answered = clean_mime(response.headers.get("Content-Type"))
            size = await self._write(key, response.content.iter_chunked(CHUNK))
        return size, None if answered == OCTET_STREAM else answered

    async def _write(self, key: str, chunks: AsyncIterator[bytes]) -> int:
        """The chunks into a temp file, renamed to `key` when whole (atomic)."""
        partial = await asyncio.to_thread(Partial, self.folder, key)
        try:
            async for chunk in chunks:
                if partial.size + len(chunk) > self._max:
                    raise _too_large(self._max)
                await asyncio.to_thread(partial.write, chunk)
            await asyncio.to_thread(partial.commit, self.folder / key)
        finally:
            await asyncio.to_thread(partial.discard)
        return partial.size

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, headers={"User-Agent": USER_AGENT}
            )
        return self._session

    @staticmethod
    def _auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def _check(status: int) -> None:
    """A provider's refusal as a `MediaUnavailable` naming why."""
    if 200 <= status < 300:
        return
    if status in GONE:
        detail = "the provider no longer has this media (expired after 7 days, or deleted)"
        raise MediaUnavailable("expired", f"{detail}: HTTP {status}", status)
    if status in REFUSED:
        raise MediaUnavailable("refused", f"the provider refused the token: HTTP {status}", status)
    if 300 <= status < 400:
        raise MediaUnavailable("redirected", f"the provider redirected (HTTP {status})", status)
    raise MediaUnavailable("provider_error", f"the provider answered HTTP {status}", status)


def _size(value: int | str | None) -> int | None:
    """Graph's `file_size` (a number, or a string of one), if it gives one."""
    if isinstance(value, str):
        return int(value) if value.isascii() and value.isdigit() else None
    return value


def _too_large(limit: int) -> MediaUnavailable:
    return MediaUnavailable("too_large", f"the media is larger than {limit // (1024 * 1024)} MB")


def _named(file: MediaFile, filename: str | None) -> MediaFile:
    """The cached file under the name this message gives it, if it gives one."""
    return file if not filename else msgspec.structs.replace(file, filename=filename)
