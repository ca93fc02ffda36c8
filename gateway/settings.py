"""`settings.toml` as one typed object; unknown keys and wrong types stop start-up, named."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from actors.conversation.policy import (
    AssignmentSettings,
    BotSettings,
    NumberSettings,
    PauseSettings,
    SessionSettings,
)
from actors.flows.model import TimeoutSettings
from actors.jobs.cron import check, zone
from actors.maintenance.analysis import AnalysisSettings
from actors.maintenance.settings import (
    AlertSettings,
    ArchiveSettings,
    CleanupSettings,
    JobSettings,
    MaintenanceSettings,
    MetadataSettings,
    SyncSettings,
)


class SettingsError(Exception):
    """The settings file is missing, not TOML, or has an unknown key or a wrong type."""


class ServerSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 4 * 1024 * 1024
    event_loop: Literal["asyncio", "uvloop"] = "asyncio"


class StorageSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    path: str = "data/gateway.db"
    synchronous: Literal["FULL", "NORMAL"] = "FULL"
    writer_max_batch: int = 2000


class ClockSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    mode: Literal["system", "virtual"] = "system"


class AuthSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    admin_token_env: str = "GATEWAY_ADMIN_TOKEN"
    # More wrong bearer tokens than this from one client address within the window: 429
    # (with Retry-After) for that address until its oldest failure leaves the window. 0: off.
    failures_per_window: Annotated[int, msgspec.Meta(ge=0)] = 10
    failure_window_seconds: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    tracked_addresses: Annotated[int, msgspec.Meta(ge=1)] = 10_000  # least recent forgotten
    # Trusted proxies in front of the gateway: 0 ignores X-Forwarded-For (anybody can send
    # it); n takes the client address from the n-th entry from its end.
    forwarded_for_hops: Annotated[int, msgspec.Meta(ge=0, le=10)] = 0


class WhatsAppSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    provider: Literal["cloud", "wati", "console"] = "console"
    phone_number_id: str = ""
    verify_token: str = ""
    app_secret_env: str = "WHATSAPP_APP_SECRET"
    access_token_env: str = "WHATSAPP_TOKEN"
    graph_api_base: str = "https://graph.facebook.com/v21.0"
    # Sends a second per business number (Meta's default throughput; up to 1000 for numbers
    # Meta has raised); 0 turns the pace off. A throttling answer halves it for a while.
    messages_per_second: Annotated[float, msgspec.Meta(ge=0)] = 80.0


class WatiSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    webhook_token_env: str = "WATI_WEBHOOK_TOKEN"
    api_base: str = ""
    api_token_env: str = "WATI_API_TOKEN"
    # The business number WATI's events belong to (its Meta phone_number_id, so that they
    # meet the Cloud API's in one conversation); empty: [whatsapp] phone_number_id.
    phone_number_id: str = ""
    # With several numbers on one WATI account: each `channelPhoneNumber` to its number id.
    channels: dict[str, str] = msgspec.field(default_factory=dict)
    # WATI's published rate for template sends (Growth plan: 30 per 10 s; Pro 60; Business 100).
    templates_per_10s: int = 30

    def channel_of(self, business_id: str) -> str | None:
        """The `channelPhoneNumber` a send from that business number goes out of."""
        for channel, number in self.channels.items():
            if number == business_id:
                return channel
        return None

    def business_of(self, channel: str | None, default: str) -> str:
        """The business number an event of that channel belongs to."""
        if channel and channel in self.channels:
            return self.channels[channel]
        return self.phone_number_id or default or "default"


class ActorRuntimeSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    mailbox_size: int = 256
    passivate_after_seconds: float = 300.0


class IntakeSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """`[intake]`: how much webhook intake may wait unprocessed before webhooks are shed."""

    # Events stored in the inbox and not yet processed, over all conversations: past it,
    # webhooks answer 503 (nothing is stored; the provider retries) until they catch up.
    max_unprocessed: Annotated[int, msgspec.Meta(ge=1)] = 10_000
    # The `Retry-After` of every 503 that sheds load (this bound, or a full mailbox).
    retry_after_seconds: Annotated[int, msgspec.Meta(ge=1, le=86_400)] = 5


class OutboxSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    concurrency: Annotated[int, msgspec.Meta(ge=1)] = 256  # 1000/s at 200 ms a send needs 200
    max_attempts: int = 8
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 3600.0
    request_timeout_seconds: float = 15.0
    drain_seconds: float = 10.0
    # After a crash, a send that was attempted and never confirmed waits this long for a
    # status webhook naming it (then it is known sent) before it is sent again.
    unconfirmed_grace_seconds: Annotated[float, msgspec.Meta(ge=0)] = 30.0
    max_queued: Annotated[int, msgspec.Meta(ge=1)] = 1_000  # beyond, sends wait in the table


class RealtimeSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """`[realtime]`: the dashboards' WebSocket feed."""

    # How many recent events are kept for clients that reconnect with `?since=`; one older
    # than that gets a `resync` event and reloads.
    events_kept: int = 10_000


class CannedResponse(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A quick reply of the dashboard: `text` may use `{customer_name}` and `{agent_name}`."""

    title: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


GREETING = CannedResponse(
    title="Greeting", text="Hi {customer_name}, I am {agent_name}. How can I help?"
)


class DashboardSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """`[dashboard]`: the agent dashboard at `/dashboard/`."""

    canned_responses: list[CannedResponse] = msgspec.field(default_factory=lambda: [GREETING])


class LogSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    level: Literal["debug", "info", "warning", "error"] = "info"


class Settings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    server: ServerSettings = ServerSettings()
    storage: StorageSettings = StorageSettings()
    clock: ClockSettings = ClockSettings()
    auth: AuthSettings = AuthSettings()
    whatsapp: WhatsAppSettings = WhatsAppSettings()
    wati: WatiSettings = WatiSettings()
    pause: PauseSettings = PauseSettings()
    sessions: SessionSettings = SessionSettings()
    assignment: AssignmentSettings = AssignmentSettings()
    bot: BotSettings = BotSettings()
    timeouts: TimeoutSettings = TimeoutSettings()
    numbers: dict[str, NumberSettings] = msgspec.field(default_factory=dict)
    actors: ActorRuntimeSettings = ActorRuntimeSettings()
    intake: IntakeSettings = IntakeSettings()
    outbox: OutboxSettings = OutboxSettings()
    realtime: RealtimeSettings = RealtimeSettings()
    dashboard: DashboardSettings = DashboardSettings()
    jobs: JobSettings = JobSettings()
    archive: ArchiveSettings = ArchiveSettings()
    cleanup: CleanupSettings = CleanupSettings()
    sync: SyncSettings = SyncSettings()
    metadata: MetadataSettings = MetadataSettings()
    alerts: AlertSettings = AlertSettings()
    analysis: AnalysisSettings = AnalysisSettings()
    log: LogSettings = LogSettings()

    @property
    def maintenance(self) -> MaintenanceSettings:
        """Seed 002's sections, as the maintenance jobs read them."""
        return MaintenanceSettings(
            self.jobs, self.archive, self.cleanup, self.sync, self.metadata, self.alerts
        )


class Secrets(msgspec.Struct, frozen=True):
    """Secret values, read from the environment variables the settings name."""

    admin_token: str = ""
    app_secret: str = ""
    access_token: str = ""
    wati_webhook_token: str = ""
    wati_api_token: str = ""

    @classmethod
    def from_env(cls, settings: Settings, environ: Mapping[str, str]) -> Secrets:
        def read(name: str) -> str:
            return environ.get(name, "") if name else ""

        return cls(
            admin_token=read(settings.auth.admin_token_env),
            app_secret=read(settings.whatsapp.app_secret_env),
            access_token=read(settings.whatsapp.access_token_env),
            wati_webhook_token=read(settings.wati.webhook_token_env),
            wati_api_token=read(settings.wati.api_token_env),
        )


def parse_settings(data: bytes | str) -> Settings:
    """Decode TOML text; the error names the offending key (`$.pause.duration_hours`).

    `tomllib` parses and `msgspec.convert` checks (msgspec.toml.decode would do both, but it
    trips over freezegun's patched datetime)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"settings are not valid TOML: {exc}") from None
    try:
        settings = msgspec.convert(parsed, type=Settings)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid setting: {exc}") from None
    _check_jobs(settings.jobs)
    return settings


def _check_jobs(jobs: JobSettings) -> None:
    """Each schedule a cron expression (or "" for off), the time zone a known one."""
    try:
        zone(jobs.timezone)
    except ValueError as exc:
        raise SettingsError(f"invalid setting: {exc} - at `$.jobs.timezone`") from None
    for name in ("cleanup", "archive", "sync", "metadata"):
        problem = check(getattr(jobs, name))
        if problem:
            raise SettingsError(f"invalid setting: {problem} - at `$.jobs.{name}`")


def load_settings(path: str | Path) -> Settings:
    """Read and decode the settings file at `path`. Relative paths in it (`storage.path`,
    `bot.flows_dir`) are taken from the folder the file is in, wherever it is run from."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc.strerror}") from None
    try:
        settings = parse_settings(data)
    except SettingsError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    return relative_to(settings, path.resolve().parent)


def relative_to(settings: Settings, folder: Path) -> Settings:
    """The settings with their relative paths made absolute, from `folder`."""

    def anchored(value: str) -> str:
        if value == ":memory:" or Path(value).is_absolute():
            return value
        return str(folder / value)

    replace = msgspec.structs.replace
    return replace(
        settings,
        storage=replace(settings.storage, path=anchored(settings.storage.path)),
        bot=replace(settings.bot, flows_dir=anchored(settings.bot.flows_dir)),
    )
