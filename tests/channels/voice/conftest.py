"""Every voice test: WebRTC peers on 127.0.0.1.

aioice leaves 127.0.0.1 out of its host candidates; on a test machine it is the only address sure to
work, for the test's peers and for the in-process server alike (processes get
``CONTACTD_ICE_HOST_ADDRESSES``).
"""

from __future__ import annotations

from collections.abc import Iterator

import aioice.ice
import pytest


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    yield
