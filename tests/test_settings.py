"""settings.toml: every key typed; unknown keys and wrong types stop start-up, named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from gateway.settings import Secrets, Settings, SettingsError, load_settings, parse_settings
from tests.sim import REPO


def test_shipped_settings_file_is_the_defaults() -> None:
    """settings.toml decodes, and every value in it is the built-in default, but for the
    example business number (the one the README's webhooks name)."""
    shipped = parse_settings((REPO / "settings.toml").read_text())
    example = msgspec.structs.replace(Settings().whatsapp, phone_number_id="310000000000002")
    assert shipped == msgspec.structs.replace(Settings(), whatsapp=example)


def test_shipped_file_has_every_contract_key() -> None:
    """Every key API.md names is present in settings.toml."""
    text = (REPO / "settings.toml").read_text()
    for key in (
        "host",
        "port",
        "max_body_bytes",
        "path",
        "mode",
        "admin_token_env",
        "provider",
        "phone_number_id",
        "verify_token",
        "app_secret_env",
        "access_token_env",
        "graph_api_base",
        "messages_per_second",
        "webhook_token_env",
        "api_base",
        "api_token_env",
        "duration_hours",
        "trigger_agent_emails",
        "agent_mode_button",
        "expiry_hours",
        "end_keywords",
        "policy",
        "idle_minutes",
        "max_active_per_operator",
        "flows_dir",
        "default_flow",
        "max_message_age_minutes",
        "inactivity_minutes",
    ):
        assert f"\n{key} = " in text, key


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[server]\nprot = 8080\n", "server"),
        ('[server]\nport = "eighty"\n', "server.port"),
        ('[pause]\nduration_hours = "ten"\n', "pause.duration_hours"),
        ('[pause]\ntrigger_agent_emails = "a@b.c"\n', "pause.trigger_agent_emails"),
        ("[nonsense]\nx = 1\n", "nonsense"),
        ('[whatsapp]\nprovider = "carrier-pigeon"\n', "whatsapp.provider"),
        ('[assignment]\npolicy = "random"\n', "assignment.policy"),
        ('[numbers."3100".timeouts]\ninactivity_minutes = "x"\n', "inactivity_minutes"),
    ],
)
def test_bad_settings_name_the_key(text: str, named: str) -> None:
    """A wrong type or an unknown key raises SettingsError naming the key."""
    with pytest.raises(SettingsError) as info:
        parse_settings(text)
    message = str(info.value)
    assert named.split(".")[-1] in message
    if "." in named:
        assert named.split(".")[0] in message


def test_not_toml_is_an_error() -> None:
    """Broken TOML is refused with a message, not a traceback."""
    with pytest.raises(SettingsError, match="not valid TOML"):
        parse_settings("[server\nport = 1")


def test_partial_file_keeps_other_defaults() -> None:
    """Keys left out keep their defaults."""
    settings = parse_settings("[pause]\nduration_hours = 2\n")
    assert settings.pause.duration_hours == 2
    assert settings.pause.trigger_agent_emails == ["contracts@abar.app"]
    assert settings.server.port == 8080


def test_per_number_overrides() -> None:
    """`[numbers."id".timeouts]` decodes into per-number timeout settings."""
    settings = parse_settings('[numbers."310000000000002".timeouts]\ninactivity_minutes = 30\n')
    overrides = settings.numbers["310000000000002"].timeouts
    assert overrides is not None and overrides.inactivity_minutes == 30


def test_secrets_come_from_the_named_variables() -> None:
    """Secrets are read from the environment variables the settings name, not the file."""
    settings = parse_settings('[whatsapp]\napp_secret_env = "MY_SECRET"\n')
    secrets = Secrets.from_env(settings, {"MY_SECRET": "s3", "GATEWAY_ADMIN_TOKEN": "adm"})
    assert secrets.app_secret == "s3"
    assert secrets.admin_token == "adm"
    assert secrets.access_token == ""


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    """A settings path that does not exist is a SettingsError naming the path."""
    with pytest.raises(SettingsError, match=r"nope\.toml"):
        load_settings(tmp_path / "nope.toml")


def test_run_py_refuses_bad_settings(tmp_path: Path) -> None:
    """`python run.py --settings FILE` with an unknown key exits 2 naming the key."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[pause]\nduraton_hours = 3\n")
    done = subprocess.run(
        [sys.executable, str(REPO / "run.py"), "--settings", str(bad)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "duraton_hours" in done.stderr


def test_relative_paths_are_taken_from_the_settings_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`storage.path` and `bot.flows_dir` are relative to the file's folder, wherever the
    gateway is started from; absolute ones stay as they are."""
    folder = tmp_path / "deploy"
    folder.mkdir()
    (folder / "gw.toml").write_text(
        '[storage]\npath = "data/gw.db"\n[bot]\nflows_dir = "/srv/flows"\n'
    )
    monkeypatch.chdir(tmp_path)
    settings = load_settings("deploy/gw.toml")
    assert settings.storage.path == str(folder / "data" / "gw.db")
    assert settings.bot.flows_dir == "/srv/flows"
