"""The agent dashboard at /dashboard/, in Chromium, against the real gateway: sign-in, the
lists, a chat both ways, ending, history, roles, escaping, the feed's catch-up, canned
responses, notifications, the closed window, a phone screen and the keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import NewPage, Shot
from tests.browser.gateway_process import GatewayProcess, Operator
from tests.sim import cloud_envelope

DANA = "447700900123"
OMAR = "971500000009"


def sign_in(page: Page, gateway: GatewayProcess, operator: Operator | str) -> None:
    token = operator if isinstance(operator, str) else operator.token
    page.goto(gateway.base_url + "/dashboard/")
    page.get_by_label("Operator token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#conn")).to_have_text("live")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")


def reload(page: Page) -> None:
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")


def asks_for_agent(gateway: GatewayProcess, phone: str = DANA, name: str = "Dana Levi") -> None:
    gateway.customer_says(phone, "hi", name=name)
    gateway.customer_taps(phone, "AGENT_MODE", "Talk to Expert", name)


def tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=re.compile(f"^{name}")).click()


def count(page: Page, name: str) -> object:
    return expect(page.locator(f'[data-count="{name}"]'))


def open_first(page: Page) -> None:
    page.locator("#list .item button").first.click()


def bubbles(page: Page, sender: str) -> object:
    return page.locator(f'#messages .msg[data-sender="{sender}"]')


def accepted_chat(page: Page, gateway: GatewayProcess, agent: Operator) -> None:
    """Signed in as `agent`, with Dana's chat accepted and open."""
    sign_in(page, gateway, agent)
    asks_for_agent(gateway)
    count(page, "waiting").to_have_text("1")
    open_first(page)
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("#chat-state")).to_have_text("assigned")


def test_sign_in_shows_who_and_sign_out_forgets_the_token(
    gateway: GatewayProcess, page: Page
) -> None:
    noa = gateway.create_operator("Noa")
    sign_in(page, gateway, noa)
    expect(page.locator("#who")).to_have_text("Noa (agent)")
    assert page.evaluate("sessionStorage.length") == 1
    assert page.evaluate("localStorage.getItem('gateway.dashboard.token')") is None
    reload(page)
    expect(page.locator("#who")).to_have_text("Noa (agent)"), "the tab keeps the token"
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Operator token")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_a_wrong_token_is_refused_clearly(gateway: GatewayProcess, page: Page) -> None:
    page.goto(gateway.base_url + "/dashboard/")
    page.get_by_label("Operator token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("refused")
    expect(page.get_by_label("Operator token")).to_be_visible()


def test_a_revoked_token_brings_back_the_sign_in(gateway: GatewayProcess, page: Page) -> None:
    noa = gateway.create_operator("Noa")
    sign_in(page, gateway, noa)
    gateway.expect(200, "POST", f"/api/operators/{noa.id}/token")  # the old token stops
    page.get_by_role("button", name="Get next chat").click()
    expect(page.get_by_role("alert")).to_contain_text("revoked")
    expect(page.get_by_label("Operator token")).to_be_visible()


def test_a_waiting_customer_appears_then_the_agent_accepts(
    gateway: GatewayProcess, page: Page, shot: Shot
) -> None:
    """Live: the session shows in Waiting (number masked for an agent, time waited); the
    title counts it; Accept moves it to Active and shows the number."""
    noa = gateway.create_operator("Noa")
    sign_in(page, gateway, noa)
    count(page, "waiting").to_have_text("0")
    asks_for_agent(gateway)
    count(page, "waiting").to_have_text("1")
    item = page.locator("#list .item").first
    expect(item).to_contain_text("Dana Levi")
    expect(item).to_contain_text("•••••••0123")
    expect(item).not_to_contain_text(DANA)
    expect(item).to_contain_text("waiting just now")
    expect(page).to_have_title(re.compile(r"^\(1\) "))
    shot(page, "waiting")
    gateway.advance(180)
    reload(page)
    expect(page.locator("#list .item").first).to_contain_text("waiting 3 min")

    open_first(page)
    expect(bubbles(page, "customer").first).to_have_text(re.compile("hi"))
    expect(page.locator("#composer")).to_be_disabled()
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("#chat-state")).to_have_text("assigned")
    expect(page.get_by_role("tab", name=re.compile("^Active"))).to_have_attribute(
        "aria-selected", "true"
    )
    count(page, "active").to_have_text("1")
    count(page, "waiting").to_have_text("0")
    expect(page.locator("#chat-phone")).to_have_text(DANA)
    shot(page, "accepted")
    (session,) = gateway.expect(200, "GET", f"/api/agent/sessions/my-chats/{noa.id}")["items"]
    assert session["chat_state"] == "assigned"


def test_messages_flow_both_ways_live(gateway: GatewayProcess, page: Page) -> None:
    noa = gateway.create_operator("Noa")
    accepted_chat(page, gateway, noa)
    expect(page.get_by_placeholder("Type a message")).to_be_enabled()
    page.get_by_placeholder("Type a message").fill("Hi Dana, I am Noa")
    page.keyboard.press("Enter")
    expect(bubbles(page, "agent").last).to_contain_text("Hi Dana, I am Noa")
    expect(page.locator("#composer")).to_have_value("")
    gateway.wait_idle()
    assert any(
        line.get("length") == len("Hi Dana, I am Noa") for line in gateway.logs("would_send")
    )

    gateway.customer_says(DANA, "Where is my order?")
    expect(bubbles(page, "customer").last).to_have_text(re.compile("Where is my order"))
    page.get_by_placeholder("Type a message").fill("On its way")
    page.get_by_role("button", name="Send").click()
    expect(bubbles(page, "agent").last).to_contain_text("On its way")
    expect(bubbles(page, "agent").last.locator(".ticks")).to_have_attribute(
        "data-status", re.compile("sent|delivered|read")
    )


def test_the_customers_end_chat_closes_it(gateway: GatewayProcess, page: Page) -> None:
    noa = gateway.create_operator("Noa")
    accepted_chat(page, gateway, noa)
    gateway.customer_says(DANA, "end chat")
    expect(page.locator("#chat-state")).to_have_text("ended (customer)")
    expect(page.locator("#composer")).to_be_disabled()
    expect(page.locator("#composer-note")).to_have_text("This chat has ended.")
    count(page, "active").to_have_text("0")


def test_the_agents_end_chat_closes_it(gateway: GatewayProcess, page: Page) -> None:
    noa = gateway.create_operator("Noa")
    accepted_chat(page, gateway, noa)
    page.get_by_role("button", name="End chat").click()
    expect(page.locator("#chat-state")).to_have_text("ended (agent)")
    expect(page.get_by_role("button", name="End chat")).to_be_hidden()
    count(page, "active").to_have_text("0")
    gateway.wait_idle()
    (conversation,) = gateway.expect(200, "GET", f"/api/conversations?phone={DANA}")["items"]
    assert conversation["session"] is None and conversation["mode"] == "bot"


def test_release_puts_it_back_and_get_next_chat_takes_it(
    gateway: GatewayProcess, page: Page
) -> None:
    noa = gateway.create_operator("Noa")
    accepted_chat(page, gateway, noa)
    page.get_by_role("button", name="Release").click()
    count(page, "waiting").to_have_text("1")
    count(page, "active").to_have_text("0")
    page.get_by_role("button", name="Get next chat").click()
    expect(page.locator("#chat-state")).to_have_text("assigned")
    count(page, "active").to_have_text("1")


def test_history_search_finds_the_chat(gateway: GatewayProcess, page: Page) -> None:
    noa = gateway.create_operator("Noa")
    accepted_chat(page, gateway, noa)
    page.get_by_role("button", name="End chat").click()
    asks_for_agent(gateway, OMAR, "Omar Haddad")
    tab(page, "History")
    count(page, "history").to_have_text("1"), "an agent's history is its own"
    page.get_by_label("Search").fill("0123")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#list .item")).to_have_count(1)
    expect(page.locator("#list .item").first).to_contain_text("Dana Levi")
    page.get_by_label("Status").select_option("active")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#list-empty")).to_have_text("No session matches.")
    page.get_by_label("Status").select_option("")
    page.get_by_label("From").fill("2099-01-01")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#list-empty")).to_have_text("No session matches.")
    page.get_by_label("From").fill("")
    page.get_by_label("Status").select_option("ended")
    page.get_by_label("Search").fill("dana")
    page.get_by_label("Search").press("Enter")
    expect(page.locator("#list .item")).to_have_count(1)
    open_first(page)
    expect(page.locator("#chat-state")).to_have_text("ended (agent)")


def test_history_pages(gateway: GatewayProcess, page: Page) -> None:
    """A supervisor's history of 25 sessions: two pages of 20."""
    boss = gateway.create_operator("Rui", role="supervisor")
    for i in range(25):
        gateway.expect(201, "POST", f"/api/agent/sessions/start/4477009{i:05d}", token=boss.token)
    sign_in(page, gateway, boss)
    tab(page, "History")
    count(page, "history").to_have_text("25")
    expect(page.locator("#page-info")).to_have_text("Page 1 of 2")
    expect(page.locator("#list .item")).to_have_count(20)
    page.get_by_role("button", name="Next", exact=True).click()
    expect(page.locator("#page-info")).to_have_text("Page 2 of 2")
    expect(page.locator("#list .item")).to_have_count(5)


def test_a_supervisor_sees_all_an_agent_does_not(
    gateway: GatewayProcess, new_page: NewPage
) -> None:
    noa = gateway.create_operator("Noa")
    boss = gateway.create_operator("Rui", role="supervisor")
    agent_page, boss_page = new_page(), new_page()
    accepted_chat(agent_page, gateway, noa)
    sign_in(boss_page, gateway, boss)
    expect(agent_page.get_by_role("tab", name=re.compile("^All"))).to_be_hidden()
    all_tab = boss_page.get_by_role("tab", name=re.compile("^All"))
    expect(all_tab).to_be_visible()
    all_tab.click()
    count(boss_page, "all").to_have_text("1")
    item = boss_page.locator("#list .item").first
    expect(item).to_contain_text(DANA), "a supervisor sees the number"
    expect(item).to_contain_text("Noa")
    status, _ = gateway.api("GET", "/api/agent/sessions/all", token=noa.token)
    assert status == 403


def test_what_customers_write_is_text_never_markup(gateway: GatewayProcess, page: Page) -> None:
    noa = gateway.create_operator("Noa")
    sign_in(page, gateway, noa)
    evil = "<img src=x onerror=window.pwned=1><script>window.pwned=2</script>"
    asks_for_agent(gateway, name="<b>Dana</b><script>window.pwned=3</script>")
    count(page, "waiting").to_have_text("1")
    expect(page.locator("#list .item").first).to_contain_text("<b>Dana</b>")
    open_first(page)
    page.get_by_role("button", name="Accept").click()
    gateway.customer_says(DANA, evil)
    expect(bubbles(page, "customer").last).to_contain_text(evil)
    page.get_by_placeholder("Type a message").fill("<script>window.pwned=4</script>")
    page.keyboard.press("Enter")
    expect(bubbles(page, "agent").last).to_contain_text("<script>window.pwned=4</script>")
    assert page.evaluate("window.pwned") is None
    assert page.locator("#messages script, #messages img, #list b").count() == 0


def test_a_dropped_socket_reconnects_and_catches_up(gateway: GatewayProcess, page: Page) -> None:
    """While the feed is down the mark says so; what happened meanwhile arrives after the
    reconnect (?since=), without a reload."""
    noa = gateway.create_operator("Noa")
    accepted_chat(page, gateway, noa)
    page.evaluate("window.dashboard.feed.drop({hold: true})")
    expect(page.locator("#conn")).to_have_text("reconnecting…")
    gateway.customer_says(DANA, "are you there?")
    asks_for_agent(gateway, OMAR, "Omar Haddad")
    page.wait_for_timeout(300)  # a short look: nothing may arrive while the socket is down
    expect(bubbles(page, "customer").last).not_to_contain_text("are you there?")
    page.evaluate("window.dashboard.feed.resume()")
    expect(page.locator("#conn")).to_have_text("live")
    expect(bubbles(page, "customer").last).to_contain_text("are you there?")
    count(page, "waiting").to_have_text("1")


def test_a_restart_of_the_gateway_resyncs_the_page(gateway: GatewayProcess, page: Page) -> None:
    """Events from before a restart are gone: the page gets `resync` and reloads its lists,
    including what happened while it was down."""
    noa = gateway.create_operator("Noa")
    sign_in(page, gateway, noa)
    gateway.stop()
    expect(page.locator("#conn")).to_have_text("reconnecting…")
    gateway.start_again()
    asks_for_agent(gateway)
    expect(page.locator("#conn")).to_have_text("live", timeout=15_000)
    count(page, "waiting").to_have_text("1")


@pytest.mark.parametrize(
    "gateway",
    [
        "[dashboard]\ncanned_responses = [\n"
        '  { title = "Greeting", text = "Hi {customer_name}, I am {agent_name}." },\n'
        '  { title = "Opening hours", text = "We are open 9 to 5, {customer_name}." },\n'
        "]\n"
    ],
    indirect=True,
)
def test_a_canned_response_is_inserted_and_sent(gateway: GatewayProcess, page: Page) -> None:
    noa = gateway.create_operator("Noa")
    listed = gateway.expect(200, "GET", "/api/canned-responses", token=noa.token)
    assert [c["title"] for c in listed["items"]] == ["Greeting", "Opening hours"]
    accepted_chat(page, gateway, noa)
    box = page.get_by_placeholder("Type a message")
    box.press_sequentially("/ho")
    options = page.get_by_role("option")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Opening hours")
    expect(options.first).to_contain_text("We are open 9 to 5, Dana Levi.")
    box.press("Enter")
    expect(box).to_have_value("We are open 9 to 5, Dana Levi.")
    expect(page.get_by_role("listbox")).to_be_hidden()
    box.press("Enter")
    expect(bubbles(page, "agent").last).to_contain_text("We are open 9 to 5, Dana Levi.")
    box.press_sequentially("/")
    expect(page.get_by_role("option")).to_have_count(2)
    box.press("Escape")
    expect(page.get_by_role("listbox")).to_be_hidden()
    expect(box).to_have_value("/")


def test_the_title_counts_new_waiting_chats_and_held_chat_messages(
    gateway: GatewayProcess, page: Page
) -> None:
    noa = gateway.create_operator("Noa")
    sign_in(page, gateway, noa)
    expect(page).to_have_title("Agent dashboard")
    asks_for_agent(gateway)
    expect(page).to_have_title("(1) Agent dashboard")
    asks_for_agent(gateway, OMAR, "Omar Haddad")
    expect(page).to_have_title("(2) Agent dashboard")
    page.locator("body").click()
    expect(page).to_have_title("Agent dashboard"), "coming back to the page clears it"
    open_first(page)
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("#chat-state")).to_have_text("assigned")
    page.keyboard.press("Escape")  # out of the text box
    page.keyboard.press("Escape")  # out of the chat: its messages now count
    expect(page.locator("#chat")).to_be_hidden()
    gateway.customer_says(DANA, "hello?")
    expect(page).to_have_title("(1) Agent dashboard")
    expect(page.locator("[data-session-id] .unread")).to_have_text("1")
    assert page.evaluate("document.getElementById('sound').checked") is True
    page.get_by_label("Sound").uncheck()
    assert page.evaluate("localStorage.getItem('gateway.dashboard.sound')") == "off"


def test_the_window_closed_is_said_before_sending(gateway: GatewayProcess, page: Page) -> None:
    """Dana wrote 23 hours ago; an agent opens a session for her, and 1.5 hours later the
    24-hour window has closed: the text box says so instead of failing on send."""
    noa = gateway.create_operator("Noa")
    gateway.customer_says(DANA, "hi")
    gateway.advance(23 * 3600)
    gateway.expect(201, "POST", f"/api/agent/sessions/start/{DANA}")  # a supervisor's act
    sign_in(page, gateway, noa)
    open_first(page)
    page.get_by_role("button", name="Accept").click()
    page.get_by_placeholder("Type a message").fill("Hello Dana, still there?")
    page.keyboard.press("Enter")  # now it waits for her: no idle release
    expect(bubbles(page, "agent").last).to_contain_text("still there?")
    gateway.advance(int(1.5 * 3600))
    reload(page)
    tab(page, "Active")
    open_first(page)
    expect(page.locator("#composer")).to_be_disabled()
    expect(page.locator("#composer-note")).to_contain_text("24-hour window is closed")
    gateway.customer_says(DANA, "I'm back")
    expect(page.get_by_placeholder("Type a message")).to_be_enabled()


def test_on_a_phone_the_list_and_the_chat_take_turns(
    gateway: GatewayProcess, phone_page: Page
) -> None:
    page = phone_page
    noa = gateway.create_operator("Noa")
    sign_in(page, gateway, noa)
    asks_for_agent(gateway)
    count(page, "waiting").to_have_text("1")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "nothing runs off the screen"
    open_first(page)
    expect(page.locator("#list")).to_be_hidden()
    page.get_by_role("button", name="Accept").click()
    page.get_by_placeholder("Type a message").fill("Hello from a phone")
    page.get_by_role("button", name="Send").click()
    expect(bubbles(page, "agent").last).to_contain_text("Hello from a phone")
    page.get_by_role("button", name="Back to the list").click()
    expect(page.locator("#list")).to_be_visible()


def test_keyboard_alone(gateway: GatewayProcess, page: Page) -> None:
    """Tab to the token, Enter signs in; arrows move between tabs; Enter opens a chat,
    the buttons take Enter, Enter sends, Escape leaves the chat."""
    noa = gateway.create_operator("Noa")
    asks_for_agent(gateway)
    page.goto(gateway.base_url + "/dashboard/")
    expect(page.get_by_label("Operator token")).to_be_focused()
    page.keyboard.type(noa.token)
    page.keyboard.press("Enter")
    expect(page.locator("#conn")).to_have_text("live")
    page.get_by_role("tab", name=re.compile("^Waiting")).focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name=re.compile("^Active"))).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("tab", name=re.compile("^Waiting"))).to_have_attribute(
        "aria-selected", "true"
    )
    page.keyboard.press("Tab")
    expect(page.locator("#list .item button").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Accept")).to_be_visible()
    page.get_by_role("button", name="Accept").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#composer")).to_be_focused()
    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Enter")
    expect(bubbles(page, "agent").last).to_contain_text("Typed without a mouse")
    expect(page.locator("#composer")).to_have_value("")
    page.keyboard.press("Escape")  # leaves the text box
    page.keyboard.press("Escape")  # leaves the chat
    expect(page.locator("#chat")).to_be_hidden()


def test_structured_messages_are_readable_and_nothing_leaves_the_gateway(
    gateway: GatewayProcess, page: Page
) -> None:
    """A location with a map link, a contact, an order, a reply quoting its message, a
    reaction, an edit and a deletion; and every request the page made went to the gateway."""
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    noa = gateway.create_operator("Noa")
    accepted_chat(page, gateway, noa)

    def sends(kind: str, part: dict[str, object], **extra: object) -> str:
        wamid, ts = gateway.message_stamp()
        message = {"from": DANA, "id": wamid, "timestamp": str(ts), "type": kind, kind: part}
        message.update(extra)
        contacts = [{"profile": {"name": "Dana Levi"}, "wa_id": DANA}]
        gateway.post_cloud(cloud_envelope("310000000000002", contacts, [message]))
        return wamid

    sends("location", {"latitude": 51.5033, "longitude": -0.1196, "name": "County Hall",
                       "address": "Westminster Bridge Rd"})  # fmt: skip
    card = {"name": {"formatted_name": "Ada Lovelace"}, "phones": [{"phone": "+44 20 7946 0000"}],
            "emails": [{"email": "ada@example.com"}]}  # fmt: skip
    shared = sends("contacts", [card])  # type: ignore[arg-type]
    item = {"product_retailer_id": "sku_tee", "quantity": 2, "item_price": 12.5, "currency": "GBP"}
    sends("order", {"catalog_id": "c1", "text": "for Friday", "product_items": [item]})
    reply = sends("text", {"body": "that is my friend"}, context={"from": DANA, "id": shared})
    sends("reaction", {"message_id": reply, "emoji": "👍"})
    typo = sends("text", {"body": "see you tomorow"})
    fixed = {"type": "text", "text": {"body": "see you tomorrow"}}
    sends("edit", {"original_message_id": typo, "message": fixed})
    gone = sends("text", {"body": "oops, wrong chat"})
    sends("revoke", {"original_message_id": gone})

    customer = bubbles(page, "customer")
    expect(page.locator("#messages")).to_contain_text("that is my friend")
    location = customer.filter(has_text="County Hall")
    expect(location).to_contain_text("Westminster Bridge Rd")
    expect(location.get_by_role("link", name="Open the map")).to_have_attribute(
        "href", re.compile(r"^https://www\.openstreetmap\.org/\?mlat=51\.5033&mlon=-0\.1196")
    )
    contact = customer.filter(has_text="Shared contact")
    expect(contact).to_contain_text("+44 20 7946 0000")
    expect(contact).to_contain_text("ada@example.com")
    expect(customer.filter(has_text="sku_tee")).to_contain_text("2 × sku_tee at 12.5 GBP")
    quoted = customer.filter(has_text="that is my friend")
    expect(quoted.locator(".quote")).to_contain_text("Ada Lovelace")
    reload(page)  # reactions, edits and deletions change earlier messages: shown on reload too
    tab(page, "Active")
    open_first(page)
    expect(bubbles(page, "customer").filter(has_text="that is my friend")).to_contain_text("👍")
    edited = bubbles(page, "customer").filter(has_text="see you tomorrow")
    expect(edited.locator(".edited")).to_have_attribute("title", "before: see you tomorow")
    expect(page.locator("#messages")).to_contain_text("This message was deleted")
    expect(page.locator("#messages")).not_to_contain_text("oops, wrong chat")
    outside = [u for u in requests if not u.startswith((gateway.base_url, "blob:", "data:"))]
    assert outside == [], "the page asks nothing of any other origin"
