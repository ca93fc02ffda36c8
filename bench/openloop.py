"""An open-loop webhook driver for the benchmarks that measure acks while something else
runs (archive, outbound): signed Cloud API text webhooks at a fixed rate."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass

import aiohttp

from bench.payloads import APP_SECRET


@dataclass
class Sample:
    scheduled: float  # perf_counter instant the webhook was due to be sent
    ack_ms: float
    status: int


class Load:
    """Webhooks at `rate` a second, open-loop: each leaves at its instant, whatever came
    back, and its ack is timed from that instant (a stall counts in full). Each is a new
    text message from one of `customers` phones starting with `phones`."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: str,
        prefix: str,
        *,
        rate: float,
        customers: int,
        phones: str = "4475",
    ) -> None:
        from bench.payloads import text_webhook
        from gateway.signature import sign

        self._http = http
        self._url = f"{url}/webhooks/whatsapp"
        self._prefix = prefix
        self._n = 0
        self._rate = rate
        self._customers = customers
        self._phones = phones
        self._text_webhook = text_webhook
        self._sign = sign
        self.samples: list[Sample] = []

    def _next(self) -> tuple[bytes, str]:
        n, self._n = self._n, self._n + 1
        phone = f"{self._phones}{n % self._customers:08d}"
        raw = self._text_webhook(phone, f"wamid.{self._prefix}{n:09d}", int(time.time()), "hi")
        return raw, self._sign(raw, APP_SECRET)

    async def _one(self, raw: bytes, signature: str, scheduled: float) -> None:
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
        try:
            async with self._http.post(self._url, data=raw, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        self.samples.append(Sample(scheduled, (time.perf_counter() - scheduled) * 1000, status))

    async def run(self, stop: asyncio.Event) -> None:
        tasks: set[asyncio.Task[None]] = set()
        start = time.perf_counter()
        for n in itertools.count():
            due = start + n / self._rate
            wait = due - time.perf_counter()
            if wait > 0:
                try:
                    await asyncio.wait_for(stop.wait(), wait)
                except TimeoutError:
                    pass
            if stop.is_set():
                break
            raw, signature = self._next()
            task = asyncio.create_task(self._one(raw, signature, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)

    async def for_seconds(self, seconds: float) -> tuple[float, float]:
        stop = asyncio.Event()
        runner = asyncio.create_task(self.run(stop))
        start = time.perf_counter()
        await asyncio.sleep(seconds)
        stop.set()
        await runner
        return start, start + seconds

    def window(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.scheduled <= end]


def summary(samples: list[Sample]) -> dict[str, float]:
    acks = sorted(s.ack_ms for s in samples)
    if not acks:
        return {"n": 0, "p50": 0.0, "p99": 0.0, "max": 0.0, "errors": 0, "rps": 0.0}
    span = max(s.scheduled for s in samples) - min(s.scheduled for s in samples)
    return {
        "n": len(acks),
        "p50": acks[len(acks) // 2],
        "p99": acks[min(len(acks) - 1, int(0.99 * len(acks)))],
        "max": acks[-1],
        "errors": sum(s.status != 200 for s in samples),
        "rps": len(acks) / span if span else 0.0,
    }
