"""The mail tests' contactd: taking mail on its own SMTP port (test_outbound adds a relay)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contactd.embedded import free_port
from tests.conftest import LiveServer, make_settings


@pytest.fixture
async def server(server_urls: tuple[str, str], department: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    live = await LiveServer(make_settings(server_urls, department, tmp_path, smtp_port=free_port())).start()
    yield live
    await live.stop()
