"""Logs for people: structlog JSON lines on stdout, configured once at start-up.

Every line is one event; phone numbers are masked to their last four digits wherever they
appear; emoji and Arabic are written as UTF-8; under the virtual clock each line carries
the virtual time. The standard library's loggers (aiohttp's) write through the same
renderer, so every line is JSON.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable, MutableMapping
from datetime import datetime
from typing import Any, TextIO

import structlog

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
# A phone number: 7 to 15 digits (with an optional +) that are not part of a word, an id or
# a decimal; it keeps its last four digits.
PHONE = re.compile(r"(?<![\w.+])\+?\d{3,11}(\d{4})(?![\w])")
EventDict = MutableMapping[str, Any]


def mask_phones(value: str) -> str:
    return PHONE.sub(lambda m: "***" + m.group(1), value)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_phones(value)
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    return value


def mask_phone_numbers(_logger: Any, _method: str, event: EventDict) -> EventDict:
    """structlog processor: every phone number in the line, masked; the `event` too, which
    for the standard library's records (aiohttp's) is their message, URLs and all."""
    for key, value in event.items():
        event[key] = _masked(value)
    return event


def with_virtual_time(now: Callable[[], datetime]) -> Callable[[Any, str, EventDict], EventDict]:
    def add(_logger: Any, _method: str, event: EventDict) -> EventDict:
        event["virtual_time"] = now().isoformat().replace("+00:00", "Z")
        return event

    return add


def _render(_logger: Any, _method: str, event: EventDict) -> str:
    return json.dumps(event, ensure_ascii=False, default=str)


def processors(virtual_now: Callable[[], datetime] | None = None) -> list[Any]:
    chain: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if virtual_now is not None:
        chain.append(with_virtual_time(virtual_now))
    chain += [structlog.processors.format_exc_info, mask_phone_numbers]
    return chain


def configure_logging(
    level: str,
    *,
    virtual_now: Callable[[], datetime] | None = None,
    stream: TextIO | None = None,
) -> None:
    out = stream or sys.stdout
    chain = processors(virtual_now)
    structlog.configure(
        processors=[*chain, _render],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
        logger_factory=structlog.WriteLoggerFactory(out),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _render],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *chain],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(LEVELS[level], logging.WARNING))
