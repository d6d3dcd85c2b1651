"""A citizen's mail client: messages written as mail programs write them, sent with smtplib."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage

import asyncpg

from tests.conftest import LiveServer

TO = "benefits@demo.contactd.local"


def mail(subject: str = "My claim", body: str = "Please call me about my claim.", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Siân Evans <sian@example.org>", TO, subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


async def send(server: LiveServer, msg: EmailMessage | bytes, to: str = TO, sender: str = "sian@example.org") -> None:
    def post() -> None:
        with smtplib.SMTP("127.0.0.1", server.settings.smtp_port or 0, timeout=10) as smtp:
            if isinstance(msg, bytes):
                smtp.sendmail(sender, [to], msg)
            else:
                smtp.send_message(msg, from_addr=sender, to_addrs=[to])

    await asyncio.to_thread(post)


async def conversations(db: asyncpg.Pool, server: LiveServer) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT c.id, c.channel, q.name AS queue, c.state FROM conversations c JOIN queues q ON q.id = c.queue_id"
        " WHERE c.tenant_id = $1",
        server.settings.tenant,
    )
