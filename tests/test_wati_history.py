"""gateway.providers.wati_history against the fake WATI tenant: pages read in either order
until the chat is covered, items mapped to HistoryMessages (who wrote them, their status and
content), failures told retryable or not, and the token sent on every request but never
logged."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog

from actors.maintenance.history import HistoryChat, HistoryError, HistoryMessage
from gateway.providers.wati_history import WatiHistory
from storage.content import Document, Image, Location, Template, Text
from tests.fake_wati import FakeWati

TOKEN = "wati-history-token-5f1c9d"
BUSINESS = "310000000000002"
PHONE = "966509491382"
CHAT = HistoryChat(conversation_id="conv-1", business_id=BUSINESS, phone=PHONE)
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
Make = Callable[..., WatiHistory]


def at(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def item(n: int, **fields: Any) -> dict[str, Any]:
    """A v1 history item (fields as WATI_API.md section 4 lists them), n minutes after T0."""
    return {
        "id": f"66f1a1d3e4b0a1b2c3d4{n:04d}",
        "eventType": "message",
        "conversationId": "66f19f00e4b0a1b2c3d40001",
        "ticketId": "66f19f00e4b0a1b2c3d4ff01",
        "text": f"message {n}",
        "type": "text",
        "data": None,
        "timestamp": str(int(at(n).timestamp())),
        "owner": False,
        "statusString": "READ",
        "whatsappMessageId": None,
        "localMessageId": None,
        "operatorName": None,
        "operatorEmail": None,
        **fields,
    }


class CountingPacer:
    def __init__(self) -> None:
        self.slots = 0

    async def slot(self) -> None:
        self.slots += 1


@pytest.fixture
async def wati(aiohttp_server: Any) -> AsyncIterator[tuple[FakeWati, str]]:
    fake = FakeWati(token=TOKEN)
    server = await aiohttp_server(fake.app)
    yield fake, str(server.make_url("/123456"))
    fake.release_history()  # a request left hanging answers before the server stops


@pytest.fixture
async def make(wati: tuple[FakeWati, str]) -> AsyncIterator[Make]:
    """Build sources on the fake (page size 3, unpaced); all closed at the end."""
    made: list[WatiHistory] = []

    def build(**kw: Any) -> WatiHistory:
        settings: dict[str, Any] = {
            "api_base": wati[1],
            "token": TOKEN,
            "page_size": 3,
            "pacer": CountingPacer(),
        }
        source = WatiHistory(**{**settings, **kw})
        made.append(source)
        return source

    yield build
    for source in made:
        await source.close()


def ids(messages: list[HistoryMessage]) -> list[str]:
    return [m.provider_message_id for m in messages]


def wati_id(n: int) -> str:
    return f"wati:66f1a1d3e4b0a1b2c3d4{n:04d}"


def pages(fake: FakeWati) -> list[str]:
    return [r.query["pageNumber"] for r in fake.history_requests()]


# --- paging --------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
async def test_all_pages_are_read_until_a_short_one(
    wati: tuple[FakeWati, str], make: Make, order: Any
) -> None:
    """Without `since`, every page is read, in either order, and the result is oldest first."""
    fake, _ = wati
    fake.history_order = order
    fake.add_history(PHONE, [item(n) for n in range(7)])
    pacer = CountingPacer()
    messages = await make(pacer=pacer).fetch(CHAT, None)
    assert ids(messages) == [wati_id(n) for n in range(7)]
    assert [m.created_at for m in messages] == [at(n) for n in range(7)]
    assert pages(fake) == ["1", "2", "3"]
    assert {r.query["pageSize"] for r in fake.history_requests()} == {"3"}
    assert pacer.slots == 3  # every request waits for its slot


async def test_a_full_last_page_is_followed_by_an_empty_one(
    wati: tuple[FakeWati, str], make: Make
) -> None:
    """Six items in pages of three: the end shows only as an empty third page."""
    fake, _ = wati
    fake.add_history(PHONE, [item(n) for n in range(6)])
    assert len(await make().fetch(CHAT, None)) == 6
    assert pages(fake) == ["1", "2", "3"]


async def test_since_stops_at_the_first_older_page_when_pages_run_newest_first(
    wati: tuple[FakeWati, str], make: Make
) -> None:
    """Newest first, the page that reaches back past `since` is the last one read."""
    fake, _ = wati
    fake.add_history(PHONE, [item(n) for n in range(12)])
    messages = await make().fetch(CHAT, at(7))
    assert ids(messages) == [wati_id(n) for n in range(7, 12)]  # `since` itself included
    assert pages(fake) == ["1", "2"]  # [11 10 9] [8 7 6]: 6 is older, so no page 3


async def test_since_reads_to_the_end_when_pages_run_oldest_first(
    wati: tuple[FakeWati, str], make: Make
) -> None:
    """Oldest first, the newer messages are on the last pages: all of them are read."""
    fake, _ = wati
    fake.history_order = "oldest_first"
    fake.add_history(PHONE, [item(n) for n in range(10)])
    messages = await make().fetch(CHAT, at(7))
    assert ids(messages) == [wati_id(n) for n in range(7, 10)]
    assert pages(fake) == ["1", "2", "3", "4"]


async def test_an_order_the_times_cannot_tell_is_read_to_the_end(
    wati: tuple[FakeWati, str], make: Make
) -> None:
    """Items all stamped alike give no order: paging never stops early on a guess."""
    fake, _ = wati
    fake.add_history(PHONE, [item(n, timestamp=str(int(T0.timestamp()))) for n in range(7)])
    assert await make().fetch(CHAT, at(5)) == []
    assert pages(fake) == ["1", "2", "3"]


async def test_repeated_messages_are_kept_once(wati: tuple[FakeWati, str], make: Make) -> None:
    """A message seen twice (the pages shifted under a new message) is returned once."""
    fake, _ = wati
    fake.add_history(PHONE, [item(1, whatsappMessageId="wamid.X"), item(2)])
    fake.add_history(PHONE, [item(1, whatsappMessageId="wamid.X")])
    assert ids(await make().fetch(CHAT, None)) == ["wamid.X", wati_id(2)]


async def test_too_many_pages_is_an_error_not_a_silent_cut(
    wati: tuple[FakeWati, str], make: Make
) -> None:
    fake, _ = wati
    fake.add_history(PHONE, [item(n) for n in range(10)])
    with pytest.raises(HistoryError) as caught:
        await make(max_pages=2).fetch(CHAT, None)
    assert (caught.value.reason, caught.value.retryable) == ("too_many_pages", False)


async def test_the_channel_and_a_plus_prefixed_phone(
    wati: tuple[FakeWati, str], make: Make
) -> None:
    """The business number's channel goes in `channelPhoneNumber`; the `+` never in the path."""
    fake, _ = wati
    fake.add_history(PHONE, [item(1)])
    source = make(channels={BUSINESS: "15557654321"})
    chat = HistoryChat(conversation_id="conv-1", business_id=BUSINESS, phone=f"+{PHONE}")
    assert len(await source.fetch(chat, None)) == 1
    [request] = fake.history_requests()
    assert (request.target, request.query["channelPhoneNumber"]) == (PHONE, "15557654321")


# --- mapping -------------------------------------------------------------------------------


async def test_who_wrote_each_message(wati: tuple[FakeWati, str], make: Make) -> None:
    """owner false is the customer; owner true an operator (by e-mail or name), our bot (our
    `gw-` send, or WATI's bot), or WATI itself (no operator); tickets are left out."""
    fake, _ = wati
    fake.add_history(
        PHONE,
        [
            item(1, whatsappMessageId="wamid.IN", replyContextId=""),
            item(2, owner=True, operatorEmail="lina@abar.app", operatorName="Lina",
                 statusString="DELIVERED", replyContextId="wamid.IN"),
            item(3, owner=True, operatorName="Bot", statusString="SENT"),
            item(4, owner=True, localMessageId="gw-42", operatorEmail="contracts@abar.app",
                 operatorName="API", statusString="FAILED"),
            item(5, owner=True),
            item(6, eventType="ticket", type=1, owner=None, text=None),
            item(7, eventType="broadcastMessage", type=None, owner=None, text=None,
                 finalText="Your order 1001 shipped", templateName="order_update"),
        ],
    )  # fmt: skip
    got = {m.provider_message_id: m for m in await make().fetch(CHAT, None)}
    assert list(got) == ["wamid.IN", *(wati_id(n) for n in (2, 3, 4, 5, 7))]
    customer, agent, bot, ours, system, broadcast = got.values()
    assert (customer.direction, customer.sender_type, customer.status) == ("in", "customer", None)
    assert (customer.text, customer.content, customer.reply_to) == (
        "message 1",
        Text(body="message 1"),
        None,
    )
    assert (agent.direction, agent.sender_type, agent.sender_id) == (
        "out",
        "agent",
        "lina@abar.app",
    )
    assert (agent.status, agent.reply_to) == ("delivered", "wamid.IN")
    assert (bot.sender_type, bot.sender_id, bot.status) == ("bot", None, "sent")
    assert (ours.sender_type, ours.status) == ("bot", "failed")
    assert (system.sender_type, system.status) == ("system", "read")
    assert (broadcast.direction, broadcast.sender_type, broadcast.kind) == (
        "out",
        "system",
        "template",
    )
    assert broadcast.content == Template(name="order_update", text="Your order 1001 shipped")
    assert broadcast.text == "Your order 1001 shipped"
    assert all(m.created_at.tzinfo is UTC for m in got.values())


async def test_media_and_location_content(wati: tuple[FakeWati, str], make: Make) -> None:
    """Media paths become the URLs WATI serves them at; a location keeps its coordinates;
    the readable text is the one the conversation shows."""
    fake, base = wati
    fake.add_history(
        PHONE,
        [
            item(1, type="image", text="the receipt", data="data/images/0b1c.jpg"),
            item(2, type="document", text="price list.pdf", data="data/documents/9f2e.pdf"),
            item(3, type="location", text="Olaya St",
                 data={"latitude": 24.69, "longitude": 46.68, "name": "Branch 2"}),
            item(4, type="image", data="https://cdn.example/full.jpg", text=None),
        ],
    )  # fmt: skip
    image, document, location, remote = await make().fetch(CHAT, None)
    assert image.content == Image(
        url=f"{base}/api/file/showFile?fileName=data/images/0b1c.jpg", caption="the receipt"
    )
    assert (image.kind, image.text) == ("image", "[image] the receipt")
    assert document.content == Document(
        url=f"{base}/api/file/showFile?fileName=data/documents/9f2e.pdf",
        filename="price list.pdf",
    )
    assert document.text == "[document: price list.pdf]"
    assert location.content == Location(
        latitude=24.69, longitude=46.68, name="Branch 2", address="Olaya St"
    )
    assert location.text == "[location] Branch 2, Olaya St (24.69, 46.68)"
    assert remote.content == Image(url="https://cdn.example/full.jpg")


async def test_times_from_created_and_unreadable_items_are_skipped(
    wati: tuple[FakeWati, str], make: Make
) -> None:
    """An ISO `created` stands in for a missing timestamp; items with no time, no id, no
    owner or a wrong shape are skipped with a logged reason, the rest kept."""
    fake, _ = wati
    fake.history_order = "oldest_first"
    fake.add_history(
        PHONE,
        [
            item(1, timestamp=None, created="2026-11-01T09:01:00.3382793Z"),
            item(2, timestamp=None, created=None),
            item(3, id=None),
            item(4, owner=None),
            item(5, owner="yes"),
            "not an object",
        ],
    )
    with structlog.testing.capture_logs() as logs:
        [message] = await make(page_size=10).fetch(CHAT, None)
    assert message.created_at == datetime(2026, 11, 1, 9, 1, 0, 338279, tzinfo=UTC)
    reasons = [e["reason"] for e in logs if e["event"] == "wati_history_item_skipped"]
    assert [r.split(":")[0] for r in reasons] == [
        "no_time", "no_id", "no_owner", "invalid", "not_an_object"
    ]  # fmt: skip


# --- failures ------------------------------------------------------------------------------


async def test_a_refused_token_is_final(wati: tuple[FakeWati, str], make: Make) -> None:
    fake, _ = wati
    fake.token = "rotated"
    with structlog.testing.capture_logs() as logs, pytest.raises(HistoryError) as caught:
        await make().fetch(CHAT, None)
    error = caught.value
    assert (error.reason, error.retryable, error.status) == ("auth", False, 401)
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["wati_history_token_refused"]


@pytest.mark.parametrize(
    ("status", "reason", "retryable"),
    [
        (403, "auth", False),
        (400, "bad_request", False),
        (404, "bad_request", False),
        (500, "server", True),
        (502, "server", True),
        (503, "server", True),
    ],
)
async def test_http_failures(
    wati: tuple[FakeWati, str], make: Make, status: int, reason: str, retryable: bool
) -> None:
    fake, _ = wati
    fake.fail_history(status)
    with pytest.raises(HistoryError) as caught:
        await make().fetch(CHAT, None)
    assert (caught.value.reason, caught.value.retryable, caught.value.status) == (
        reason,
        retryable,
        status,
    )
    assert caught.value.retry_after is None


async def test_429_is_retryable_after_what_wati_asks(
    wati: tuple[FakeWati, str], make: Make
) -> None:
    """Rate limited: retry later, after Retry-After; a later call reads from page 1."""
    fake, _ = wati
    fake.add_history(PHONE, [item(n) for n in range(4)])
    fake.fail_history(429, times=1, retry_after="7")
    source = make()
    with pytest.raises(HistoryError) as caught:
        await source.fetch(CHAT, None)
    assert (caught.value.reason, caught.value.retryable) == ("rate_limited", True)
    assert (caught.value.status, caught.value.retry_after) == (429, 7.0)
    assert len(await source.fetch(CHAT, None)) == 4
    assert pages(fake) == ["1", "1", "2"]


async def test_a_failure_mid_way_fails_the_whole_fetch(
    wati: tuple[FakeWati, str], make: Make
) -> None:
    """Page 2 fails: nothing half-read is returned, the error is retryable."""
    fake, _ = wati
    fake.add_history(PHONE, [item(n) for n in range(7)])
    fake.fail_history(200)  # page 1 as usual
    fake.fail_history(503)
    with pytest.raises(HistoryError) as caught:
        await make().fetch(CHAT, None)
    assert (caught.value.reason, caught.value.retryable) == ("server", True)
    assert pages(fake) == ["1", "2"]


async def test_a_hanging_request_times_out_retryably(
    wati: tuple[FakeWati, str], make: Make
) -> None:
    fake, _ = wati
    fake.hang_history()
    with pytest.raises(HistoryError) as caught:
        await make(timeout_seconds=0.05).fetch(CHAT, None)
    assert (caught.value.reason, caught.value.retryable, caught.value.status) == (
        "timeout",
        True,
        None,
    )
    assert len(fake.history_requests()) == 1


async def test_a_connection_error_is_retryable(make: Make) -> None:
    source = make(api_base="http://127.0.0.1:9/123456")  # discard port: nothing listens
    with pytest.raises(HistoryError) as caught:
        await source.fetch(CHAT, None)
    assert (caught.value.reason, caught.value.retryable) == ("network", True)


async def test_a_refusal_in_a_200_is_final(wati: tuple[FakeWati, str], make: Make) -> None:
    """`200 {"result": false, "info": ...}` is WATI refusing, whatever the status says."""
    fake, _ = wati
    fake.fail_history(result_false="Invalid Conversation")
    with pytest.raises(HistoryError) as caught:
        await make().fetch(CHAT, None)
    error = caught.value
    assert (error.reason, error.retryable, error.detail) == (
        "refused",
        False,
        "Invalid Conversation",
    )


async def test_an_unset_api_base_is_final(make: Make) -> None:
    with pytest.raises(HistoryError) as caught:
        await make(api_base="").fetch(CHAT, None)
    assert (caught.value.reason, caught.value.retryable) == ("not_configured", False)


# --- the token -----------------------------------------------------------------------------


async def test_the_token_goes_on_every_request_and_into_no_log(
    wati: tuple[FakeWati, str], make: Make
) -> None:
    """The fake answers 401 to a request without the bearer token; none did. Neither the
    log lines nor the errors, on success or failure, carry the token."""
    fake, _ = wati
    fake.add_history(PHONE, [item(n) for n in range(7)] + [item(8, owner=None)])
    source = make()
    errors: list[str] = []
    with structlog.testing.capture_logs() as logs:
        await source.fetch(CHAT, None)
        for plan in (lambda: fake.fail_history(429, retry_after="2"),
                     lambda: setattr(fake, "token", "rotated")):  # fmt: skip
            plan()
            try:
                await source.fetch(CHAT, None)
            except HistoryError as exc:
                errors.append(f"{exc!r} {exc.detail} {exc.__cause__!r}")
    assert [r.status for r in fake.history_requests()][:3] == [200, 200, 200]
    assert len(errors) == 2 and logs
    assert TOKEN not in repr(logs) and not any(TOKEN in e for e in errors)
