"""A conversation's state: the snapshot. New fields get defaults; types never change."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import Literal

import msgspec
from msgspec.structs import replace

from actors.runtime.codec import msgpack_encoder
from storage.views import ChatState

WINDOW = timedelta(hours=24)


class Pause(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """The bot keeps quiet until `until` (seed 000)."""

    until: datetime
    paused_at: datetime
    source: Literal["agent", "business_app", "api"] = "agent"
    agent_email: str | None = None
    agent_name: str | None = None
    agent_assignee_id: str | None = None
    external_conversation_id: str | None = None
    by: str | None = None


class Session(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """A live-agent session ("Talk to Expert", seed 001): the bot is silent while it is open.

    `chat_state` is seed 004's machine: waiting_assignment -> assigned ->
    waiting_real_user_reply -> waiting_assignment ... -> completed. `agent_id` is the operator
    holding the chat now; `last_operator_id` the one who handled it last. Invariants (also SQL
    CHECKs): `assigned` has an agent; `waiting_real_user_reply` has `operator_replied_at`.
    """

    id: str
    started_at: datetime
    expires_at: datetime
    status: Literal["waiting", "active", "ended"] = "waiting"
    started_by: Literal["customer", "api", "flow"] = "customer"
    agent_id: str | None = None
    accepted_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    chat_state: ChatState = "waiting_assignment"
    last_operator_id: str | None = None
    operator_replied_at: datetime | None = None
    state_since: datetime | None = None
    operator_active_at: datetime | None = None
    rev: int = 0  # counts changes, so that listeners can drop stale news

    @property
    def open(self) -> bool:
        return self.status != "ended"

    @property
    def since(self) -> datetime:
        """When the chat entered its current chat_state."""
        return self.state_since or self.started_at


class FlowPosition(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """Where the bot is: waiting at `node_id` of `flow_id` since `since`."""

    flow_id: str
    node_id: str
    since: datetime


class PendingTimeout(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """A timeout armed while the bot waits for the customer: the reminder (until it is
    sent) and the action, for the question or flow it was armed at."""

    kind: Literal["question", "inactivity"]
    due_at: datetime
    flow_id: str | None = None
    node_id: str | None = None
    reminder_at: datetime | None = None


class ConversationState(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    id: str
    business_id: str
    customer_id: str
    created_at: datetime
    phone: str | None = None
    customer_name: str | None = None
    status: Literal["open", "closed"] = "open"
    bsuid: str | None = None
    pause: Pause | None = None
    session: Session | None = None
    last_session: Session | None = None
    sessions_started: int = 0
    flow: FlowPosition | None = None
    variables: dict[str, str] = msgspec.field(default_factory=dict)
    external_conversation_id: str | None = None
    last_inbound_at: datetime | None = None
    last_activity_at: datetime | None = None
    archived_at: datetime | None = None
    unread_count: int = 0
    timeout: PendingTimeout | None = None
    closed_reason: str | None = None
    archive_reason: str | None = None
    # The id the next session takes. `step` draws nothing (it is pure): the shell puts a
    # random one here before each step that lacks one (`keys.new_session_id`).
    next_session_id: str | None = None

    @property
    def mode(self) -> Literal["bot", "human"]:
        return "human" if self.session is not None else "bot"

    @property
    def window_expires_at(self) -> datetime | None:
        """The end of WhatsApp's 24-hour customer-service window."""
        return None if self.last_inbound_at is None else self.last_inbound_at + WINDOW

    def window_open(self, now: datetime) -> bool:
        end = self.window_expires_at
        return end is not None and now < end


def new_conversation(
    conversation_id: str,
    business_id: str,
    customer_id: str,
    now: datetime,
    phone: str | None = None,
    name: str | None = None,
    bsuid: str | None = None,
) -> ConversationState:
    return ConversationState(
        id=conversation_id,
        business_id=sys.intern(business_id),
        customer_id=customer_id,
        created_at=now,
        phone=customer_id if phone == customer_id else phone,
        customer_name=name,
        bsuid=bsuid,
    )


_encoder = msgpack_encoder()
_decoder = msgspec.msgpack.Decoder(ConversationState)


def encode_state(state: ConversationState) -> bytes:
    return _encoder.encode(state)


# The empty variables of every conversation that has none: one dict, never changed (a step
# replaces the state and its dict, it never updates them in place).
_NO_VARIABLES: dict[str, str] = {}


def decode_state(blob: bytes, key: str | None = None) -> ConversationState:
    """The state, sharing what a million live conversations would otherwise hold a copy of
    each (~300 B a conversation): the actor's key as the id, the customer id as the phone
    when they are equal, one string per business number and per agent email, and one
    empty dict of variables."""
    state: ConversationState = _decoder.decode(blob)
    pause = state.pause
    if pause is not None and pause.agent_email is not None:
        pause = replace(pause, agent_email=sys.intern(pause.agent_email))
    return replace(
        state,
        id=key if key == state.id else state.id,
        business_id=sys.intern(state.business_id),
        phone=state.customer_id if state.phone == state.customer_id else state.phone,
        variables=state.variables or _NO_VARIABLES,
        pause=pause,
    )
