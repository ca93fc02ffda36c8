// The agent dashboard: sign-in, the Waiting / Active / All / History lists, a chat, and the
// real-time feed that keeps them current. Plain modules, no build step.

import { api, ApiError, query, token, whenUnauthorized } from "./api.js";
import { Canned } from "./canned.js";
import { bubble } from "./chat.js";
import { Feed } from "./feed.js";
import { el, maskPhone, plural, serverNow, setServerNow, waited } from "./format.js";
import { Notifier } from "./notify.js";

const $ = (id) => document.getElementById(id);
const SESSIONS = "/api/agent/sessions";
const WINDOW_MS = 24 * 3600 * 1000;
const HISTORY_PAGE = 20;

const state = {
  me: null,
  tab: "waiting",
  open: new Map(), // open sessions by id: the Waiting, Active and All lists
  latest: new Map(), // the newest view of every session seen (ended ones too), by id
  history: { items: [], total: 0, offset: 0 },
  names: new Map(), // operator id -> name
  canned: [],
  unread: new Map(), // session id -> customer messages not seen
  announced: new Set(), // waiting sessions already notified
  chat: null, // { session, messages: Map, context: [], windowOpen, windowEnds }
  feed: null,
  timers: [],
};
let notifier;
let canned;

// --- signing in and out ---------------------------------------------------------------

async function boot() {
  notifier = new Notifier({ soundToggle: $("sound"), permissionButton: $("notify-permission") });
  whenUnauthorized((message) => signOut(message));
  $("signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = $("token").value.trim();
    if (!value) return showSignIn("Enter your operator token.");
    token.set(value);
    await start();
  });
  $("signout").addEventListener("click", () => signOut(""));
  wireTabs();
  wireChat();
  wireHistory();
  $("next-chat").addEventListener("click", nextChat);
  document.addEventListener("keydown", globalKeys);
  if (token.get()) await start();
  else showSignIn("");
}

function showSignIn(message) {
  $("app-view").hidden = true;
  $("signin-view").hidden = false;
  $("signin-error").hidden = !message;
  $("signin-error").textContent = message;
  $("token").value = "";
  $("token").focus();
}

async function start() {
  let me;
  try {
    me = await api("GET", "/api/me");
  } catch (error) {
    token.clear();
    const message = error.status === 401
      ? "That token was refused: it is wrong or has been revoked."
      : `The gateway could not be reached (${error.message}).`;
    return showSignIn(message);
  }
  state.me = me;
  state.names.set(me.id, me.name);
  $("signin-view").hidden = true;
  $("app-view").hidden = false;
  $("who").textContent = `${me.name} (${me.role})`;
  $("tab-all").hidden = !isSupervisor();
  $("h-agent-label").hidden = !isSupervisor();
  $("next-chat").hidden = !me.operator;
  state.feed = new Feed({
    token: token.get(),
    onEvent: onFrame,
    onState: showConnection,
    onResync: () => reload().catch(report),
    onRefused: () => api("GET", "/api/me").catch(() => {}),
  });
  state.feed.start();
  window.dashboard = { state, feed: state.feed };
  try {
    await reload();
  } catch (error) {
    return report(error); // a refused token has signed out already
  }
  state.timers.push(setInterval(() => renderList(), 30000));
  state.timers.push(setInterval(() => refreshChat().catch(() => {}), 5000));
  selectTab(state.tab);
  document.body.dataset.ready = "true";
}

function signOut(message) {
  delete document.body.dataset.ready;
  if (state.feed) state.feed.stop();
  state.feed = null;
  state.timers.forEach(clearInterval);
  state.timers = [];
  token.clear();
  state.me = null;
  state.open.clear();
  state.latest.clear();
  state.unread.clear();
  state.chat = null;
  closeChatView();
  showSignIn(message);
}

function isSupervisor() {
  return state.me && (state.me.role === "supervisor" || state.me.role === "admin");
}

function showConnection(status) {
  const mark = $("conn");
  mark.dataset.state = status;
  mark.textContent = { connected: "live", connecting: "connecting…", reconnecting: "reconnecting…" }[status];
}

// --- loading --------------------------------------------------------------------------

/** Everything the lists show, from the API (at start and after a `resync`). */
async function reload() {
  const clock = await api("GET", "/api/admin/clock");
  setServerNow(clock.now);
  const lists = [api("GET", `${SESSIONS}/waiting`)];
  if (state.me.operator) lists.push(api("GET", `${SESSIONS}/my-chats/${encodeURIComponent(state.me.id)}`));
  if (isSupervisor()) lists.push(api("GET", `${SESSIONS}/all`));
  const found = await Promise.all(lists);
  state.open.clear();
  for (const list of found) for (const session of list.items) upsert(session, { quiet: true });
  if (isSupervisor()) await loadOperators();
  if (!state.canned.length) state.canned = (await api("GET", "/api/canned-responses")).items;
  if (state.tab === "history") await searchHistory(state.history.offset);
  if (state.chat) await openChat(state.chat.session.id, { keepScroll: true });
  renderList();
}

async function loadOperators() {
  const found = await api("GET", "/api/operators");
  const select = $("h-agent");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "", text: "Any" }));
  for (const op of found.items) {
    state.names.set(op.id, op.name);
    select.append(el("option", { value: op.id, text: op.name }));
  }
  select.value = chosen;
}

/** A session as it now stands; the lists follow. `quiet`: no notification. */
function upsert(session, { quiet = false } = {}) {
  const known = state.latest.get(session.id);
  if (known && known.rev > session.rev) return;
  state.latest.set(session.id, session);
  if (session.status === "ended") state.open.delete(session.id);
  else state.open.set(session.id, session);
  if (state.chat && state.chat.session.id === session.id) {
    state.chat.session = session;
    renderChatHead();
  }
  if (!quiet && isWaiting(session)) announceWaiting(session);
  if (quiet && isWaiting(session)) state.announced.add(session.id);
}

function isWaiting(session) {
  return session.status === "waiting" && session.chat_state === "waiting_assignment";
}

function holds(session) {
  return session && state.me && session.agent_id === state.me.id && session.status !== "ended";
}

function lists() {
  const open = [...state.open.values()];
  const byWait = (a, b) => Date.parse(a.state_since) - Date.parse(b.state_since);
  return {
    waiting: open.filter(isWaiting).sort(byWait),
    active: open.filter(holds).sort(byWait),
    all: open.sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at)),
  };
}

// --- the real-time feed ---------------------------------------------------------------

function onFrame(frame) {
  const data = frame.data;
  switch (frame.type) {
    case "session.created":
    case "session.updated":
      upsert(data);
      break;
    case "queue.changed":
      if (data.change === "removed") {
        const session = state.open.get(data.session_id);
        if (session && isWaiting(session)) state.open.delete(data.session_id);
      } else if (!state.open.has(data.session_id)) {
        api("GET", `${SESSIONS}/${encodeURIComponent(data.session_id)}`)
          .then((session) => { upsert(session); renderList(); })
          .catch(() => {});
      }
      break;
    case "message.created":
      onMessage(data);
      break;
    case "message.updated":
      if (state.chat && state.chat.session.conversation_id === data.conversation_id) {
        refreshChat().catch(() => {});
      }
      break;
    default:
      break;
  }
  renderList();
}

function onMessage(message) {
  const chat = state.chat;
  const here = chat && (message.session_id === chat.session.id ||
    (message.session_id === null && message.conversation_id === chat.session.conversation_id));
  if (here) {
    chat.messages.set(message.id, message);
    if (message.sender_type === "customer") {
      chat.windowOpen = true;
      chat.windowEnds = Date.parse(message.created_at) + WINDOW_MS;
      armWindow();
      renderComposer();
    }
    renderMessages();
  }
  if (message.sender_type !== "customer" || !message.session_id) return;
  const session = state.open.get(message.session_id);
  if (!holds(session)) return;
  if (!here || document.hidden) {
    if (!here) state.unread.set(session.id, (state.unread.get(session.id) || 0) + 1);
    notifier.notify(`Message from ${session.customer_name || "a customer"}`, message.text || "");
  }
}

function announceWaiting(session) {
  if (state.announced.has(session.id)) return;
  state.announced.add(session.id);
  notifier.notify("A customer is waiting", session.customer_name || displayPhone(session));
}

// --- the lists ------------------------------------------------------------------------

function wireTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  for (const tab of tabs) {
    tab.addEventListener("click", () => selectTab(tab.dataset.tab));
    tab.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
      const shown = tabs.filter((t) => !t.hidden);
      const i = shown.indexOf(tab) + (event.key === "ArrowRight" ? 1 : -1);
      const next = shown[(i + shown.length) % shown.length];
      next.focus();
      selectTab(next.dataset.tab);
    });
  }
}

function selectTab(name) {
  state.tab = name;
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const on = tab.dataset.tab === name;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    if (on) $("panel").setAttribute("aria-labelledby", tab.id);
  }
  $("history-form").hidden = name !== "history";
  if (name === "history") searchHistory(0).catch(report);
  renderList();
}

function renderList() {
  if (!state.me) return;
  const shown = lists();
  $("tab-all").hidden = !isSupervisor();
  for (const [name, items] of Object.entries(shown)) {
    document.querySelector(`[data-count="${name}"]`).textContent = String(items.length);
  }
  document.querySelector('[data-count="history"]').textContent = String(state.history.total);
  const items = state.tab === "history" ? state.history.items : shown[state.tab] || [];
  const selected = state.chat && state.chat.session.id;
  $("list").replaceChildren(...items.map((session) => listItem(session, session.id === selected)));
  const empty = { waiting: "Nobody is waiting.", active: "You hold no chat.", all: "No open session.",
    history: "No session matches." }[state.tab];
  $("list-empty").hidden = items.length > 0;
  $("list-empty").textContent = empty;
  renderPager();
}

function listItem(session, selected) {
  const unread = state.unread.get(session.id) || 0;
  let meta;
  if (state.tab === "history") {
    meta = `${session.status} · ${new Date(session.started_at).toLocaleString()}` +
      (session.agent_id || session.last_operator_id ? ` · ${state.names.get(session.agent_id || session.last_operator_id) || session.agent_id || session.last_operator_id}` : "");
  } else if (isWaiting(session)) {
    meta = `waiting ${waited(session.state_since)}`;
  } else {
    const who = session.agent_id ? state.names.get(session.agent_id) || session.agent_id : "nobody";
    meta = `${session.chat_state.replaceAll("_", " ")} · ${who}`;
  }
  return el(
    "li",
    { class: `item${selected ? " selected" : ""}`, dataset: { sessionId: session.id } },
    el(
      "button",
      { type: "button", onclick: () => openChat(session.id).catch(report),
        "aria-label": `${session.customer_name || "Customer"} ${displayPhone(session)}, ${meta}` },
      el("span", { class: "name", text: session.customer_name || "Customer" }),
      unread ? el("span", { class: "unread", "aria-label": plural(unread, "unread message"), text: String(unread) }) : el("span"),
      el("span", { class: "meta phone", text: displayPhone(session) }),
      el("span", { class: "meta", text: meta }),
    ),
  );
}

/** Agents see a customer's number only in a chat they hold; supervisors always. */
function displayPhone(session) {
  if (isSupervisor() || holds(session)) return session.phone_number || "";
  return maskPhone(session.phone_number);
}

// --- history --------------------------------------------------------------------------

function wireHistory() {
  $("history-form").addEventListener("submit", (event) => {
    event.preventDefault();
    searchHistory(0).catch(report);
  });
  $("prev-page").addEventListener("click", () => searchHistory(Math.max(0, state.history.offset - HISTORY_PAGE)).catch(report));
  $("next-page").addEventListener("click", () => searchHistory(state.history.offset + HISTORY_PAGE).catch(report));
}

async function searchHistory(offset) {
  const params = {
    search: $("h-search").value.trim(),
    agent_id: isSupervisor() ? $("h-agent").value : "",
    status: $("h-status").value,
    start_date: $("h-from").value,
    end_date: $("h-to").value,
    limit: HISTORY_PAGE,
    offset,
  };
  const found = await api("GET", `${SESSIONS}/history${query(params)}`);
  state.history = { items: found.items, total: found.total, offset };
  renderList();
}

function renderPager() {
  const { total, offset } = state.history;
  const on = state.tab === "history" && total > HISTORY_PAGE;
  $("pager").hidden = !on;
  if (!on) return;
  const pages = Math.ceil(total / HISTORY_PAGE);
  $("page-info").textContent = `Page ${Math.floor(offset / HISTORY_PAGE) + 1} of ${pages}`;
  $("prev-page").disabled = offset === 0;
  $("next-page").disabled = offset + HISTORY_PAGE >= total;
}

// --- the chat -------------------------------------------------------------------------

function wireChat() {
  $("accept").addEventListener("click", () => command("assign", {}));
  $("release").addEventListener("click", () => command("release", { reason: "released from the dashboard" }));
  $("end").addEventListener("click", () => command("end", {}));
  $("back").addEventListener("click", closeChatView);
  $("composer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    send().catch(report);
  });
  const box = $("composer");
  canned = new Canned({ textarea: box, list: $("canned"), responses: [], fill });
  box.addEventListener("keydown", (event) => {
    canned.responses = state.canned;
    if (canned.key(event)) return event.preventDefault();
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send().catch(report);
    }
  });
  box.addEventListener("input", () => { canned.responses = state.canned; });
}

function fill(text) {
  const session = state.chat && state.chat.session;
  const values = {
    customer_name: (session && session.customer_name) || "there",
    agent_name: state.me ? state.me.name : "",
  };
  return text.replace(/\{(customer_name|agent_name)\}/g, (_, key) => values[key]);
}

let opening = 0; // the latest chat asked for: an older answer, or one after closing, is dropped

async function openChat(sessionId, { keepScroll = false } = {}) {
  const ticket = ++opening;
  const path = `${SESSIONS}/${encodeURIComponent(sessionId)}`;
  const [detail, context, messages] = await Promise.all([
    api("GET", path),
    api("GET", `${path}/context`),
    api("GET", `${path}/messages`),
  ]);
  if (ticket !== opening) return;
  setServerNow(detail.now);
  // The feed may have told of a newer state while these were read (an end, an assignment).
  const seen = state.latest.get(sessionId);
  const session = seen && seen.rev > detail.rev ? seen : detail;
  upsert(detail, { quiet: true });
  state.chat = {
    session,
    context: context.items,
    messages: new Map(messages.items.map((m) => [m.id, m])),
    windowOpen: detail.window_open,
    windowEnds: detail.window_expires_at ? Date.parse(detail.window_expires_at) : null,
  };
  state.unread.delete(sessionId);
  armWindow();
  $("app-view").classList.add("chat-open");
  $("chat").hidden = false;
  $("no-chat").hidden = true;
  renderChatHead();
  renderMessages(keepScroll);
  renderComposer();
  renderList();
  if (!$("composer").disabled && !keepScroll) $("composer").focus();
}

function closeChatView() {
  opening += 1;
  $("app-view").classList.remove("chat-open");
  $("chat").hidden = true;
  $("no-chat").hidden = false;
  state.chat = null;
  renderList();
}

/** The messages again (delivery ticks move without an event). */
async function refreshChat() {
  const chat = state.chat;
  if (!chat || document.hidden) return;
  const found = await api("GET", `${SESSIONS}/${encodeURIComponent(chat.session.id)}/messages`);
  if (state.chat !== chat) return;
  const before = JSON.stringify([...chat.messages.values()]);
  chat.messages = new Map(found.items.map((m) => [m.id, m]));
  if (JSON.stringify([...chat.messages.values()]) !== before) renderMessages(true);
}

function armWindow() {
  const chat = state.chat;
  clearTimeout(armWindow.timer);
  if (!chat || !chat.windowEnds) return;
  const left = chat.windowEnds - serverNow();
  if (left <= 0) chat.windowOpen = false;
  else if (left < 2 ** 31) {
    armWindow.timer = setTimeout(() => { chat.windowOpen = false; renderComposer(); }, left);
  }
}

function renderChatHead() {
  const session = state.chat.session;
  $("chat-name").textContent = session.customer_name || "Customer";
  $("chat-phone").textContent = displayPhone(session);
  $("chat-state").textContent = session.status === "ended"
    ? `ended (${session.end_reason || "ended"})`
    : session.chat_state.replaceAll("_", " ");
  const mine = holds(session);
  const open = session.status !== "ended";
  $("accept").hidden = !(open && isWaiting(session) && state.me.operator);
  $("release").hidden = !(open && session.agent_id && (mine || isSupervisor()));
  $("end").hidden = !(open && (mine || isSupervisor()));
  renderComposer();
}

function renderComposer() {
  const chat = state.chat;
  if (!chat) return;
  const session = chat.session;
  let note = "";
  if (session.status === "ended") note = "This chat has ended.";
  else if (isWaiting(session)) note = "Accept the chat to answer the customer.";
  else if (!holds(session) && !(isSupervisor() && session.agent_id)) note = "Another agent holds this chat.";
  else if (!chat.windowOpen) {
    note = "The customer's 24-hour window is closed: only an approved template can reach them until they write again.";
  }
  const box = $("composer");
  box.disabled = Boolean(note);
  $("send").disabled = Boolean(note);
  box.placeholder = note ? note : "Type a message";
  $("composer-note").hidden = !note;
  $("composer-note").textContent = note;
}

function renderMessages(keepScroll = false) {
  const chat = state.chat;
  const list = $("messages");
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const all = [...chat.context, ...chat.messages.values()];
  const byProviderId = new Map(all.filter((m) => m.provider_message_id).map((m) => [m.provider_message_id, m]));
  const ctx = {
    byProviderId,
    nameOf: (id) => state.names.get(id),
    mediaPath: (m) => `${SESSIONS}/${encodeURIComponent(chat.session.id)}/media/${encodeURIComponent(m.id)}`,
  };
  const sorted = (items) => [...items].sort((a, b) => Number(a.id) - Number(b.id));
  const nodes = [];
  if (chat.context.length) {
    nodes.push(el("li", { class: "divider", text: "Before the session (with the bot)" }));
    nodes.push(...sorted(chat.context).map((m) => bubble(m, ctx)));
    nodes.push(el("li", { class: "divider", text: `Session started ${new Date(chat.session.started_at).toLocaleString()}` }));
  }
  nodes.push(...sorted(chat.messages.values()).map((m) => bubble(m, ctx)));
  list.replaceChildren(...nodes);
  if (!keepScroll || nearBottom) list.scrollTop = list.scrollHeight;
}

async function send() {
  const box = $("composer");
  const text = box.value.trim();
  const chat = state.chat;
  if (!text || !chat || box.disabled) return;
  const focused = document.activeElement;
  $("send").disabled = true;
  try {
    const sent = await api("POST", `${SESSIONS}/${encodeURIComponent(chat.session.id)}/messages`, { text });
    box.value = "";
    chat.messages.set(sent.id, sent);
    renderMessages();
  } catch (error) {
    if (error.code === "window_closed") {
      chat.windowOpen = false;
    } else {
      report(error);
    }
  } finally {
    renderComposer();
    // Back to the text box, unless the agent moved on meanwhile (Escape, a click).
    if (!box.disabled && document.activeElement === focused) box.focus();
  }
}

async function command(name, body) {
  const chat = state.chat;
  if (!chat) return;
  try {
    const session = await api("POST", `${SESSIONS}/${encodeURIComponent(chat.session.id)}/${name}`, body);
    upsert(session, { quiet: true });
    if (name === "assign") {
      selectTab("active");
      await openChat(session.id);
    }
    if (name === "end") toast("The chat has ended; the customer was told.");
    if (name === "release") toast("The chat is back in the queue.");
  } catch (error) {
    if (error.body && error.body.session) upsert(error.body.session, { quiet: true });
    report(error);
  }
  renderList();
}

async function nextChat() {
  try {
    const session = await api("POST", "/api/operator/next");
    if (session === null) return toast("Nobody is waiting.");
    upsert(session, { quiet: true });
    selectTab("active");
    await openChat(session.id);
  } catch (error) {
    report(error);
  }
}

// --- keys and messages for people -----------------------------------------------------

function globalKeys(event) {
  if (event.key !== "Escape" || canned.open) return;
  if (state.chat && document.activeElement === $("composer")) {
    $("composer").blur();
  } else if (state.chat) {
    const id = state.chat.session.id;
    closeChatView();
    const item = document.querySelector(`[data-session-id="${CSS.escape(id)}"] button`);
    (item || $(`tab-${state.tab}`)).focus();
  }
}

function report(error) {
  if (error instanceof ApiError && error.status === 401) return;
  toast(error instanceof ApiError ? `${error.message}${error.code ? ` (${error.code})` : ""}` : String(error));
}

function toast(text) {
  const node = el("div", { class: "toast", text });
  $("toasts").append(node);
  setTimeout(() => node.remove(), 5000);
}

boot().catch(report);
