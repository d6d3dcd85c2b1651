"""Settings are read once, validated, and a bad value stops start-up with one line naming it."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from contactd.errors import ConfigError
from contactd.settings import Settings

KEY = "k" * 40


def read(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"CONTACTD_SECRET_KEY": KEY, "CONTACTD_DATA_DIR": str(tmp_path), **env}, dotenv=None)


def test_defaults_follow_the_contract(tmp_path: Path) -> None:
    s = read(tmp_path)
    assert (s.port, s.embedded_redis, s.embedded_postgres) == (8080, True, True)
    assert s.public_url == "http://127.0.0.1:8080" and s.twilio_api_url == "https://api.twilio.com"
    assert (s.offer_timeout_s, s.chat_capacity) == (30.0, 3)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("CONTACTD_PORT", "eighty", "CONTACTD_PORT must be a whole number"),
        ("CONTACTD_PORT", "70000", "CONTACTD_PORT must be between 1 and 65535"),
        ("CONTACTD_REDIS_URL", "localhost:6379", "CONTACTD_REDIS_URL must be a URL"),
        ("CONTACTD_DATABASE_URL", "mysql://x/y", "CONTACTD_DATABASE_URL must be a URL"),
        ("CONTACTD_PUBLIC_URL", "contact.gov.uk", "CONTACTD_PUBLIC_URL must be a URL"),
        ("CONTACTD_SECRET_KEY", "short", "CONTACTD_SECRET_KEY must be at least 32 characters"),
        ("CONTACTD_SMTP_PORT", "-1", "CONTACTD_SMTP_PORT must be between"),
        ("CONTACTD_OFFER_TIMEOUT_S", "soon", "CONTACTD_OFFER_TIMEOUT_S must be a number"),
        ("CONTACTD_STUN_URLS", "stun.example.org:3478", "CONTACTD_STUN_URLS must be stun or stuns: URLs"),
        ("CONTACTD_TURN_URLS", "turn:turn.example.org:3478", "CONTACTD_TURN_SECRET must be set"),
        ("CONTACTD_TURN_URLS", "https://turn.example.org", "CONTACTD_TURN_URLS must be turn or turns: URLs"),
        ("CONTACTD_ICE_HOST_ADDRESSES", "my-laptop", "CONTACTD_ICE_HOST_ADDRESSES must be IP addresses"),
        ("CONTACTD_TURN_TTL_S", "5", "CONTACTD_TURN_TTL_S must be between 60 and 86400"),
    ],
)
def test_a_bad_value_is_named(tmp_path: Path, name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as e:
        read(tmp_path, **{name: value})
    assert says in str(e.value) and "\n" not in str(e.value)


def test_serve_needs_a_secret_key_but_the_demo_makes_and_keeps_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CONTACTD_SECRET_KEY is required"):
        Settings.from_env({"CONTACTD_DATA_DIR": str(tmp_path)}, dotenv=None)
    first = Settings.from_env({"CONTACTD_DATA_DIR": str(tmp_path)}, dotenv=None, demo=True)
    again = Settings.from_env({"CONTACTD_DATA_DIR": str(tmp_path)}, dotenv=None, demo=True)
    assert len(first.secret_key) >= 32 and first.secret_key == again.secret_key
    assert (tmp_path / "demo-secret-key").stat().st_mode & 0o077 == 0


def test_secrets_are_never_printed(tmp_path: Path) -> None:
    s = read(
        tmp_path,
        CONTACTD_TWILIO_AUTH_TOKEN="twilio-secret-token",
        CONTACTD_DATABASE_URL="postgresql://u:dbpass@h/db",
        CONTACTD_SMTP_RELAY_URL="smtp://u:mailpass@h:25",
    )
    text = repr(s) + str(s)
    for secret in (KEY, "twilio-secret-token", "dbpass", "mailpass"):
        assert secret not in text


def test_dotenv_supplies_values_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"CONTACTD_PORT=9000\nCONTACTD_TENANT=council\nCONTACTD_SECRET_KEY={KEY}\n")
    s = Settings.from_env({"CONTACTD_PORT": "9100", "CONTACTD_DATA_DIR": str(tmp_path)}, dotenv=dotenv)
    assert (s.port, s.tenant) == (9100, "council")


def test_settings_are_frozen(tmp_path: Path) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        read(tmp_path).port = 1  # type: ignore[misc]


def test_the_cli_stops_with_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTD_")}
    env.update(CONTACTD_PORT="not-a-port", CONTACTD_DATA_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "contactd", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["contactd: CONTACTD_PORT must be a whole number, got 'not-a-port'"]
