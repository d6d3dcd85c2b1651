"""Settings: read once from the environment (and an optional ``.env``), frozen.

Every name is in CONTRACT.md. ``Settings.from_env`` casts and validates each
value and raises :class:`ConfigError` naming the first bad one, so start-up
stops with one clear line. Secrets are kept out of ``repr``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from contactd.errors import ConfigError

PREFIX = "CONTACTD_"


@dataclass(frozen=True)
class Settings:
    """Everything contactd reads from its environment."""

    host: str = "127.0.0.1"
    """Interface to listen on (``CONTACTD_HOST``)."""
    port: int = 8080
    """HTTP port (``CONTACTD_PORT``)."""
    data_dir: Path = Path(".contactd")
    """Where embedded servers keep their data (``CONTACTD_DATA_DIR``)."""
    redis_url: str | None = None
    """External Redis; unset starts the embedded one (``CONTACTD_REDIS_URL``)."""
    database_url: str | None = field(default=None, repr=False)
    """External PostgreSQL; unset starts the embedded one (``CONTACTD_DATABASE_URL``)."""
    public_url: str = ""
    """The URL citizens, agents and Twilio use to reach this service (``CONTACTD_PUBLIC_URL``)."""
    twilio_account_sid: str = ""
    """Twilio account SID (``CONTACTD_TWILIO_ACCOUNT_SID``)."""
    twilio_auth_token: str = field(default="", repr=False)
    """Twilio auth token, used to check webhook signatures (``CONTACTD_TWILIO_AUTH_TOKEN``)."""
    twilio_number: str = ""
    """The department's Twilio number (E.164): calls back to web-chat citizens come from it
    (``CONTACTD_TWILIO_NUMBER``)."""
    twilio_api_url: str = "https://api.twilio.com"
    """Base URL of Twilio's REST API; tests point it at a stand-in (``CONTACTD_TWILIO_API_URL``)."""
    smtp_port: int | None = None
    """Inbound SMTP port; unset disables inbound mail (``CONTACTD_SMTP_PORT``)."""
    smtp_relay_url: str | None = field(default=None, repr=False)
    """Outbound SMTP relay, ``smtp://user:pass@host:port`` (``CONTACTD_SMTP_RELAY_URL``)."""
    secret_key: str = field(default="", repr=False)
    """Key for signed tokens (``CONTACTD_SECRET_KEY``), at least 32 characters."""
    allowed_origins: tuple[str, ...] = ()
    """Extra browser origins allowed on agent and board WebSockets (``CONTACTD_ALLOWED_ORIGINS``)."""
    tenant: str = "default"
    """The department this deployment serves (``CONTACTD_TENANT``)."""
    offer_timeout_s: float = 30.0
    """Seconds an agent has to accept an offer (``CONTACTD_OFFER_TIMEOUT_S``)."""
    chat_capacity: int = 3
    """Default concurrent chats per agent (``CONTACTD_CHAT_CAPACITY``)."""
    wrapup_s: float = 60.0
    """Seconds an agent has to wrap up before the slot frees by itself (``CONTACTD_WRAPUP_S``)."""
    agent_grace_s: float = 10.0
    """Seconds a disconnected console has to come back before its agent goes offline (``CONTACTD_AGENT_GRACE_S``)."""
    citizen_grace_s: float = 30.0
    """Seconds a disconnected citizen has to resume before the chat counts as left (``CONTACTD_CITIZEN_GRACE_S``)."""
    log_level: str = "INFO"
    """Python log level name (``CONTACTD_LOG_LEVEL``)."""
    stun_urls: tuple[str, ...] = ()
    """STUN servers for calls' WebRTC legs, ``stun:host:port`` (``CONTACTD_STUN_URLS``, comma separated)."""
    turn_urls: tuple[str, ...] = ()
    """TURN servers, ``turn:``/``turns:`` URLs (``CONTACTD_TURN_URLS``); they need ``CONTACTD_TURN_SECRET``."""
    turn_secret: str = field(default="", repr=False)
    """The TURN server's shared secret (coturn ``static-auth-secret``), for short-lived credentials
    (``CONTACTD_TURN_SECRET``)."""
    turn_ttl_s: int = 3600
    """How long a TURN credential handed out at call time stays valid (``CONTACTD_TURN_TTL_S``)."""
    ice_host_addresses: tuple[str, ...] = ()
    """Local addresses this node offers as WebRTC host candidates; unset: every interface but loopback
    (``CONTACTD_ICE_HOST_ADDRESSES``, comma separated)."""
    node_id: str = ""
    """Name of this process among several nodes; defaults to host name + pid."""

    @property
    def embedded_redis(self) -> bool:
        """True when contactd must start its own Redis."""
        return self.redis_url is None

    @property
    def embedded_postgres(self) -> bool:
        """True when contactd must start its own PostgreSQL."""
        return self.database_url is None

    @property
    def public_origin(self) -> str:
        """``scheme://host[:port]`` of the public URL, as browsers send it in ``Origin``."""
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        dotenv: Path | None = Path(".env"),
        demo: bool = False,
    ) -> Settings:
        """Read, cast and validate every setting; raise ConfigError naming the first bad one.

        Values in the process environment win over those in ``dotenv``. In demo
        mode a missing secret key is generated and kept under the data dir.
        """
        env: dict[str, str] = {}
        if dotenv is not None and dotenv.is_file():
            env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        env.update(os.environ if environ is None else environ)
        return _parse(_Reader(env), demo=demo)


class _Reader:
    """Typed access to ``CONTACTD_*`` values; each error names the variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str, default: str = "") -> str:
        return self.env.get(PREFIX + name, default).strip() or default

    def optional(self, name: str) -> str | None:
        return self.text(name) or None

    def integer(self, name: str, default: int | None, low: int, high: int) -> int | None:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{PREFIX}{name} must be a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{PREFIX}{name} must be between {low} and {high}, got {value}")
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{PREFIX}{name} must be a number, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{PREFIX}{name} must be between {low} and {high}, got {value}")
        return value

    def url(self, name: str, schemes: tuple[str, ...]) -> str | None:
        raw = self.optional(name)
        if raw is None:
            return None
        parts = urlsplit(raw)
        if parts.scheme not in schemes or not (parts.netloc or parts.query):
            raise ConfigError(f"{PREFIX}{name} must be a URL starting with {' or '.join(schemes)}://")
        return raw


def _parse(r: _Reader, *, demo: bool) -> Settings:
    host = r.text("HOST", "127.0.0.1")
    port = r.integer("PORT", 8080, 1, 65535)
    assert port is not None
    data_dir = Path(r.text("DATA_DIR", ".contactd")).expanduser().absolute()
    public_url = r.url("PUBLIC_URL", ("http", "https")) or f"http://{_browser_host(host)}:{port}"
    log_level = r.text("LOG_LEVEL", "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"{PREFIX}LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")
    origins = tuple(o.strip().rstrip("/") for o in r.text("ALLOWED_ORIGINS").split(",") if o.strip())
    return Settings(
        host=host,
        port=port,
        data_dir=data_dir,
        redis_url=r.url("REDIS_URL", ("redis", "rediss", "unix", "redis+sentinel")),
        database_url=r.url("DATABASE_URL", ("postgres", "postgresql")),
        public_url=public_url.rstrip("/"),
        twilio_account_sid=r.text("TWILIO_ACCOUNT_SID"),
        twilio_auth_token=r.text("TWILIO_AUTH_TOKEN"),
        twilio_number=_e164(r.text("TWILIO_NUMBER")),
        twilio_api_url=(r.url("TWILIO_API_URL", ("http", "https")) or "https://api.twilio.com").rstrip("/"),
        smtp_port=r.integer("SMTP_PORT", None, 1, 65535),
        smtp_relay_url=r.url("SMTP_RELAY_URL", ("smtp", "smtps")),
        secret_key=_secret_key(r, data_dir, demo),
        allowed_origins=origins,
        tenant=_tenant(r.text("TENANT", "default")),
        offer_timeout_s=r.number("OFFER_TIMEOUT_S", 30.0, 1.0, 600.0),
        chat_capacity=r.integer("CHAT_CAPACITY", 3, 1, 20) or 3,
        wrapup_s=r.number("WRAPUP_S", 60.0, 1.0, 3600.0),
        agent_grace_s=r.number("AGENT_GRACE_S", 10.0, 0.0, 600.0),
        citizen_grace_s=r.number("CITIZEN_GRACE_S", 30.0, 0.0, 3600.0),
        log_level=log_level,
        **_ice(r),
        node_id=r.text("NODE_ID") or f"{socket.gethostname()}-{os.getpid()}",
    )


def _ice(r: _Reader) -> dict[str, Any]:
    """The WebRTC (ICE) settings, checked: STUN and TURN URLs, and a secret whenever TURN is used."""

    def urls(name: str, schemes: tuple[str, ...]) -> tuple[str, ...]:
        found = tuple(u.strip() for u in r.text(name).split(",") if u.strip())
        for u in found:
            if u.split(":", 1)[0] not in schemes or ":" not in u:
                raise ConfigError(f"{PREFIX}{name} must be {' or '.join(schemes)}: URLs, got {u!r}")
        return found

    turn = urls("TURN_URLS", ("turn", "turns"))
    secret = r.text("TURN_SECRET")
    if turn and len(secret) < 16:
        raise ConfigError(f"{PREFIX}TURN_SECRET must be set (at least 16 characters) when TURN servers are")
    hosts = tuple(h.strip() for h in r.text("ICE_HOST_ADDRESSES").split(",") if h.strip())
    for h in hosts:
        try:
            ipaddress.ip_address(h)
        except ValueError:
            raise ConfigError(f"{PREFIX}ICE_HOST_ADDRESSES must be IP addresses, got {h!r}") from None
    return {
        "stun_urls": urls("STUN_URLS", ("stun", "stuns")),
        "turn_urls": turn,
        "turn_secret": secret,
        "turn_ttl_s": r.integer("TURN_TTL_S", 3600, 60, 86400) or 3600,
        "ice_host_addresses": hosts,
    }


def _e164(value: str) -> str:
    if value and not re.fullmatch(r"\+[1-9][0-9]{6,14}", value):
        raise ConfigError(f"{PREFIX}TWILIO_NUMBER must be a phone number in E.164 form, like +441632960000")
    return value


def _browser_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _tenant(value: str) -> str:
    if not value.replace("-", "").isalnum() or len(value) > 40:
        raise ConfigError(f"{PREFIX}TENANT must be letters, digits and '-' (at most 40), got {value!r}")
    return value


def _secret_key(r: _Reader, data_dir: Path, demo: bool) -> str:
    key = r.text("SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ConfigError(f"{PREFIX}SECRET_KEY must be at least 32 characters long")
        return key
    if not demo:
        raise ConfigError(f"{PREFIX}SECRET_KEY is required (at least 32 random characters)")
    # The demo keeps a generated key so that sessions and resume tokens survive a restart.
    path = data_dir / "demo-secret-key"
    if path.is_file():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
