"""Wrong bearer tokens are limited per client address: past the bound, 429 with Retry-After
(the JSON error shape) for that address, valid token or not, until the window has passed;
other addresses and successes are not counted; the memory of addresses is bounded; and
X-Forwarded-For counts only when the settings trust that many proxies."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp.test_utils import make_mocked_request

from gateway.auth import AUTH_FAILURES
from gateway.auth_failures import FailureLimiter, client_address
from gateway.settings import AuthSettings, SettingsError, load_settings
from tests.conftest import MakeSim
from tests.sim import ADMIN_TOKEN, REPO, Sim, make_operator, settings_for

LIMIT, WINDOW = 3, 60.0
PATH = "/api/agent/sessions/waiting"


async def get(sim: Sim, token: str, address: str | None = None) -> tuple[int, Any, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    if address is not None:
        headers["X-Forwarded-For"] = address
    response = await sim.client.get(PATH, headers=headers)
    return response.status, response.headers, await response.json()


async def make(make_sim: MakeSim, db_path: Path, **auth: Any) -> Sim:
    limits = AuthSettings(failures_per_window=LIMIT, failure_window_seconds=WINDOW, **auth)
    return await make_sim(settings_for(db_path, auth=limits))


@pytest.fixture
async def direct(make_sim: MakeSim, db_path: Path) -> Sim:
    """Clients connect directly (the default: X-Forwarded-For is not trusted)."""
    return await make(make_sim, db_path)


@pytest.fixture
async def proxied(make_sim: MakeSim, db_path: Path) -> Sim:
    """Behind one trusted proxy, which appends the client's address to X-Forwarded-For."""
    return await make(make_sim, db_path, forwarded_for_hops=1)


def assert_throttled(status: int, headers: Any, body: Any) -> int:
    assert status == 429, body
    assert body["error"]["code"] == "too_many_failures" and body["error"]["field"] is None
    assert isinstance(body["error"]["message"], str)
    wait = int(headers["Retry-After"])
    assert 1 <= wait <= WINDOW
    return wait


async def test_past_the_bound_an_address_waits_even_with_a_valid_token(direct: Sim) -> None:
    sim = direct
    for _ in range(LIMIT):
        status, _, body = await get(sim, "wrong-token")
        assert (status, body["error"]["code"]) == (401, "unauthorized")
    assert assert_throttled(*await get(sim, "wrong-token")) == WINDOW
    assert_throttled(*await get(sim, ADMIN_TOKEN))  # a hit would show: refused unseen
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await sim.client.ws_connect(f"/api/agent/ws?token={ADMIN_TOKEN}")
    assert refused.value.status == 429
    missing = await sim.client.get(PATH)  # no token: a plain 401, nothing to guess
    assert missing.status == 401


async def test_the_wait_ends_when_the_oldest_failure_leaves_the_window(direct: Sim) -> None:
    sim = direct
    for _ in range(LIMIT):
        await get(sim, "wrong-token")
        sim.frozen.tick(timedelta(seconds=10))
    # failures at 0, 10 and 20 s; now 30 s: the first leaves the window at 60 s
    assert assert_throttled(*await get(sim, ADMIN_TOKEN)) == 30
    sim.frozen.tick(timedelta(seconds=29))
    assert_throttled(*await get(sim, ADMIN_TOKEN))
    sim.frozen.tick(timedelta(seconds=1))
    assert (await get(sim, ADMIN_TOKEN))[0] == 200
    assert (await get(sim, "wrong-token"))[0] == 401  # one more fills the window again
    assert assert_throttled(*await get(sim, ADMIN_TOKEN)) == 10


async def test_refused_requests_do_not_extend_the_wait(direct: Sim) -> None:
    sim = direct
    for _ in range(LIMIT):
        await get(sim, "wrong-token")
    for _ in range(20):
        assert_throttled(*await get(sim, "wrong-token"))
    sim.frozen.tick(timedelta(seconds=WINDOW))
    assert (await get(sim, ADMIN_TOKEN))[0] == 200


async def test_successes_do_not_count(direct: Sim) -> None:
    sim = direct
    noa = await make_operator(sim, "Noa")
    for _ in range(LIMIT - 1):
        assert (await get(sim, "wrong-token"))[0] == 401
        for _ in range(5):
            assert (await get(sim, noa.token))[0] == 200
    assert (await get(sim, ADMIN_TOKEN))[0] == 200
    assert (await get(sim, "wrong-token"))[0] == 401  # the bound-th failure
    assert_throttled(*await get(sim, noa.token))


async def test_another_address_is_not_affected(proxied: Sim) -> None:
    sim = proxied
    for _ in range(LIMIT):
        await get(sim, "wrong-token", "203.0.113.7")
    assert_throttled(*await get(sim, ADMIN_TOKEN, "203.0.113.7"))
    assert (await get(sim, ADMIN_TOKEN, "198.51.100.20"))[0] == 200
    for _ in range(LIMIT - 1):
        assert (await get(sim, "wrong-token", "198.51.100.20"))[0] == 401
    assert (await get(sim, ADMIN_TOKEN, "198.51.100.20"))[0] == 200


async def test_forwarded_for_is_ignored_unless_trusted(direct: Sim) -> None:
    """By default a client cannot leave its own address by sending X-Forwarded-For, nor put
    another address in trouble."""
    sim = direct
    for n in range(LIMIT):
        await get(sim, "wrong-token", f"203.0.113.{n}")
    assert_throttled(*await get(sim, ADMIN_TOKEN, "198.51.100.20"))
    assert sim.client.app[AUTH_FAILURES].retry_after("203.0.113.0") is None


async def test_behind_a_proxy_a_forged_entry_does_not_help(proxied: Sim) -> None:
    """The proxy appends the real address: entries the client sent before it do not count."""
    sim = proxied
    for n in range(LIMIT):
        await get(sim, "wrong-token", f"10.9.9.{n}, 203.0.113.7")
    assert_throttled(*await get(sim, ADMIN_TOKEN, "10.1.1.1, 203.0.113.7"))


async def test_an_ipv6_host_counts_as_its_64(proxied: Sim) -> None:
    sim = proxied
    for n in range(LIMIT):
        await get(sim, "wrong-token", f"2001:db8:1:2::{n + 1:x}")
    assert_throttled(*await get(sim, ADMIN_TOKEN, "2001:db8:1:2:ffff::9"))
    assert (await get(sim, ADMIN_TOKEN, "2001:db8:1:3::1"))[0] == 200


async def test_the_memory_of_addresses_is_bounded(make_sim: MakeSim, db_path: Path) -> None:
    sim = await make(make_sim, db_path, forwarded_for_hops=1, tracked_addresses=5)
    limiter = sim.client.app[AUTH_FAILURES]
    for n in range(50):
        await get(sim, "wrong-token", f"198.51.100.{n}")
        assert len(limiter) <= 5
    assert len(limiter) == 5
    for _ in range(LIMIT - 1):
        await get(sim, "wrong-token", "198.51.100.49")
    assert_throttled(*await get(sim, ADMIN_TOKEN, "198.51.100.49"))  # the recent one is kept


async def test_zero_turns_it_off(make_sim: MakeSim, db_path: Path) -> None:
    sim = await make_sim(settings_for(db_path, auth=AuthSettings(failures_per_window=0)))
    for _ in range(30):
        assert (await get(sim, "wrong-token"))[0] == 401
    assert (await get(sim, ADMIN_TOKEN))[0] == 200
    assert len(sim.client.app[AUTH_FAILURES]) == 0


async def test_the_defaults_are_in_the_shipped_settings(sim: Sim) -> None:
    """settings.toml names each key with the default the code has; the default bound holds."""
    shipped = load_settings(REPO / "settings.toml").auth
    assert shipped == AuthSettings()
    assert (shipped.failures_per_window, shipped.failure_window_seconds) == (10, 60.0)
    assert (shipped.tracked_addresses, shipped.forwarded_for_hops) == (10_000, 0)
    for _ in range(shipped.failures_per_window):
        assert (await get(sim, "wrong-token"))[0] == 401
    assert_throttled(*await get(sim, ADMIN_TOKEN))


@pytest.mark.parametrize(
    "auth",
    [
        {"failures_per_window": -1},
        {"failure_window_seconds": 0},
        {"tracked_addresses": 0},
        {"forwarded_for_hops": -1},
        {"forwarded_for_hops": "yes"},
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, auth: dict[str, Any]) -> None:
    [(key, value)] = auth.items()
    path = tmp_path / "settings.toml"
    path.write_text(f"[auth]\n{key} = {msgspec.json.encode(value).decode()}\n")
    with pytest.raises(SettingsError, match=f"auth.{key}"):
        load_settings(path)


@pytest.mark.parametrize(
    ("headers", "hops", "expected"),
    [
        ({}, 1, "127.0.0.1"),
        ({"X-Forwarded-For": "203.0.113.7"}, 0, "127.0.0.1"),
        ({"X-Forwarded-For": "203.0.113.7"}, 1, "203.0.113.7"),
        ({"X-Forwarded-For": "1.1.1.1, 203.0.113.7, 10.0.0.2"}, 2, "203.0.113.7"),
        ({"X-Forwarded-For": "203.0.113.7"}, 3, "203.0.113.7"),  # fewer than the hops
        ({"X-Forwarded-For": " , "}, 1, "127.0.0.1"),
        ({"X-Forwarded-For": "::ffff:203.0.113.7"}, 1, "203.0.113.7"),
        ({"X-Forwarded-For": "[2001:db8::1]"}, 1, "2001:db8::/64"),
        ({"X-Forwarded-For": "x" * 500}, 1, "x" * 64),
    ],
)
def test_client_address(headers: dict[str, str], hops: int, expected: str) -> None:
    request = make_mocked_request("GET", PATH, headers=headers)
    request = request.clone(remote="127.0.0.1")
    assert client_address(request, hops) == expected


def test_the_limiter_alone() -> None:
    """A sliding window per address; an address's failures never exceed the bound."""
    now = [0.0]
    limiter = FailureLimiter(2, 10.0, 100, monotonic=lambda: now[0])
    assert not limiter.failed("a")
    assert limiter.failed("a")
    assert limiter.retry_after("a") == 10 and limiter.retry_after("b") is None
    now[0] = 9.5
    assert limiter.retry_after("a") == 1
    now[0] = 10.0
    assert limiter.retry_after("a") is None
