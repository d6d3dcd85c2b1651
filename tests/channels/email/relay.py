"""A local SMTP relay (aiosmtpd) that keeps what it is given: the department's relay, as far as tests see it."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from contactd.embedded import free_port
from tests.conftest import LiveServer, make_settings
from tests.helpers import UNIT


class Relay:
    """Takes mail on ``port`` while running; ``refuse`` makes it answer DATA with that reply instead."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.mails: list[tuple[str, list[str], EmailMessage]] = []
        self.refuse: str | None = None
        self.server: asyncio.Server | None = None
        self.arrived = asyncio.Condition()

    async def start(self) -> Relay:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: SMTP(self, hostname="relay"), "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return self.refuse
        msg = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        async with self.arrived:
            self.mails.append((str(envelope.mail_from), list(envelope.rcpt_tos), msg))
            self.arrived.notify_all()
        return "250 OK"

    async def wait(self, count: int, timeout: float = 5.0) -> list[tuple[str, list[str], EmailMessage]]:
        """Once ``count`` mails have come (fails the test after ``timeout`` units)."""
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: len(self.mails) >= count), timeout * UNIT)
        return self.mails

    def with_header(self, name: str, value: Any) -> list[EmailMessage]:
        return [m for _, _, m in self.mails if str(m.get(name, "")) == str(value)]


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    """A local relay, not yet started (a test starts it, or leaves it down for an outage)."""
    relay = Relay(free_port())
    yield relay
    await relay.stop()


@pytest.fixture
async def server(
    server_urls: tuple[str, str], department: str, tmp_path: Path, relay: Relay
) -> AsyncIterator[LiveServer]:
    """contactd taking mail on its own SMTP port and sending through the test's relay."""
    settings = make_settings(
        server_urls, department, tmp_path, smtp_port=free_port(), smtp_relay_url=f"smtp://127.0.0.1:{relay.port}"
    )
    live = await LiveServer(settings).start()
    live.services.mail_sender.first_retry_s = 0.2  # a relay outage of seconds, not minutes
    yield live
    await live.stop()
