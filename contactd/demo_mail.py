"""The demo's mail: SMTP in on port 2525 unless ``CONTACTD_SMTP_PORT`` says otherwise, and, unless
``CONTACTD_SMTP_RELAY_URL`` names a real relay, a local one that keeps each mail sent as a ``.eml``
file under ``<data dir>/mail-out/`` (so a demo never mails anyone, yet shows every reply)."""

from __future__ import annotations

import dataclasses
import socket
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from contactd.embedded import free_port
from contactd.settings import Settings

DEMO_SMTP_PORT = 2525


class MailFolder:
    """An SMTP handler that writes each mail to a folder instead of sending it on."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns() % 10**9:09d}.eml"
        (self.folder / name).write_bytes(envelope.original_content or b"")
        return "250 OK: kept in the demo's mail-out folder"


def with_demo_mail(settings: Settings) -> tuple[Settings, Controller | None]:
    """``settings`` with the demo's mail in and out filled in; the local relay to stop, if one was started."""
    port = settings.smtp_port or _port_or_any(DEMO_SMTP_PORT)
    if settings.smtp_relay_url:
        return dataclasses.replace(settings, smtp_port=port), None
    relay = Controller(MailFolder(settings.data_dir / "mail-out"), hostname="127.0.0.1", port=free_port())
    relay.start()
    url = f"smtp://127.0.0.1:{relay.port}"
    return dataclasses.replace(settings, smtp_port=port, smtp_relay_url=url), relay


def _port_or_any(port: int) -> int:
    """``port`` if it is free on 127.0.0.1, else any free port."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return free_port()
    return port
