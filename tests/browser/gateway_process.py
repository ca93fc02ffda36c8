"""The real gateway (`run.py`) in a subprocess, for the browser tests, and a synchronous
client for it: the admin API, signed Cloud API webhooks, operators, the virtual clock.

No Playwright here and no asyncio: everything is the standard library's blocking HTTP, so a
test can drive the gateway between two Playwright calls."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import IO, Any

from gateway.signature import sign
from tests.sim import ADMIN_TOKEN, APP_SECRET, BUSINESS, REPO, cloud_button, cloud_text

__all__ = [
    "ADMIN_TOKEN",
    "APP_SECRET",
    "AS_ADMIN",
    "BUSINESS",
    "WATI_TOKEN",
    "GatewayProcess",
    "GatewayStartError",
    "Operator",
    "free_port",
    "settings_toml",
]

START_TIMEOUT = 30.0  # seconds for run.py to answer /healthz 200 (a 2-core CI machine: ~1 s)
STOP_TIMEOUT = 15.0  # seconds after SIGTERM before SIGKILL
IDLE_TIMEOUT = 10.0  # seconds for wait_idle(), like Playwright's expect() timeout
HTTP_TIMEOUT = 15.0
WATI_TOKEN = "test-wati-token"  # WATI_WEBHOOK_TOKEN: post_wati() sends it
POLL = 0.02  # seconds between two polls of /healthz (polling an endpoint, not waiting a timer)

# Variables the gateway reads secrets from: not inherited from the developer's shell.
_SECRET_VARIABLES = (
    "GATEWAY_ADMIN_TOKEN",
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_TOKEN",
    "WATI_WEBHOOK_TOKEN",
    "WATI_API_TOKEN",
)


class _AsAdmin(Enum):
    TOKEN = "admin"


AS_ADMIN = _AsAdmin.TOKEN
"""`api(..., token=AS_ADMIN)` (the default): the gateway's admin token."""


class GatewayStartError(AssertionError):
    """run.py exited, or did not become healthy in time; the message carries its output."""


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    role: str
    token: str
    email: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def base_settings(folder: Path) -> dict[str, Any]:
    """A test gateway's settings: its own database in `folder`, the virtual clock, the
    console provider on the docs' example business number, the repository's flows."""
    return {
        "storage": {"path": str(folder / "gateway.db"), "synchronous": "NORMAL"},
        "clock": {"mode": "virtual"},
        "whatsapp": {
            "provider": "console",
            "phone_number_id": BUSINESS,
            "verify_token": "verify-me",
        },
        "bot": {"flows_dir": str(REPO / "flows")},
        "log": {"level": "info"},
    }


def merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`extra` over `base`, table by table (a table in both is merged, anything else replaced)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def settings_toml(folder: Path, extra_toml: str = "") -> str:
    """The TOML text of `base_settings(folder)` with `extra_toml` merged over it: extra
    tables that the base has too (`[whatsapp]`, `[bot]`) are merged key by key."""
    return _dump_toml(merged(base_settings(folder), tomllib.loads(extra_toml)))


def _dump_toml(data: Mapping[str, Any]) -> str:
    """Top-level tables as `[name]` sections; deeper tables as inline tables."""
    lines: list[str] = []
    tables = {k: v for k, v in data.items() if isinstance(v, Mapping)}
    for key, value in data.items():
        if key not in tables:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for name, table in tables.items():
        lines.append(f"\n[{_toml_key(name)}]")
        lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items())
    return "\n".join(lines).lstrip("\n") + "\n"


def _toml_key(key: str) -> str:
    if key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key):
        return key
    return _toml_string(key)


def _toml_string(text: str) -> str:
    # JSON's escapes are TOML's; DEL is the one character TOML wants escaped and JSON does not.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007F")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML: {value!r}")


class GatewayProcess:
    """`python run.py --settings <folder>/settings.toml --host 127.0.0.1 --port <free>`.

    Its output (JSON log lines) goes to `<folder>/gateway.log`. Start with `start()`, which
    returns once `/healthz` answers 200; stop with `stop()` (SIGTERM, then SIGKILL)."""

    def __init__(
        self, folder: Path, extra_toml: str = "", env: Mapping[str, str | None] | None = None
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.settings_path = folder / "settings.toml"
        self.settings_path.write_text(settings_toml(folder, extra_toml))
        self.log_path = folder / "gateway.log"
        self.env = self._environment(env or {})
        self.admin_token = self.env.get("GATEWAY_ADMIN_TOKEN", "")
        self.app_secret = self.env.get("WHATSAPP_APP_SECRET", "")
        self.port = 0
        self.base_url = ""
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @staticmethod
    def _environment(overrides: Mapping[str, str | None]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _SECRET_VARIABLES}
        env.update(
            GATEWAY_ADMIN_TOKEN=ADMIN_TOKEN,
            WHATSAPP_APP_SECRET=APP_SECRET,
            WATI_WEBHOOK_TOKEN=WATI_TOKEN,
            PYTHONUNBUFFERED="1",
        )
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    # -- the process --------------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT) -> GatewayProcess:
        """Start run.py on a free port; retried on another port if that one was taken in
        the meantime. Raises GatewayStartError with the output if it does not get healthy."""
        for _attempt in range(3):
            self.port = free_port()
            self.base_url = f"http://127.0.0.1:{self.port}"
            if self._start_once(timeout):
                return self
        raise GatewayStartError(f"run.py found no free port:\n{self.log_tail()}")

    def start_again(self, timeout: float = START_TIMEOUT) -> GatewayProcess:
        """After `stop()`: the same port, folder and database (a restart, as a page sees it)."""
        if not self._start_once(timeout):
            raise GatewayStartError(f"port {self.port} was taken:\n{self.log_tail()}")
        return self

    def _start_once(self, timeout: float) -> bool:
        if self._log_file is None:
            self._log_file = self.log_path.open("ab")
        command = [
            sys.executable,
            str(REPO / "run.py"),
            "--settings",
            str(self.settings_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self.process = subprocess.Popen(
            command,
            cwd=self.folder,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                self.process = None
                if "is in use" in self.log_tail(2):
                    return False
                raise GatewayStartError(f"run.py exited with {code}:\n{self.log_tail()}")
            if self._healthy():
                return True
            time.sleep(POLL)
        self.stop()
        raise GatewayStartError(f"run.py not healthy after {timeout} s:\n{self.log_tail()}")

    def _healthy(self) -> bool:
        try:
            status, _ = self.api("GET", "/healthz", token=None, timeout=2.0)
        except OSError:  # not listening yet (refused, reset)
            return False
        return status == 200

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM, wait, SIGKILL if it did not stop; closes the log file. Returns the exit
        code (None if it was not running)."""
        code: int | None = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            code = self.process.returncode
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return code

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def logs(self, event: str | None = None) -> list[dict[str, Any]]:
        """The gateway's JSON log lines so far (optionally only those of one `event`, e.g.
        "would_send": the console provider's sends)."""
        found = []
        for line in self.log_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and (event is None or entry.get("event") == event):
                found.append(entry)
        return found

    # -- HTTP ---------------------------------------------------------------------------------

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | _AsAdmin | None = AS_ADMIN,
        *,
        headers: Mapping[str, str] | None = None,
        raw: bytes | None = None,
        timeout: float = HTTP_TIMEOUT,
    ) -> tuple[int, Any]:
        """One request; returns (status, decoded JSON, or the text if it is not JSON, or
        None if empty). `token=None`: no Authorization header. Error statuses are returned,
        not raised."""
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method.upper())
        if data is not None:
            request.add_header("Content-Type", "application/json")
        bearer = self.admin_token if token is AS_ADMIN else token
        if bearer:
            request.add_header("Authorization", f"Bearer {bearer}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, _decoded(answer.read())
        except urllib.error.HTTPError as refused:
            with refused:
                return refused.code, _decoded(refused.read())

    def expect(
        self,
        status: int,
        method: str,
        path: str,
        body: Any = None,
        token: str | _AsAdmin | None = AS_ADMIN,
    ) -> Any:
        """`api()`, asserting the status; returns the JSON."""
        got, answer = self.api(method, path, body, token)
        assert got == status, f"{method} {path}: {got} {answer!r}, expected {status}"
        return answer

    def health(self) -> dict[str, Any]:
        status, body = self.api("GET", "/healthz", token=None)
        assert status == 200, f"/healthz: {status} {body!r}"
        return dict(body)

    def now(self) -> datetime:
        """The gateway's clock (virtual unless the settings say otherwise)."""
        return datetime.fromisoformat(self.health()["now"])

    # -- webhooks -----------------------------------------------------------------------------

    def post_cloud(self, payload: Mapping[str, Any], *, settle: bool = True) -> dict[str, Any]:
        """POST a Cloud API webhook body, signed with the app secret; asserts 200 and, with
        `settle`, waits until the gateway has processed it. Returns the answer
        (`{"accepted": n, "duplicates": n, "ignored": n}`)."""
        raw = json.dumps(payload).encode()
        headers = {"X-Hub-Signature-256": sign(raw, self.app_secret)} if self.app_secret else {}
        status, answer = self.api(
            "POST", "/webhooks/whatsapp", token=None, headers=headers, raw=raw
        )
        assert status == 200, f"POST /webhooks/whatsapp: {status} {answer!r}"
        if settle:
            self.wait_idle()
        return dict(answer)

    def post_wati(self, payload: Mapping[str, Any], *, settle: bool = True) -> dict[str, Any]:
        """POST a WATI webhook body (tests.sim's `wati_agent`/`wati_message` make them)."""
        token = self.env.get("WATI_WEBHOOK_TOKEN", "")
        headers = {"X-Webhook-Token": token} if token else {}
        status, answer = self.api("POST", "/webhooks/wati", payload, None, headers=headers)
        assert status == 200, f"POST /webhooks/wati: {status} {answer!r}"
        if settle:
            self.wait_idle()
        return dict(answer) if isinstance(answer, dict) else {"answer": answer}

    def message_stamp(self) -> tuple[str, int]:
        """A fresh wamid and the gateway clock's time: a message from "now" is answered even
        after the virtual clock was moved days ahead (older ones are recorded, not answered)."""
        return f"wamid.browser.{uuid.uuid4().hex}", int(self.now().timestamp())

    def customer_says(
        self, phone: str, text: str, name: str = "Dana Levi", *, settle: bool = True
    ) -> dict[str, Any]:
        """The customer `phone` writes `text` to the business number (a signed Cloud API
        text webhook, timestamped at the gateway's clock)."""
        wamid, ts = self.message_stamp()
        return self.post_cloud(
            cloud_text(phone, text, wamid=wamid, ts=ts, name=name), settle=settle
        )

    def customer_taps(
        self,
        phone: str,
        button_id: str,
        title: str,
        name: str = "Dana Levi",
        *,
        settle: bool = True,
    ) -> dict[str, Any]:
        """The customer taps a reply button (`"AGENT_MODE"`, `"Talk to Expert"` opens a
        live-agent session with the shipped flows)."""
        wamid, ts = self.message_stamp()
        payload = cloud_button(phone, button_id, title, wamid=wamid, ts=ts, name=name)
        return self.post_cloud(payload, settle=settle)

    # -- operators, clock, quiescence ---------------------------------------------------------

    def create_operator(self, name: str, role: str = "agent", email: str | None = None) -> Operator:
        """`POST /api/operators` as the admin; the operator and its (once-shown) token."""
        email = email or f"{name.lower().replace(' ', '.')}.{uuid.uuid4().hex[:6]}@shop.example"
        answer = self.expect(
            201, "POST", "/api/operators", {"name": name, "email": email, "role": role}
        )
        op = answer["operator"]
        return Operator(
            id=op["id"], name=op["name"], role=op["role"], token=answer["token"], email=op["email"]
        )

    def advance(self, seconds: float) -> datetime:
        """Move the virtual clock; returns once the deadlines it passed have fired and what
        they did has settled. Returns the new time."""
        answer = self.expect(200, "POST", "/api/admin/clock/advance", {"seconds": seconds})
        self.wait_idle()
        return datetime.fromisoformat(answer["now"])

    def wait_idle(self, timeout: float = IDLE_TIMEOUT) -> dict[str, Any]:
        """Poll /healthz until nothing is left to do: no unprocessed inbox event, no send in
        flight, no parked conversation, an empty writer queue. Returns the last /healthz."""
        deadline = time.monotonic() + timeout
        while True:
            health = self.health()
            if (
                health["inbox"]["unprocessed"] == 0
                and health["outbox_in_flight"] == 0
                and health["parked_conversations"] == 0
                and health["writer_backlog"] == 0
            ):
                return health
            if time.monotonic() > deadline:
                raise AssertionError(f"the gateway did not settle in {timeout} s: {health}")
            time.sleep(POLL)


def _decoded(data: bytes) -> Any:
    if not data:
        return None
    text = data.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
