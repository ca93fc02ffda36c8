"""The settings that apply to one conversation: what `step` is allowed to know of configuration.

The domain sections of `settings.toml` are declared here, so that the gateway composes them
into the whole file and the core never imports the gateway.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from actors.flows.model import FlowSet, FlowTimeouts, TemplateRef, TimeoutSettings


class PauseSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """`[pause]`: the bot pause when a human agent writes from another inbox (seed 000)."""

    duration_hours: float = 10.0
    trigger_agent_emails: list[str] = msgspec.field(default_factory=lambda: ["contracts@abar.app"])
    # Cloud API `smb_message_echoes` carry no e-mail: a human wrote from the Business app.
    trigger_on_business_app_echoes: bool = True


class SessionSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """`[sessions]`: live-agent sessions ("Talk to Expert", seed 001)."""

    agent_mode_button: str = "AGENT_MODE"
    expiry_hours: float = 22.0
    end_keywords: list[str] = msgspec.field(default_factory=lambda: ["end chat"])
    connecting_text: str = "🙋 Connecting you to an agent..."
    expired_text: str = "⏰ Chat expired after 22 hours"
    ended_text: str = "✅ Chat ended. The assistant is back; write any time."
    # Sent instead of the texts above when the customer's 24-hour window is closed.
    connecting_template: TemplateRef | None = None
    expired_template: TemplateRef | None = None
    ended_template: TemplateRef | None = None


class AssignmentSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """`[assignment]`: the operator desk (seed 004)."""

    policy: Literal["sticky", "pool"] = "sticky"
    idle_minutes: float = 5.0
    max_active_per_operator: int = 1


class BotSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """`[bot]`: where flows live and when the bot keeps quiet."""

    flows_dir: str = "flows"
    default_flow: str = "main"
    max_message_age_minutes: float = 60.0


class NumberSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """`[numbers."<phone_number_id>"]`: one business number's own keys."""

    timeouts: FlowTimeouts = FlowTimeouts()


class Policy(msgspec.Struct, frozen=True):
    """Everything `step` may consult besides the state, the message and `now`."""

    pause: PauseSettings = PauseSettings()
    sessions: SessionSettings = SessionSettings()
    assignment: AssignmentSettings = AssignmentSettings()
    bot: BotSettings = BotSettings()
    timeouts: TimeoutSettings = TimeoutSettings()
    number_timeouts: FlowTimeouts = FlowTimeouts()  # the business number's own keys
    flows: FlowSet = FlowSet()

    @property
    def trigger_emails(self) -> frozenset[str]:
        return frozenset(e.strip().casefold() for e in self.pause.trigger_agent_emails)
