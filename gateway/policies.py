"""The Policy of each business number: global settings with `[numbers."id"]` overrides."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec

from actors.conversation.policy import Policy
from actors.flows.loader import load_flows
from actors.flows.model import FlowSet
from actors.flows.timeouts import fallback_problem
from gateway.settings import Settings, SettingsError


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
    _check_fallbacks(flows, settings)
    per_number = {
        number: msgspec.structs.replace(default, number_timeouts=overrides.timeouts)
        for number, overrides in settings.numbers.items()
    }

    def policy_for(business_id: str) -> Policy:
        return per_number.get(business_id, default)

    return policy_for


def _check_fallbacks(flows: FlowSet, settings: Settings) -> None:
    """A `fallback_flow` action, wherever its keys come from, names a loaded flow."""
    named = [("timeouts", settings.timeouts.fallback_flow)] + [
        (f'numbers."{n}".timeouts', o.timeouts.fallback_flow) for n, o in settings.numbers.items()
    ]
    for key, flow_id in named:
        if flow_id and flow_id not in flows.flows:
            raise SettingsError(
                f"fallback_flow {flow_id!r} is not a loaded flow - at `$.{key}.fallback_flow`"
            )
    layers = [("[timeouts]", None)] + [
        (f'[numbers."{n}".timeouts]', o.timeouts) for n, o in settings.numbers.items()
    ]
    for name, number in layers:
        problem = fallback_problem(flows, number, settings.timeouts)
        if problem:
            raise SettingsError(f"{problem} (with the settings of {name})")
