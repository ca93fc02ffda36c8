// A chat's messages as bubbles: the customer on the left, the agent on the right, the bot
// and system lines set apart; each message's structure made readable.

import { blob } from "./api.js";
import { el, timeOf } from "./format.js";

const TICKS = {
  pending: ["🕓", "waiting to be sent"],
  sent: ["✓", "sent"],
  delivered: ["✓✓", "delivered"],
  read: ["✓✓", "read"],
  failed: ["⚠", "failed"],
};
const SENDER = { customer: "Customer", agent: "Agent", bot: "Bot", system: "System" };

/**
 * One bubble. `ctx`: `{ mediaPath(message) -> url, byProviderId: Map, nameOf(id) }`.
 */
export function bubble(message, ctx) {
  const kind = message.sender_type in SENDER ? message.sender_type : "system";
  const node = el("li", {
    class: `msg ${kind}`,
    dataset: { id: message.id, sender: kind },
  });
  if (kind !== "customer" && kind !== "system") {
    const who = kind === "agent" ? ctx.nameOf(message.sender_id) || "Agent" : "Bot";
    node.append(el("div", { class: "from", text: who }));
  }
  if (message.forwarded) node.append(el("div", { class: "muted", text: "↪ Forwarded" }));
  if (message.referral) node.append(referral(message.referral));
  if (message.reply_to) node.append(quote(message.reply_to, ctx));
  if (message.deleted_at) {
    node.append(el("div", { class: "deleted", text: "🚫 This message was deleted" }));
  } else {
    node.append(body(message, ctx));
  }
  if (message.reactions && message.reactions.length) {
    node.append(el("div", { class: "reactions", "aria-label": "reactions",
      text: message.reactions.map((r) => r.emoji).join(" ") }));
  }
  node.append(foot(message));
  return node;
}

function foot(message) {
  const parts = [];
  if (message.edited_at && !message.deleted_at) {
    parts.push(el("span", { class: "edited", text: "edited",
      title: message.previous_text ? `before: ${message.previous_text}` : "" }));
  }
  parts.push(el("time", { dateTime: message.created_at, text: timeOf(message.created_at) }));
  if (message.direction === "out" && message.kind !== "note") {
    const status = message.status in TICKS ? message.status : "pending";
    const [mark, label] = TICKS[status];
    const title = status === "failed" && message.error ? `failed: ${message.error}` : label;
    parts.push(el("span", { class: "ticks", dataset: { status }, "aria-label": label, title, text: mark }));
  }
  return el("div", { class: "foot" }, parts);
}

function quote(providerId, ctx) {
  const original = ctx.byProviderId.get(providerId);
  const text = original ? original.text || `[${original.kind}]` : "an earlier message";
  return el("div", { class: "quote", "aria-label": "in reply to" }, el("span", { text }));
}

function referral(ref) {
  const line = [ref.headline, ref.body].filter(Boolean).join(" — ");
  return el("div", { class: "quote" }, `From an ad: ${line || ref.source_url || ""}`, safeLink(ref.source_url, " (open)"));
}

function safeLink(url, label) {
  if (!url || !/^https?:\/\//i.test(url)) return null;
  return el("a", { href: url, text: label, target: "_blank", rel: "noopener noreferrer" });
}

function body(message, ctx) {
  const content = message.content;
  if (!content) return el("div", { class: "text", text: message.text || "" });
  switch (content.type) {
    case "text":
      return el("div", { class: "text", text: content.body });
    case "image":
    case "sticker":
      return image(message, content, ctx);
    case "video":
    case "audio":
      return playable(message, content, ctx);
    case "document":
      return documentFile(message, content, ctx);
    case "location":
      return location(content);
    case "contacts":
      return contacts(content);
    case "order":
      return order(content);
    case "interactive":
      return interactive(content, message);
    case "button":
      return el("div", { class: "text", text: content.text || content.payload || "" });
    case "template":
      return el("div", { class: "text" }, el("span", { class: "muted", text: `[template ${content.name || ""}] ` }), content.text || "");
    default:
      return el("div", { class: "text", text: message.text || `[${content.type}]` });
  }
}

function caption(content) {
  return content.caption ? el("div", { class: "text", text: content.caption }) : null;
}

function image(message, content, ctx) {
  const box = el("div", { class: "image" });
  const status = el("span", { class: "muted", text: "Loading image…" });
  box.append(status);
  blob(ctx.mediaPath(message))
    .then((data) => {
      const img = el("img", { class: "media", alt: content.caption || "image from the customer" });
      img.src = URL.createObjectURL(data);
      status.replaceWith(img);
    })
    .catch((error) => {
      status.textContent = `[image not available: ${error.message}]`;
    });
  box.append(caption(content) || "");
  return box;
}

function playable(message, content, ctx) {
  const box = el("div", { class: content.type });
  const label = content.type === "audio" ? (content.voice ? "voice message" : "audio") : "video";
  const button = el("button", { type: "button", text: `▶ Play ${label}` });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const data = await blob(ctx.mediaPath(message));
      const player = el(content.type, { controls: true, class: "media" });
      player.src = URL.createObjectURL(data);
      button.replaceWith(player);
      player.play().catch(() => {});
    } catch (error) {
      button.textContent = `[${label} not available: ${error.message}]`;
    }
  });
  box.append(button, caption(content) || "");
  return box;
}

function documentFile(message, content, ctx) {
  const name = content.filename || "document";
  const button = el("button", { type: "button", text: `⬇ Download ${name}` });
  button.addEventListener("click", async () => {
    try {
      const data = await blob(`${ctx.mediaPath(message)}?download=1`);
      const link = el("a", { download: name });
      link.href = URL.createObjectURL(data);
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      button.textContent = `[${name} not available: ${error.message}]`;
    }
  });
  return el("div", { class: "document" }, el("div", { text: `📄 ${name}` }), button, caption(content));
}

function location(content) {
  const lines = [content.name, content.address].filter(Boolean);
  const has = typeof content.latitude === "number" && typeof content.longitude === "number";
  const coords = has ? `${content.latitude}, ${content.longitude}` : "";
  const map = has
    ? `https://www.openstreetmap.org/?mlat=${content.latitude}&mlon=${content.longitude}#map=16/${content.latitude}/${content.longitude}`
    : content.url;
  return el(
    "div",
    { class: "location" },
    el("div", { text: `📍 ${lines.join(", ") || "Location"}` }),
    coords ? el("div", { class: "muted", text: coords }) : null,
    safeLink(map, "Open the map"),
  );
}

function contacts(content) {
  const cards = (content.contacts || []).map((card) => {
    const name = card.name || [card.first_name, card.last_name].filter(Boolean).join(" ") || "contact";
    const phones = (card.phones || []).map((p) => p.phone || p.wa_id).filter(Boolean);
    const emails = (card.emails || []).map((e) => e.email).filter(Boolean);
    return el("li", {}, el("strong", { text: name }), card.organization ? ` (${card.organization})` : "",
      phones.length ? el("div", { text: `☎ ${phones.join(", ")}` }) : null,
      emails.length ? el("div", { text: `✉ ${emails.join(", ")}` }) : null);
  });
  return el("div", { class: "contacts" }, el("div", { text: "👤 Shared contact" }), el("ul", { class: "card-lines" }, cards));
}

function order(content) {
  const items = (content.items || []).map((item) => {
    const price = item.item_price !== undefined ? ` at ${item.item_price} ${item.currency || ""}` : "";
    return el("li", { text: `${item.quantity ?? 1} × ${item.product_retailer_id || "item"}${price}` });
  });
  return el("div", { class: "order" }, el("div", { text: "🛒 Order" }), el("ul", { class: "card-lines" }, items),
    content.text ? el("div", { class: "text", text: content.text }) : null);
}

function interactive(content, message) {
  if (content.reply_type === "nfm_reply") {
    const answers = Object.entries(content.answers || {}).map(([k, v]) => el("li", { text: `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}` }));
    return el("div", {}, el("div", { text: `📝 Form ${content.flow_name || ""}` }), el("ul", { class: "card-lines" }, answers));
  }
  if (content.reply_type === "call_permission_reply") {
    return el("div", { text: content.accepted ? "📞 Calls allowed" : "📞 Calls declined" });
  }
  const title = content.title || message.text || "";
  return el("div", { class: "text" }, el("span", { text: `☑ ${title}` }),
    content.description ? el("div", { class: "muted", text: content.description }) : null);
}
