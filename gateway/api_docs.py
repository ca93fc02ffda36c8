"""What each route takes and answers, for the OpenAPI document (`gateway.openapi`): one `Doc`
per registered (method, path). The role is not here: it is the handler's own `@requires`.
Bodies are the Structs the handlers decode; answers are the views they encode, or the
`api_shapes` of the dicts they build. tests/test_openapi.py fails when a registered route has
no entry here, or an entry names no route; tests/test_openapi_fuzz.py when an answer does
not match."""

from __future__ import annotations

from typing import Any

from actors.intake.items import IntakeResult
from actors.jobs.scheduler import JobInfo
from gateway.api_admin import AdvanceBody
from gateway.api_maintenance import (
    ArchiveBody,
    CleanupBody,
    MetadataBody,
    StatusBody,
    SyncBody,
    UnarchiveBody,
)
from gateway.api_operators import OperatorBody, OperatorPatch
from gateway.api_pauses import PauseBody
from gateway.api_sessions import AssignBody, MessageBody, ReasonBody
from gateway.api_shapes import (
    ArchivePage,
    ArchiveResult,
    ChatStates,
    CleanupResult,
    ClockAnswer,
    ConversationMetadata,
    Flow,
    Flows,
    Health,
    InPeriod,
    Items,
    Journey,
    Me,
    MessageAnalysis,
    MessageMetadata,
    OperatorActivity,
    OperatorStatus,
    OperatorToken,
    Page,
    QueueStats,
    Refusal,
    Removed,
    SessionDetail,
    StatusResult,
    StoredEvent,
    StuckSession,
    SyncResult,
    Unarchived,
)
from gateway.cloud_payload import Envelope
from gateway.openapi import Answer, Doc, Key, Param, day, error, integer, json, text
from gateway.settings import CannedResponse
from gateway.views import PauseAnswer
from gateway.wati_events import WatiEvent
from storage.views import (
    ArchiveView,
    ConversationView,
    DatabaseStats,
    MessageView,
    OperatorView,
    PauseView,
    SessionView,
    SyncStatusView,
)

S = "/api/agent/sessions"
LIMIT = Param("limit", integer(1, 500, 50), "at most this many (default 50)")
OFFSET = Param("offset", integer(0, 2**31, 0), "skip this many")
PAGED = (LIMIT, OFFSET)
HTML = Answer("the page", {"type": "string"}, "text/html")
FILE = Answer("the file", {"type": "string"}, "*/*")
REFUSED = Answer(
    "refused by the conversation: `session_ended`, `session_open`, `not_held`, "
    "`held_by_other`, `awaiting_customer`, `window_closed`, `invalid_recipient`, "
    "`already_assigned` (with the session when the caller may see it)",
    Refusal,
)
SESSION = json(SessionView, "the session")
NO_SESSION = error("no such session (`id`), or a path naming no route")
HIDDEN = error("agents see only the sessions they hold or handled, and waiting ones")
NO_CONVERSATION = error("no such conversation (`id`)")
BOOL_TEXT = text("true", "false", "1", "0", "yes", "no")


def _sessions() -> dict[Key, Doc]:
    tag = "sessions"
    return {
        ("POST", f"{S}/start/{{phone_number}}"): Doc(
            "Open a waiting session for a customer",
            tag,
            {
                201: SESSION,
                400: error("`invalid_phone`: 6 to 20 digits"),
                409: REFUSED,
            },
            path_params={"phone_number": "the customer's phone, digits (a leading + is dropped)"},
        ),
        ("GET", f"{S}/waiting"): Doc(
            "The queue, oldest first", tag, {200: json(Items[SessionView], "waiting sessions")}
        ),
        ("GET", f"{S}/my-chats/{{agent_id}}"): Doc(
            "The open sessions an operator holds",
            tag,
            {
                200: json(Items[SessionView], "its sessions"),
                403: error("an agent may ask only for its own chats"),
            },
        ),
        ("GET", f"{S}/all"): Doc(
            "Every open session", tag, {200: json(Items[SessionView], "open sessions")}
        ),
        ("GET", f"{S}/history"): Doc(
            "Sessions, newest first (an agent gets its own)",
            tag,
            {200: json(Page[SessionView], "a page of sessions")},
            params=(
                Param("agent_id", text(), "an operator that handled the session (supervisors)"),
                Param("status", text("waiting", "active", "ended")),
                Param("search", text(), "a substring of the phone or the name"),
                Param("start_date", day(), "YYYY-MM-DD"),
                Param("end_date", day(), "YYYY-MM-DD, inclusive"),
                *PAGED,
            ),
        ),
        ("GET", f"{S}/{{id}}"): Doc(
            "One session, with its assignments and the customer's 24-hour window",
            tag,
            {200: json(SessionDetail, "the session"), 403: HIDDEN, 404: NO_SESSION},
        ),
        ("POST", f"{S}/{{id}}/assign"): Doc(
            "Take the chat (supervisors: give it to `agent_id`)",
            tag,
            {
                200: SESSION,
                403: error("`forbidden` (agents assign only themselves), `not_an_operator`"),
                404: error("no such session (`id`) or operator (`agent_id`)"),
                409: REFUSED,
            },
            body=AssignBody,
        ),
        ("POST", f"{S}/{{id}}/release"): Doc(
            "Put the chat back in the queue",
            tag,
            {200: SESSION, 404: NO_SESSION, 409: REFUSED},
            body=ReasonBody,
        ),
        ("POST", f"{S}/{{id}}/end"): Doc(
            "End the session (the customer is told)",
            tag,
            {200: SESSION, 404: NO_SESSION, 409: REFUSED},
            body=ReasonBody,
        ),
        ("GET", f"{S}/{{id}}/messages"): Doc(
            "The session's messages, oldest first",
            tag,
            {200: json(Items[MessageView], "its messages"), 403: HIDDEN, 404: NO_SESSION},
        ),
        ("POST", f"{S}/{{id}}/messages"): Doc(
            "Write to the customer",
            tag,
            {201: json(MessageView, "the message, pending"), 404: NO_SESSION, 409: REFUSED},
            body=MessageBody,
        ),
        ("GET", f"{S}/{{id}}/context"): Doc(
            "What was said before the session started (the last `limit`, oldest first)",
            tag,
            {200: json(Items[MessageView], "messages"), 403: HIDDEN, 404: NO_SESSION},
            params=(LIMIT,),
        ),
        ("GET", f"{S}/{{id}}/media/{{message_id}}"): Doc(
            "The file of a media message of the session's conversation",
            tag,
            {
                200: FILE,
                403: HIDDEN,
                404: error("`not_found`, `not_media`, `media_missing`"),
                502: error("`media_unavailable`: the provider did not give it"),
                503: error("`media_not_configured`, or busy: retry"),
            },
            params=(Param("download", text("1", "true"), "always as an attachment"),),
        ),
        ("GET", "/api/agent/ws"): Doc(
            "The real-time feed (a WebSocket)",
            tag,
            {
                101: Answer(
                    "switching to the WebSocket: JSON frames {seq, type, data}", None, None
                ),
                400: error("not a WebSocket upgrade, or `since` is not an integer"),
            },
            params=(
                Param("since", integer(0), "the last seq seen: catch up from there"),
                Param("token", text(), "the bearer token, for browsers"),
            ),
            description="See docs/api.md, 'The real-time feed', for the frames.",
        ),
        ("GET", "/api/canned-responses"): Doc(
            "The dashboard's quick replies",
            tag,
            {200: json(Items[CannedResponse], "the replies")},
        ),
    }


def _operators() -> dict[Key, Doc]:
    tag = "operators"
    token = json(OperatorToken, "the operator and its token (shown only here)")
    return {
        ("POST", "/api/operators"): Doc(
            "Create an operator",
            tag,
            {201: token, 409: error("`email_taken`")},
            body=OperatorBody,
        ),
        ("GET", "/api/operators"): Doc(
            "Every operator, with what it holds",
            tag,
            {200: json(Items[OperatorStatus], "operators")},
        ),
        ("PATCH", "/api/operators/{id}"): Doc(
            "Rename, change the role, deactivate",
            tag,
            {200: json(OperatorView, "the operator"), 404: error("no such operator (`id`)")},
            body=OperatorPatch,
        ),
        ("POST", "/api/operators/{id}/token"): Doc(
            "A new token (the old one is refused at once)",
            tag,
            {200: token, 404: error("no such operator (`id`)")},
        ),
        ("GET", "/api/me"): Doc("The caller", tag, {200: json(Me, "who is calling")}),
        ("POST", "/api/operator/next"): Doc(
            "The next chat for the caller",
            tag,
            {
                200: json(SessionView, "the session, now assigned to the caller"),
                204: Answer("no chat waits", None, None),
                403: error("`not_an_operator`: the environment's admin takes no chats"),
                409: REFUSED,
            },
        ),
        ("GET", "/api/monitor/chat-states"): Doc(
            "Sessions per chat state", tag, {200: json(ChatStates, "counts")}
        ),
        ("GET", "/api/monitor/queue"): Doc(
            "The queue and the operators", tag, {200: json(QueueStats, "figures")}
        ),
        ("GET", "/api/monitor/stuck"): Doc(
            "Open sessions in one chat state for longer than `hours`",
            tag,
            {200: json(InPeriod[StuckSession], "sessions")},
            params=(Param("hours", integer(0, 24 * 365, 1)),),
        ),
        ("GET", "/api/monitor/operators"): Doc(
            "Per operator: assignments and response times over `hours`",
            tag,
            {200: json(InPeriod[OperatorActivity], "operators")},
            params=(Param("hours", integer(1, 24 * 365, 24)),),
        ),
    }


def _conversations() -> dict[Key, Doc]:
    tag = "conversations"
    pause = json(PauseAnswer, "the pause, or nulls when none holds")
    c = "/api/conversations/{id}"
    return {
        ("GET", "/api/conversations"): Doc(
            "Conversations, most recently active first",
            tag,
            {200: json(Page[ConversationView], "a page of conversations")},
            params=(
                Param("phone", text(), "the customer's wa_id"),
                Param("status", text("open", "closed")),
                Param("mode", text("bot", "human")),
                Param("archived", BOOL_TEXT),
                Param("tag", text()),
                *PAGED,
            ),
        ),
        ("GET", c): Doc(
            "One conversation", tag, {200: json(ConversationView, "it"), 404: NO_CONVERSATION}
        ),
        ("GET", f"{c}/messages"): Doc(
            "Every message, oldest first",
            tag,
            {200: json(Page[MessageView], "messages"), 404: NO_CONVERSATION},
            params=(Param("limit", integer(1, 500), "a page of this many (default: all)"), OFFSET),
        ),
        ("GET", f"{c}/journey"): Doc(
            "The journal, oldest first",
            tag,
            {200: json(Journey, "its steps"), 404: NO_CONVERSATION},
        ),
        ("GET", f"{c}/events"): Doc(
            "The webhook events stored for it, newest first",
            tag,
            {200: json(Page[StoredEvent], "events"), 404: NO_CONVERSATION},
            params=PAGED,
        ),
        ("GET", f"{c}/pause"): Doc("Its bot pause", tag, {200: pause, 404: NO_CONVERSATION}),
        ("PUT", f"{c}/pause"): Doc(
            "Pause the bot now for `hours`",
            tag,
            {200: pause, 404: NO_CONVERSATION},
            body=PauseBody,
        ),
        ("DELETE", f"{c}/pause"): Doc("Resume the bot", tag, {200: pause, 404: NO_CONVERSATION}),
        ("GET", "/api/pauses"): Doc(
            "The pauses that hold, soonest to end first",
            tag,
            {200: json(Page[PauseView], "pauses")},
            params=PAGED,
        ),
        ("POST", "/api/pauses/cleanup"): Doc(
            "Clear pauses that ran out", tag, {200: json(Removed, "how many")}
        ),
        ("POST", f"{c}/metadata"): Doc(
            "Merge tags, category, sentiment and custom fields",
            tag,
            {200: json(ConversationMetadata, "the merged metadata"), 404: NO_CONVERSATION},
            body=MetadataBody,
            open_body=True,
            description="Any other key is a custom field of `metadata`; null deletes a key.",
        ),
        ("GET", "/api/flows"): Doc(
            "The loaded flows",
            tag,
            {200: json(Flows, "flows")},
            params=(Param("number", text(), "a business number: its timeouts apply"),),
        ),
        ("GET", "/api/flows/{flow_id}"): Doc(
            "One flow",
            tag,
            {200: json(Flow, "the flow"), 404: error("no flow with this id (`flow_id`)")},
            params=(Param("number", text(), "a business number: its timeouts apply"),),
        ),
    }


def _maintenance() -> dict[Key, Doc]:
    tag = "maintenance"
    no_chat = error("no such conversation (`chat_id`)")
    metadata = "Any other key is a custom field of `metadata`; null deletes a key."
    return {
        ("POST", "/api/conversations/archive"): Doc(
            "Archive conversations",
            tag,
            {200: json(ArchiveResult, "what was archived")},
            body=ArchiveBody,
        ),
        ("GET", "/api/conversations/archives"): Doc(
            "Archived conversations, most recent first",
            tag,
            {200: json(ArchivePage[ArchiveView], "a page")},
            params=(Param("page", integer(1, 2**31, 1)), LIMIT),
        ),
        ("POST", "/api/conversations/unarchive"): Doc(
            "Restore an archived conversation",
            tag,
            {200: json(Unarchived, "restored"), 404: no_chat, 409: error("`not_archived`")},
            body=UnarchiveBody,
        ),
        ("POST", "/api/conversations/sync"): Doc(
            "Read the history back from the provider",
            tag,
            {200: json(SyncResult, "what was synced"), 404: no_chat},
            body=SyncBody,
        ),
        ("GET", "/api/conversations/sync-status"): Doc(
            "Per chat, how its sync went",
            tag,
            {200: json(Page[SyncStatusView], "a page")},
            params=(Param("chat_id", text()), *PAGED),
        ),
        ("POST", "/api/database/cleanup"): Doc(
            "Retention cleanup", tag, {200: json(CleanupResult, "counts")}, body=CleanupBody
        ),
        ("GET", "/api/database/stats"): Doc(
            "Database statistics", tag, {200: json(DatabaseStats, "figures")}
        ),
        ("POST", "/api/messages/status"): Doc(
            "Mark messages read, processed, delivered",
            tag,
            {200: json(StatusResult, "what changed")},
            body=StatusBody,
        ),
        ("POST", "/api/messages/{message_id}/metadata"): Doc(
            "Merge a message's metadata",
            tag,
            {200: json(MessageMetadata, "merged"), 404: error("no such message")},
            body=MetadataBody,
            open_body=True,
            description=metadata,
        ),
        ("POST", "/api/messages/{message_id}/analyze"): Doc(
            "Sentiment, category and tags of a message, stored on it",
            tag,
            {
                200: json(MessageAnalysis, "the analysis"),
                404: error("no such message"),
                502: error("`analysis_failed`: the HTTP analyzer failed"),
            },
        ),
        ("GET", "/api/jobs"): Doc("The scheduled jobs", tag, {200: json(Items[JobInfo], "jobs")}),
        ("POST", "/api/jobs/{name}/run"): Doc(
            "Run a job now (the body is its parameters)",
            tag,
            {
                200: json(JobInfo, "the job, once done"),
                404: error("no job by that name"),
                409: error("`job_running`"),
            },
            body=dict[str, Any],
        ),
    }


def _operations() -> dict[Key, Doc]:
    tag = "operations"
    asset = {
        200: FILE,
        404: error("no such file"),
    }
    return {
        ("GET", "/healthz"): Doc(
            "Health",
            tag,
            {
                200: json(Health, "the writer and the timers run"),
                503: json(Health, "not ready, or stopping"),
            },
        ),
        ("GET", "/metrics"): Doc(
            "Prometheus metrics",
            tag,
            {200: Answer("the text exposition", {"type": "string"}, "text/plain")},
        ),
        ("GET", "/dashboard"): Doc(
            "The dashboard's address", tag, {308: Answer("to /dashboard/", None, None)}
        ),
        ("GET", "/dashboard/"): Doc("The agent dashboard", tag, {200: HTML}),
        ("GET", "/dashboard/{name}"): Doc("A file of the dashboard", tag, asset),
        ("GET", "/api/openapi.json"): Doc(
            "This document", tag, {200: json({"type": "object"}, "OpenAPI 3.1")}
        ),
        ("GET", "/api/docs"): Doc("This document, readable in a browser", tag, {200: HTML}),
        ("GET", "/api/docs/{name}"): Doc("A file of the documentation page", tag, asset),
        ("GET", "/api/admin/clock"): Doc("The clock", tag, {200: json(ClockAnswer, "now")}),
        ("POST", "/api/admin/clock/advance"): Doc(
            "Move the virtual clock; answers once every deadline on the way was handled",
            tag,
            {200: json(ClockAnswer, "the new time"), 404: error("the clock is not virtual")},
            body=AdvanceBody,
        ),
    }


def _webhooks() -> dict[Key, Doc]:
    tag = "webhooks"
    stored = json(IntakeResult, "every event is stored")
    return {
        ("GET", "/webhooks/whatsapp"): Doc(
            "Meta's subscription handshake",
            tag,
            {
                200: Answer("`hub.challenge`", {"type": "string"}, "text/plain"),
                403: error("`verification_failed`"),
            },
            params=(
                Param("hub.mode", text()),
                Param("hub.verify_token", text()),
                Param("hub.challenge", text()),
            ),
        ),
        ("POST", "/webhooks/whatsapp"): Doc(
            "A Cloud API envelope",
            tag,
            {200: stored, 401: error("`invalid_signature`")},
            body=Envelope,
            params=(
                Param(
                    "X-Hub-Signature-256",
                    text(),
                    "sha256=<hex HMAC-SHA256 of the raw body>; required with an app secret",
                    where="header",
                ),
            ),
        ),
        ("POST", "/webhooks/wati"): Doc(
            "A WATI event",
            tag,
            {200: stored, 401: error("`invalid_token`")},
            description=(
                "Only the event types the gateway handles are held to this shape (`message*`, "
                "`sessionMessageSent*`, `templateMessageSent*`, `sentMessage*`, "
                "`*MessageFailed*`); any other is ignored with a 200, whatever its fields."
            ),
            body=WatiEvent,
            params=(
                Param("token", text(), "the webhook token (or X-Webhook-Token)"),
                Param("X-Webhook-Token", text(), where="header"),
            ),
        ),
    }


DOCS: dict[Key, Doc] = {
    **_sessions(),
    **_operators(),
    **_conversations(),
    **_maintenance(),
    **_operations(),
    **_webhooks(),
}
