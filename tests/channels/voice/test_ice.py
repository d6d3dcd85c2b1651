"""STUN/TURN servers for calls: TURN credentials are short-lived, in the scheme coturn checks."""

from __future__ import annotations

import base64
import hashlib
import hmac

from channels.voice.ice import IceServers

SECRET = "a-shared-secret-of-the-turn-server"
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z


def test_a_turn_credential_expires_after_its_time_to_live_and_is_the_hmac_coturn_checks() -> None:
    username, password = IceServers(turn=["turn:t.example:3478"], secret=SECRET, ttl_s=600).credential("7", NOW)
    assert username == f"{NOW + 600}:7"
    expected = base64.b64encode(hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()).decode()
    assert password == expected
    assert IceServers(secret="another-secret-entirely", ttl_s=600).credential("7", NOW)[1] != password


def test_a_console_gets_stun_and_a_fresh_turn_credential_and_never_the_secret() -> None:
    ice = IceServers(stun=["stun:s.example:3478"], turn=["turn:t.example:3478", "turns:t.example:5349"], secret=SECRET)
    servers = ice.for_browser("12", NOW)
    assert servers[0] == {"urls": ["stun:s.example:3478"]}
    assert servers[1]["urls"] == ["turn:t.example:3478", "turns:t.example:5349"]
    assert servers[1]["username"].startswith(f"{NOW + 3600}:12")
    assert SECRET not in repr(servers)
    assert IceServers().for_browser("12", NOW) == []  # nothing configured: host candidates only


def test_the_node_uses_a_credential_of_its_own() -> None:
    config = IceServers(turn=["turn:t.example:3478"], secret=SECRET).for_node("node-a", NOW)
    assert config.iceServers is not None and config.iceServers[0].username == f"{NOW + 3600}:node-a"
