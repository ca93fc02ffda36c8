"""What the maintenance jobs work with: the store, the clock, the conversations (asked
through their actors, which own their state), the settings and the outside services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from actors.conversation.messages import Message
from actors.maintenance.analysis import Analyzer
from actors.maintenance.history import HistorySource
from actors.maintenance.settings import MaintenanceSettings
from actors.maintenance.stats import MaintenanceStats
from actors.runtime.clock import Clock
from storage.store import Store

log = structlog.get_logger("maintenance")


@dataclass
class Maintenance:
    store: Store
    clock: Clock
    ask: Callable[[str, Message], Awaitable[Any]]
    settings: MaintenanceSettings
    analyzer: Analyzer
    history: HistorySource | None
    stats: MaintenanceStats
