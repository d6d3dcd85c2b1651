"""The STUN/TURN servers a call's WebRTC legs use, with short-lived TURN credentials.

TURN credentials follow the time-limited "REST API" scheme coturn supports (``use-auth-secret``;
draft-uberti-behave-turn-rest-00): the username is ``<expiry unix time>:<user>``, the password is
base64(HMAC-SHA1(shared secret, username)). Nothing long-lived reaches a browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer


@dataclass(frozen=True)
class IceServers:
    """A deployment's STUN and TURN servers (``CONTACTD_STUN_URLS``, ``CONTACTD_TURN_URLS``...)."""

    stun: Sequence[str] = ()
    turn: Sequence[str] = ()
    secret: str = ""
    ttl_s: int = 3600

    def credential(self, user: str, now_s: float) -> tuple[str, str]:
        """A TURN username and password for ``user``, valid for ``ttl_s`` from ``now_s``."""
        username = f"{int(now_s) + self.ttl_s}:{user}"
        digest = hmac.new(self.secret.encode(), username.encode(), hashlib.sha1).digest()
        return username, base64.b64encode(digest).decode()

    def for_browser(self, user: str, now_s: float) -> list[dict[str, Any]]:
        """``RTCIceServer`` dictionaries (W3C WebRTC) for one console or citizen, at call time."""
        servers: list[dict[str, Any]] = [{"urls": list(self.stun)}] if self.stun else []
        if self.turn:
            username, password = self.credential(user, now_s)
            servers.append({"urls": list(self.turn), "username": username, "credential": password})
        return servers

    def for_node(self, node: str, now_s: float) -> RTCConfiguration:
        """The configuration of this node's own peers (aiortc), with a credential of its own."""
        servers = [RTCIceServer(urls=list(self.stun))] if self.stun else []
        if self.turn:
            username, password = self.credential(node, now_s)
            servers.append(RTCIceServer(urls=list(self.turn), username=username, credential=password))
        return RTCConfiguration(iceServers=servers)


def use_host_addresses(addresses: Sequence[str]) -> None:
    """Offer only ``addresses`` as this node's host candidates (``CONTACTD_ICE_HOST_ADDRESSES``).

    aioice gathers every interface but loopback; a node with several networks, or one reached on
    127.0.0.1 only (a test, or a TURN server beside it), names its own.
    """
    if addresses:
        chosen = list(addresses)
        aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: chosen
