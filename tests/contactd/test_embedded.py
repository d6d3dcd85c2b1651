"""The embedded default: real Redis and PostgreSQL as children, data kept, nothing left behind."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import re
import signal
import smtplib
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from contactd.embedded import _alive
from contactd.migrate import available
from tests.helpers import UNIT, Client, login, typed
from tests.processes import ContactdProcess

pytestmark = pytest.mark.slow


def server_pids(data: Path) -> list[int]:
    """The Redis and PostgreSQL server pids recorded in the data directory."""
    pids = []
    for pidfile in (data / "redis" / "server.pid", data / "postgres" / "postmaster.pid"):
        if pidfile.exists():
            pids.append(int(pidfile.read_text().split()[0]))
    return pids


def postmasters(data: Path) -> int:
    """How many PostgreSQL servers run on this data directory."""
    count = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd[0].endswith(b"/postgres") and str(data / "postgres").encode() in cmd:
            count += 1
    return count


async def wait_dead(pids: list[int], timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout * UNIT
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        await asyncio.sleep(0.1)
    return False


async def leave_a_message(node: ContactdProcess) -> str:
    citizen = await Client.connect(node.ws("/ws/chat"), origin=node.base)
    await citizen.send({"type": "chat.start", "queue": "benefits", "name": "Ann"})
    cid = (await citizen.expect(typed("chat.queued")))["conversation_id"]
    await citizen.send({"type": "message", "id": "m1", "text": "my claim number is 1234"})
    await citizen.expect(typed("message", id="m1"))
    await citizen.close()
    return str(cid)


async def transcript(node: ContactdProcess, cid: str) -> list[str]:
    async with httpx.AsyncClient(base_url=node.base) as c:
        r = await c.get(f"/api/conversations/{cid}", headers={"Cookie": await login(node.base, "supervisor")})
    assert r.status_code == 200, r.text
    return [m["text"] for m in r.json()["transcript"]]


async def test_data_survives_a_restart_and_sigterm_stops_everything(
    tmp_path: Path, contactd_process: Callable[..., ContactdProcess]
) -> None:
    data = tmp_path / "data"
    node = contactd_process("demo", data)
    await node.ready()
    pids = server_pids(data)
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    cid = await leave_a_message(node)
    assert node.stop(signal.SIGTERM) == 0
    assert await wait_dead(pids), "embedded servers still running after SIGTERM"

    again = contactd_process("demo", data)
    await again.ready()
    assert await transcript(again, cid) == ["my claim number is 1234"]
    assert again.stop(signal.SIGINT) == 0
    assert await wait_dead(server_pids(data) or pids)


async def test_after_kill_9_the_next_start_recovers_and_runs_one_copy(
    tmp_path: Path, contactd_process: Callable[..., ContactdProcess]
) -> None:
    data = tmp_path / "data"
    node = contactd_process("demo", data)
    await node.ready()
    cid = await leave_a_message(node)
    pids = server_pids(data)
    node.stop(signal.SIGKILL)
    assert await wait_dead(pids), "embedded servers outlived a kill -9 of contactd"

    again = contactd_process("demo", data)
    await again.ready()
    assert await transcript(again, cid) == ["my claim number is 1234"]
    assert postmasters(data) == 1
    again.stop()


async def test_two_contactd_processes_cannot_share_one_data_directory(
    tmp_path: Path, contactd_process: Callable[..., ContactdProcess]
) -> None:
    data = tmp_path / "data"
    first = contactd_process("demo", data)
    await first.ready()
    second = contactd_process("demo", data)
    assert second.proc.wait(30 * UNIT) == 1
    second.stop()
    assert f"data directory {data} is in use by another contactd (pid {first.proc.pid})" in second.output()
    await first.ready(5)  # the first one is unharmed
    first.stop()


async def test_migrate_command_applies_the_schema_once(
    tmp_path: Path, contactd_process: Callable[..., ContactdProcess]
) -> None:
    data = tmp_path / "data"
    for expected in (f"{len(available())} migrations applied now", "0 migrations applied now"):
        proc = contactd_process("migrate", data)
        assert proc.proc.wait(60 * UNIT) == 0, proc.output()
        assert expected in proc.output()
        proc.stop()


async def test_the_demo_takes_mail_and_keeps_what_it_sends_in_a_folder(
    tmp_path: Path, contactd_process: Callable[..., ContactdProcess]
) -> None:
    data = tmp_path / "data"
    node = contactd_process("demo", data)
    await node.ready()
    found = re.search(r"Mail in: +smtp://127\.0\.0\.1:(\d+)", node.output())
    assert found, node.output()
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "sian@example.org", "benefits@demo.contactd.local", "My claim"
    msg.set_content("Please call me.")

    def post() -> None:
        with smtplib.SMTP("127.0.0.1", int(found.group(1)), timeout=10) as smtp:
            smtp.send_message(msg)

    await asyncio.to_thread(post)
    folder = data / "mail-out"
    for _ in range(int(100 * UNIT)):
        if folder.exists() and any(folder.iterdir()):
            break
        await asyncio.sleep(0.1)
    [kept] = list(folder.iterdir())
    ack = email.message_from_bytes(kept.read_bytes(), policy=email.policy.default)
    assert ack["To"] == "sian@example.org" and re.search(r"\[Ref: CD-[0-9A-Z]{6}\]", str(ack["Subject"]))
    node.stop()
