"""A local SMTP relay (aiosmtpd) that keeps what it is given: the department's relay, as far as tests see it."""

from __future__ import annotations

import asyncio
import email
import email.policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

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
