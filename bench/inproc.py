"""Run the gateway's runtime inside a benchmark process (no HTTP), on a given database."""

from __future__ import annotations

from pathlib import Path

from actors.runtime.clock import Clock
from actors.system import Runtime
from bench.common import REPO
from gateway.app import create_app
from gateway.context import GATEWAY
from gateway.settings import ActorRuntimeSettings, BotSettings, Settings, StorageSettings


def runtime_for(
    db: Path, *, clock: Clock | None = None, passivate_after: float = 1e9, mailbox: int = 256
) -> Runtime:
    settings = Settings(
        storage=StorageSettings(path=str(db), synchronous="NORMAL"),
        bot=BotSettings(flows_dir=str(REPO / "flows")),
        actors=ActorRuntimeSettings(mailbox_size=mailbox, passivate_after_seconds=passivate_after),
    )
    app = create_app(settings, clock=clock, environ={})
    return app[GATEWAY].runtime
