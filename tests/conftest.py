"""Shared fixtures: a simulated gateway under freezegun, and a guard against leaked tasks."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from freezegun.api import FrozenDateTimeFactory
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from gateway.app import create_app
from gateway.settings import Settings
from tests.sim import ENVIRON, Sim, settings_for

START = "2026-11-21T09:00:00+00:00"
MakeSim = Callable[..., Awaitable[Sim]]

# Property tests: derandomized with a bounded number of examples by default (the same
# examples on every run, CI included); HYPOTHESIS_PROFILE=explore searches afresh, longer.
hypothesis_settings.register_profile(
    "ci",
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
hypothesis_settings.register_profile(
    "explore", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def frozen() -> Iterator[FrozenDateTimeFactory]:
    """Wall time frozen at START; asyncio keeps its real clock (real_asyncio=True)."""
    with freeze_time(START, real_asyncio=True) as factory:
        yield factory


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "gateway.db"


@pytest.fixture
async def make_sim(aiohttp_client: Any, frozen: FrozenDateTimeFactory, db_path: Path) -> MakeSim:
    """Start a gateway (again, on the same database file, for restart tests)."""

    async def make(settings: Settings | None = None, **kw: Any) -> Sim:
        app = create_app(
            settings or settings_for(db_path), environ=kw.pop("environ", ENVIRON), **kw
        )
        client = await aiohttp_client(app)
        return Sim(client, frozen)

    return make


@pytest.fixture
async def sim(make_sim: MakeSim) -> Sim:
    return await make_sim()


@pytest.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves tasks running after its fixtures are torn down."""
    before = set(asyncio.all_tasks())
    yield
    current = asyncio.current_task()
    leaked = [t for t in asyncio.all_tasks() - before if t is not current and not t.done()]
    for _ in range(3):
        if not leaked:
            break
        await asyncio.sleep(0)
        leaked = [t for t in leaked if not t.done()]
    assert not leaked, f"tasks left running: {leaked}"
