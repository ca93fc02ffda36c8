"""Schemathesis against /api/openapi.json: the real gateway (run.py on a temporary database)
takes generated requests, valid and invalid, for every operation, as each role, on the ids
of a live conversation as well as on made-up ones. No answer is a 5xx, each status is
documented, and each body matches its schema; invalid input is refused with a 4xx. The run
is deterministic (a fixed seed, derandomized); `-s` prints the statuses seen per route."""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.api_openapi import document
from gateway.app import create_app
from tests.browser.gateway_process import GatewayProcess, Operator
from tests.sim import ENVIRON, settings_for

# Generated examples per operation (about 2,300 requests in all, ~25 s on 2 cores); to hunt
# further: FUZZ_EXAMPLES=300 FUZZ_SEED=7 pytest tests/test_openapi_fuzz.py -s
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
PHONE = "447700900123"
ROLES = ("agent", "supervisor", "admin")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
CONFIG = SchemathesisConfig.from_str(
    f"""
seed = {os.environ.get("FUZZ_SEED", "20261121")}
[generation]
max-examples = {EXAMPLES}
deterministic = true
database = "none"
# The caller's token is added by the test, per role; unknown query parameters are ignored
# by design (a REST API's usual way), so neither makes a request "invalid".
with-security-parameters = false
allow-extra-parameters = false
"""
)


def _document() -> dict[str, Any]:
    """The document as the gateway builds it (an app that never runs: nothing is opened)."""
    return document(create_app(settings_for(Path("/nonexistent/fuzz.db")), environ=ENVIRON))


schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)


class Fuzzed:
    """The gateway under test: an operator per role, one live conversation with a session,
    and an operator nobody calls as (PATCH and token rotation change it, not the callers)."""

    def __init__(self, gateway: GatewayProcess) -> None:
        self.gateway = gateway
        self.ops: dict[str, Operator] = {r: gateway.create_operator(f"Fuzz {r}", r) for r in ROLES}
        self.victim = gateway.create_operator("Fuzz victim", "agent")
        gateway.customer_says(PHONE, "hi")
        gateway.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
        _, sessions = gateway.api("GET", "/api/agent/sessions/waiting")
        session = sessions["items"][0]
        self.known = {
            "session": session["id"],
            "conversation": session["conversation_id"],
        }
        self.session = requests.Session()
        self.requests = 0
        self.statuses: dict[str, Counter[int]] = defaultdict(Counter)
        self.started = time.monotonic()

    def path_values(self, path: str) -> dict[str, str]:
        """Live ids for the path's parameters."""
        if path.startswith("/api/agent/sessions"):
            id_ = self.known["session"]
        elif path.startswith("/api/operators"):
            id_ = self.victim.id
        else:
            id_ = self.known["conversation"]
        return {
            "id": id_,
            "message_id": "1",
            "flow_id": "main",
            "name": "cleanup",
            "agent_id": self.ops["agent"].id,
            "phone_number": PHONE,
        }


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    # No app secret and no WATI token: the webhooks' bodies are fuzzed too, not just refused.
    env = {"WHATSAPP_APP_SECRET": None, "WATI_WEBHOOK_TOKEN": None}
    gateway = GatewayProcess(tmp_path_factory.mktemp("fuzz"), "", env).start()
    try:
        fuzzed = Fuzzed(gateway)
        yield fuzzed
        seconds = time.monotonic() - fuzzed.started
        print(f"\nschemathesis: {fuzzed.requests} requests in {seconds:.1f} s")
        for name, counts in sorted(fuzzed.statuses.items()):
            print(name, dict(sorted(counts.items())))
    finally:
        code = gateway.stop()
        log = gateway.log_text()
        assert code == 0, f"the gateway exited with {code}:\n{gateway.log_tail()}"
        unhandled = [line for line in log.splitlines() if '"unhandled"' in line]
        assert not unhandled, "\n".join(unhandled[:5])


@pytest.fixture
def no_leaked_tasks() -> None:
    """The gateway runs in its own process; these tests are synchronous."""


@schema.given(role=st.sampled_from(ROLES), live=st.booleans())
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_documented(case: Any, role: str, live: bool, fuzzed: Fuzzed) -> None:
    """No 5xx; every status documented; every body as its schema says."""
    if live and case.path_parameters:
        values = fuzzed.path_values(case.operation.path)
        case.path_parameters = {k: values.get(k, v) for k, v in case.path_parameters.items()}
    headers = {}
    if case.operation.definition.raw.get("security"):
        headers["Authorization"] = f"Bearer {fuzzed.ops[role].token}"
    fuzzed.requests += 1
    checks = CHECKS
    if case.operation.path == "/webhooks/wati":  # other event types are ignored, whatever they hold
        checks = [c for c in CHECKS if c is not negative_data_rejection]
    response = case.call_and_validate(
        base_url=fuzzed.gateway.base_url,
        session=fuzzed.session,
        headers=headers,
        checks=checks,
        timeout=15,
    )
    fuzzed.statuses[f"{case.operation.method.upper()} {case.operation.path}"][
        response.status_code
    ] += 1
