"""The Policy of each business number: global settings with `[numbers."id"]` overrides."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec

from actors.conversation.policy import Policy
from actors.flows.loader import load_flows
from actors.flows.model import FlowSet
from gateway.settings import Settings


def build_policies(settings: Settings, base_dir: Path | None = None) -> Callable[[str], Policy]:
    """Load flows (a bad flow raises FlowError) and return `policy_for(business_id)`."""
    flows_dir = Path(settings.bot.flows_dir)
    if not flows_dir.is_absolute() and base_dir is not None:
        flows_dir = base_dir / flows_dir
    flows: FlowSet = load_flows(
        flows_dir, settings.bot.default_flow, fold_titles=settings.whatsapp.provider == "wati"
    )
    default = Policy(
        pause=settings.pause,
        sessions=settings.sessions,
        assignment=settings.assignment,
        bot=settings.bot,
        timeouts=settings.timeouts,
        flows=flows,
    )
    per_number = {
        number: msgspec.structs.replace(default, number_timeouts=overrides.timeouts)
        for number, overrides in settings.numbers.items()
    }

    def policy_for(business_id: str) -> Policy:
        return per_number.get(business_id, default)

    return policy_for
