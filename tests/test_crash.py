"""Under `kill -9` the gateway loses no acknowledged message, sends every reply it owes, fires
every pending deadline once, and sends (almost) nothing twice.

`run.py` runs as a subprocess on a file database with `provider = "cloud"` pointed at a fake
Graph API served by the test. Many conversations post signed webhooks concurrently; the
gateway is killed with SIGKILL three times at moments drawn from a seeded RNG (the seed is
printed; `CRASH_SEED=<n>` replays one), and started again each time while the load goes on:
a webhook refused or cut while it is down is retried, as Meta does, and counts as
acknowledged only once answered 200. Three kinds of conversation:

- chatter: a customer writes `MESSAGES_EACH` texts, each answered by the menu;
- timeout: one text on a business number whose inactivity timeout closes the conversation
  a few seconds later (the close notice is a reply owed by a deadline);
- pause: one text, then a human writes from the Business app (an `smb_message_echoes`),
  pausing the bot for a few seconds (a deadline whose expiry is journaled).

The clock is the system clock: deadlines must fall due while the process is down or
restarting, which a virtual clock moved through the API cannot show. The test waits for
them by polling the database, never by sleeping a fixed time.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.crash_harness import (
    GatewayUnderTest,
    StatusEcho,
    WebhookClient,
    sends_by_outbox_id,
    wait_until,
)
from tests.fake_graph import FakeGraph
from tests.sim import BUSINESS, cloud_envelope, cloud_text

pytestmark = pytest.mark.crash

TIMEOUT_BUSINESS = "310000000000003"
MENU = "How can we help you today?"
CLOSE = "We closed this conversation. Write again any time."
CHATTERS, MESSAGES_EACH = 60, 8
TIMEOUTS, PAUSES = 24, 24
LOAD_SECONDS = 24.0  # the window in which conversations start and kills happen
KILLS = 3
DEADLINE_SECONDS = 4.0  # the pause and the inactivity timeout
GRACE_SECONDS = 6.0  # [outbox] unconfirmed_grace_seconds: waiting for a status after a crash
SETTLE_TIMEOUT = 60.0


def gateway_settings(graph_url: str) -> str:
    return f"""
[clock]
mode = "system"
[whatsapp]
provider = "cloud"
graph_api_base = "{graph_url}"
messages_per_second = 0
[pause]
duration_hours = {DEADLINE_SECONDS / 3600}
[numbers."{TIMEOUT_BUSINESS}".timeouts]
inactivity_minutes = {DEADLINE_SECONDS / 60}
action = "close"
[outbox]
retry_base_seconds = 0.5
unconfirmed_grace_seconds = {GRACE_SECONDS}
drain_seconds = 5.0
[log]
level = "info"
"""


def echo_body(phone: str, wamid: str) -> dict[str, Any]:
    """A human agent wrote to `phone` from the WhatsApp Business app (coexistence)."""
    body = cloud_envelope(BUSINESS, [], [])
    change = body["entry"][0]["changes"][0]
    change["field"] = "smb_message_echoes"
    value = change["value"]
    del value["messages"]
    value["message_echoes"] = [
        {
            "from": "441610000000",
            "to": phone,
            "id": wamid,
            "timestamp": str(int(time.time())),
            "type": "text",
            "text": {"body": "Sam from the front desk here."},
        }
    ]
    return body


class Load:
    """The conversations, each a task posting its webhooks in order."""

    def __init__(self, client: WebhookClient, rng: random.Random) -> None:
        self.client = client
        self.rng = rng
        self.started = time.monotonic()
        self.chatters = [f"4477001{i:05d}" for i in range(CHATTERS)]
        self.timeouts = [f"4477002{i:05d}" for i in range(TIMEOUTS)]
        self.pauses = [f"4477003{i:05d}" for i in range(PAUSES)]
        self.wamids: list[str] = []

    def plan(self) -> list[Any]:
        rng = self.rng
        return (
            [self._chatter(p, rng.uniform(0, LOAD_SECONDS / 2)) for p in self.chatters]
            + [self._timeout(p, rng.uniform(0, LOAD_SECONDS)) for p in self.timeouts]
            + [self._pause(p, rng.uniform(0, LOAD_SECONDS)) for p in self.pauses]
        )

    async def _at(self, offset: float) -> None:
        await asyncio.sleep(max(0.0, self.started + offset - time.monotonic()))

    async def _text(self, phone: str, n: int, business: str = BUSINESS) -> None:
        wamid = f"wamid.crash.{phone}.{n}"
        self.wamids.append(wamid)
        body = cloud_text(phone, f"question {n}", wamid=wamid, ts=int(time.time()),
                          business=business)  # fmt: skip
        await self.client.deliver(body, wamid)

    async def _chatter(self, phone: str, start: float) -> None:
        await self._at(start)
        for n in range(MESSAGES_EACH):
            await self._text(phone, n)
            await asyncio.sleep(self.rng.uniform(0.1, 2.2))

    async def _timeout(self, phone: str, start: float) -> None:
        await self._at(start)
        await self._text(phone, 0, TIMEOUT_BUSINESS)

    async def _pause(self, phone: str, start: float) -> None:
        await self._at(start)
        await self._text(phone, 0)
        await asyncio.sleep(self.rng.uniform(0.05, 0.5))
        wamid = f"wamid.crash.echo.{phone}"
        self.wamids.append(wamid)
        await self.client.deliver(echo_body(phone, wamid), wamid)


async def kill_and_restart(
    gateway: GatewayUnderTest,
    session: aiohttp.ClientSession,
    client: WebhookClient,
    moments: list[float],
    rng: random.Random,
    started: float,
    log: list[str],
) -> None:
    for moment in moments:
        await asyncio.sleep(max(0.0, started + moment - time.monotonic()))
        await gateway.kill()
        client.figures.kills += 1
        down = rng.uniform(0.2, 1.0)
        await asyncio.sleep(down)
        took = await gateway.start(session)
        log.append(f"kill at {time.monotonic() - started - down:5.1f} s, down {down:.1f} s, "
                   f"start took {took:.1f} s")  # fmt: skip


def kill_moments(rng: random.Random) -> list[float]:
    """KILLS moments in the load window, at least 3 s apart."""
    while True:
        moments = sorted(rng.uniform(1.5, LOAD_SECONDS) for _ in range(KILLS))
        if all(b - a >= 3.0 for a, b in itertools.pairwise(moments)):
            return moments


async def test_kill_9_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path, aiohttp_server: Any
) -> None:
    """Three SIGKILLs under concurrent load: every acknowledged message stored once, every
    reply owed sent, every deadline fired once, and no reply sent twice."""
    seed = int(os.environ.get("CRASH_SEED", random.SystemRandom().randrange(10**6)))
    print(f"\ncrash test seed: {seed} (CRASH_SEED={seed} replays it)")
    rng = random.Random(seed)
    began = time.monotonic()

    graph = FakeGraph(access_token="crash-token")
    graph.latency = lambda: rng.uniform(0.02, 0.15)
    server = await aiohttp_server(graph.app)
    gateway = GatewayUnderTest(tmp_path, gateway_settings(str(server.make_url("/v21.0"))), {})
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await gateway.start(session)
        client = WebhookClient(session, gateway, rng)
        echo = StatusEcho(client, delay=0.3)
        graph.on_accepted = echo
        load = Load(client, rng)
        kills: list[str] = []
        await asyncio.gather(
            *load.plan(),
            kill_and_restart(gateway, session, client, kill_moments(rng), rng, load.started, kills),
        )
        load_done = time.monotonic() - began

        async def settled() -> bool:
            health = await gateway.health(session)
            busy = (
                health["inbox"]["unprocessed"]
                or health["outbox_in_flight"]
                or health["writer_backlog"]
                or health["parked_conversations"]
                or echo.tasks
            )
            if busy:
                return False
            [(pending,)] = gateway.query("SELECT count(*) FROM outbox WHERE status = 'pending'")
            return (
                pending == 0
                and fired("inactivity_timeout") == TIMEOUTS
                and (fired("pause_expired") == PAUSES)
            )

        def fired(status: str) -> int:
            [(n,)] = gateway.query(
                "SELECT count(DISTINCT conversation_id) FROM journal WHERE status = ?", (status,)
            )
            return int(n)

        await wait_until(settled, SETTLE_TIMEOUT, "every send done and every deadline fired")
        await echo.drain()
        code = await gateway.terminate(within=30)
    run_time = time.monotonic() - began
    assert code == 0, gateway.log_tail()

    figures = client.figures
    # 1. every acknowledged message stored exactly once (and nothing else stored)
    stored = Counter(
        pid
        for (pid,) in gateway.query(
            "SELECT provider_message_id FROM messages"
            " WHERE provider_message_id LIKE 'wamid.crash.%'"
        )
    )
    assert set(stored) == figures.acked_wamids == set(load.wamids)
    assert [w for w, n in stored.items() if n != 1] == []
    [(unprocessed,)] = gateway.query("SELECT count(*) FROM inbox WHERE processed_at IS NULL")
    assert unprocessed == 0

    # 2. every reply owed was sent, to the fake Graph, once per outbox row
    rows = gateway.query("SELECT id, recipient, text, status FROM outbox ORDER BY id")
    assert [r for r in rows if r[3] != "sent"] == []
    by_recipient: dict[str, list[str]] = {}
    for _, recipient, text, _ in rows:
        by_recipient.setdefault(recipient, []).append(text)
    owed = {p: [MENU] * MESSAGES_EACH for p in load.chatters}
    owed |= {p: [MENU, CLOSE] for p in load.timeouts}
    owed |= {p: [MENU] for p in load.pauses}
    assert by_recipient == owed
    received = sends_by_outbox_id(graph)
    assert set(received) == {r[0] for r in rows}, "an outbox row never reached the Graph API"

    # 3. every pending deadline fired once
    def journaled(status: str) -> Counter[str]:
        sql = "SELECT conversation_id FROM journal WHERE status = ?"
        return Counter(c for (c,) in gateway.query(sql, (status,)))

    timeouts = journaled("inactivity_timeout")
    expiries = journaled("pause_expired")
    assert len(timeouts) == TIMEOUTS and set(timeouts.values()) == {1}
    assert len(expiries) == PAUSES and set(expiries.values()) == {1}
    [(holding,)] = gateway.query("SELECT count(*) FROM conversation_pauses WHERE is_active = 1")
    assert holding == 0

    # 4. replies sent twice
    twice = sum(n - 1 for n in received.values())
    reconciled = sum(journaled("send_confirmed_by_status").values())
    deferred = sum(e.get("count", 0) for e in gateway.log_events("sends_unconfirmed_at_start"))
    print(
        f"kills: {figures.kills}\n  " + "\n  ".join(kills) + "\n"
        f"webhooks: {figures.posted} posted, {figures.acknowledged} acknowledged "
        f"({len(figures.acked_wamids)} messages and echoes, {figures.statuses_posted} statuses);"
        f" {figures.attempts} attempts, {figures.refused} refused, {figures.broken} cut or"
        f" refused connections, {figures.duplicates_answered} answered as duplicates\n"
        f"replies owed: {len(rows)}, distinct sent: {len(received)}, requests accepted by the"
        f" Graph API: {sum(received.values())}, sent twice: {twice}\n"
        f"sends unconfirmed at a start: {deferred}, confirmed by a status: {reconciled}\n"
        f"deadlines fired once: {len(timeouts)} inactivity timeouts, {len(expiries)} pause"
        f" expiries\n"
        f"run time: {run_time:.1f} s (load and kills {load_done:.1f} s)"
    )
    # Each send in flight at a kill is either confirmed by its status webhook (Meta, and
    # this fake, post one for every accepted send) or, without one within the grace, sent
    # again. Here statuses come 0.3 s after each send and are retried until acknowledged,
    # well within the grace, so no send may go twice.
    assert twice == 0
