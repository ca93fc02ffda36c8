"""API errors, the one place a body that does not decode becomes a 400, and the one
middleware that turns every exception into the JSON error shape
`{"error": {"code", "message", "field"}}`. Load shed (a full mailbox, too much unprocessed
intake) is a 503 with `Retry-After` (`[intake] retry_after_seconds`, kept in the app)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

import msgspec
import structlog
from aiohttp import web

from actors.intake.admission import IntakeFull
from actors.runtime.errors import ActorStopped, MailboxFull
from storage.store import StoreClosed, StoreUnavailable

log = structlog.get_logger("http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")
STORE_RETRY_AFTER = 5  # seconds: what a full disk or a lock needs to clear, as a guess
_AT = re.compile(r" - at `\$(?:\.?)([^`]*)`$")
RETRY_AFTER = web.AppKey("retry_after_seconds", int)
DEFAULT_RETRY_AFTER = 5


class ApiError(Exception):
    """An error the client should see, with its HTTP status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "field": field}}


def error_response(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    """The error shape; a 503 always says when to retry (`Retry-After`, seconds), whatever
    refused: a busy conversation, the intake bound, the store, a start or a stop."""
    response = web.Response(
        body=msgspec.json.encode(error_body(code, message, field)),
        status=status,
        content_type="application/json",
    )
    if status == 503:
        response.headers["Retry-After"] = str(STORE_RETRY_AFTER)
    return response


def validation_error(exc: msgspec.ValidationError, prefix: str = "") -> ApiError:
    """A msgspec message (`Expected int, got str - at `$.hours``) as a 400 naming the field."""
    text = str(exc)
    match = _AT.search(text)
    field = None
    if match:
        field = (prefix + match.group(1)).replace("[", ".").replace("]", "").strip(".") or None
        text = text[: match.start()]
    missing = re.match(r"Object (?:missing required|contains unknown) field `([^`]+)`", text)
    if missing:
        field = ".".join(p for p in (field, missing.group(1)) if p)
    return ApiError(400, "invalid_body", text, field)


def decoded(decode: Callable[[bytes], T], raw: bytes) -> T:
    """`decode(raw)`, or the 400 that names what is wrong: not JSON (`invalid_json`), or the
    field of the wrong shape (`invalid_body`)."""
    try:
        return decode(raw)
    except msgspec.ValidationError as exc:
        raise validation_error(exc) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "invalid_json", f"body is not valid JSON: {exc}", "body") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "body is nested too deeply", "body") from None


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    429: "too_many_requests",
    415: "unsupported_media_type",
    503: "unavailable",
}


def _shed(request: web.Request, code: str, message: str) -> web.Response:
    """503 with the seconds after which the client should retry."""
    log.debug("request_shed", method=request.method, path=request.path, code=code)
    response = error_response(503, code, message)
    response.headers["Retry-After"] = str(request.app.get(RETRY_AFTER, DEFAULT_RETRY_AFTER))
    return response


@web.middleware
async def query_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Query parameters are text: one holding a NUL character is refused (SQLite would end
    the text there, and a search for it would match everything)."""
    for name, value in request.query.items():
        if "\x00" in value:
            raise ApiError(400, "invalid_query", "text may not contain NUL characters", name)
    return await handler(request)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except ApiError as exc:
        log.warning(
            "request_refused",
            method=request.method,
            path=request.path,
            status=exc.status,
            code=exc.code,
            field=exc.field,
        )
        refused = error_response(exc.status, exc.code, exc.message, exc.field)
        refused.headers.update(exc.headers)
        return refused
    except web.RequestPayloadError:
        log.warning("request_refused", method=request.method, path=request.path, status=400,
                    code="invalid_body", field="Content-Encoding")  # fmt: skip
        return error_response(
            400, "invalid_body", "the body could not be decoded", "Content-Encoding"
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _STATUS_CODES.get(exc.status, "http_error")
        field = "body" if exc.status == 413 else None
        response = error_response(exc.status, code, exc.reason, field)
        for name in ("Allow", "WWW-Authenticate"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except MailboxFull as exc:
        return _shed(request, "busy", f"{exc} is busy; retry later")
    except IntakeFull as exc:
        return _shed(request, "overloaded", f"{exc}; retry later")
    except (ActorStopped, StoreClosed):
        return error_response(503, "shutting_down", "the gateway is stopping; retry later")
    except StoreUnavailable as exc:
        log.error("store_unavailable", method=request.method, path=request.path, error=str(exc))
        response = error_response(
            503, "store_unavailable", "the database refused the write; retry later"
        )
        response.headers["Retry-After"] = str(STORE_RETRY_AFTER)
        return response
    except Exception:
        log.exception("unhandled", path=request.path, method=request.method)
        return error_response(500, "internal_error", "internal error")
