"""The `text` of a message of any type: what a person reads in a list of messages, built
from its content (a caption, a filename, an address, the items of an order...)."""

from __future__ import annotations

from storage.content import (
    Audio,
    Button,
    ContactCard,
    Contacts,
    Content,
    Document,
    Edit,
    Image,
    Interactive,
    Location,
    Order,
    OrderItem,
    Reaction,
    Referral,
    Revoke,
    Sticker,
    System,
    Template,
    Text,
    Unsupported,
    Video,
)


def summary(content: Content, referral: Referral | None = None) -> str:
    text = _summary(content)
    if referral is not None:
        ad = " - ".join(p for p in (referral.headline, referral.body, referral.source_url) if p)
        text = f"{text} [from an ad: {ad}]" if ad else text
    return text


def _tagged(tag: str, *parts: str | None) -> str:
    rest = " ".join(p for p in parts if p)
    return f"[{tag}] {rest}" if rest else f"[{tag}]"


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:g}"


def _summary(content: Content) -> str:
    match content:
        case Text():
            return content.body
        case Image():
            return _tagged("image", content.caption)
        case Video():
            return _tagged("video", content.caption)
        case Audio():
            return _tagged("voice message" if content.voice else "audio", content.caption)
        case Document():
            name = f"[document: {content.filename}]" if content.filename else "[document]"
            return f"{name} {content.caption}" if content.caption else name
        case Sticker():
            return "[sticker]"
        case Location():
            place = ", ".join(p for p in (content.name, content.address) if p)
            where = None
            if content.latitude is not None or content.longitude is not None:
                where = f"({_number(content.latitude)}, {_number(content.longitude)})"
            return _tagged("location", place, where, None if place else content.url)
        case Contacts():
            return _tagged("contact", "; ".join(_card(c) for c in content.contacts))
        case Order():
            lines = "; ".join(_item(i) for i in content.items)
            return _tagged("order", lines, content.text)
        case Interactive():
            return _interactive(content)
        case Button():
            return content.text or content.payload or "[button]"
        case Reaction():
            return f"reacted {content.emoji}" if content.emoji else "removed a reaction"
        case System():
            return content.body or _tagged("system", content.kind)
        case Revoke():
            return "[deleted a message]"
        case Edit():
            return _tagged("edited", content.text)
        case Template():
            return content.text or _tagged("template", content.name)
        case Unsupported():
            return content.text or _tagged("unsupported", content.kind)


def _card(card: ContactCard) -> str:
    reach = [p.phone or p.wa_id or "" for p in card.phones] + [e.email or "" for e in card.emails]
    details = ", ".join(r for r in reach if r)
    name = card.name or " ".join(p for p in (card.first_name, card.last_name) if p) or "a contact"
    return f"{name}: {details}" if details else name


def _item(item: OrderItem) -> str:
    line = f"{_number(item.quantity)} x {item.product_retailer_id or 'item'}"
    if item.item_price is not None:
        line += f" at {_number(item.item_price)} {item.currency or ''}".rstrip()
    return line


def _interactive(content: Interactive) -> str:
    if content.reply_type == "nfm_reply":
        answers = {k: v for k, v in (content.answers or {}).items() if k != "flow_token"}
        listed = ", ".join(f"{k}: {v}" for k, v in answers.items())
        return _tagged(f"form {content.flow_name}" if content.flow_name else "form", listed)
    if content.reply_type == "call_permission_reply":
        answer = {True: "accepted", False: "declined"}.get(content.accepted, "answered")  # type: ignore[arg-type]
        return f"[call permission] {answer}"
    title = content.title or content.id or ""
    return f"{title} ({content.description})" if content.description else title
