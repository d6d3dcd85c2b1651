"""Benchmark of mail in: SMTP to a queued conversation to an agent's offer, beside a bare aiosmtpd server.

A contactd node serves SMTP (``CONTACTD_SMTP_PORT``); M robot agents sign in on ``/ws/agent``, go
available, accept every offer, end it and wrap up at once, so that their email slots (5 each) free.
``--concurrency`` SMTP connections then send ``--messages`` mails to ``general@demo.contactd.local``,
each from its own sender (the offer's ``citizen.name``, which matches offers to mails) with its own
Message-ID. The same client sends the same mails to a bare aiosmtpd server in a child process whose
``handle_DATA`` returns "250 OK": its accept rate is the denominator. Latencies start when the client
writes ``DATA``. The client is a few lines over asyncio streams (RFC 5321, no PIPELINING): aiosmtplib took
2.4 times its CPU a mail, and on 2 shared cores that slowed the bare server, which is to set the denominator,
not the client. Human-readable lines first; the last line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: Python put bench/ first on sys.path, where this file would shadow the standard
    # library's `email` (and bench/router.py the project's `router`). Put the project root there instead.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import asyncio
import contextlib
import email.policy
import json
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import asyncpg
import httpx
import websockets
from aiosmtpd.smtp import SMTP, Envelope, Session
from websockets.asyncio.client import ClientConnection

from bench import harness as h
from bench.chat_bots import QUEUE, Target, agent_ready
from bench.chat_flow import PASSWORD, seed
from channels.email.inbound import MAX_BYTES
from contactd.embedded import free_port

MAILBOX = f"{QUEUE}@demo.contactd.local"  # seeded by contactd.demo for each queue
CAPACITY = 5  # the router's default email capacity per agent (router.model.DEFAULT_CAPACITY)
BODY = "Hello,\n\nI moved house last month. Which band is my new flat in, and when is the first payment due?\n"
RAW_REPEATS = 3
Out = dict[str, Any]


def mails(n: int, tag: str) -> list[tuple[str, bytes]]:
    """``n`` (sender, DATA payload): each from its own sender, with its own Message-ID, dot-stuffed, ending ``.``."""
    out = []
    for i in range(n):
        sender = f"citizen{i}.{tag}@bench.invalid"
        msg = EmailMessage(policy=email.policy.SMTP)  # CRLF line ends, as on the wire
        msg["From"], msg["To"], msg["Date"] = sender, MAILBOX, formatdate()
        msg["Subject"], msg["Message-ID"] = f"Council tax band, question {i}", f"<{i}.{tag}@bench.invalid>"
        msg.set_content(BODY)
        out.append((sender, re.sub(rb"(?m)^\.", b"..", msg.as_bytes()) + b".\r\n"))  # RFC 5321 4.5.2
    return out


@dataclass
class Tally:
    """What one run observed, by sender, on the client's clock."""

    data_at: dict[str, float] = field(default_factory=dict)  # sender -> when DATA was written
    ok_at: dict[str, float] = field(default_factory=dict)  # sender -> when its message got 250
    offer_at: dict[str, tuple[float, bool]] = field(default_factory=dict)  # sender -> (when offered, at once)
    closed: set[str] = field(default_factory=set)  # conversations whose wrap-up was saved
    dup_offers: int = 0  # offers for a mail already offered
    errors: list[str] = field(default_factory=list)
    t0: float = 0.0  # the clock starts: every connection open and greeted
    t_end: float = 0.0  # every conversation closed (contactd) or sent (raw)

    def data_ms(self) -> list[float]:
        return [at - self.data_at[s] for s, at in self.ok_at.items()]

    def offer_ms(self, at_once: bool | None = None) -> list[float]:
        return [
            at - self.data_at[s] for s, (at, o) in self.offer_at.items() if at_once in (None, o) and s in self.data_at
        ]

    def rate(self) -> float | None:
        return round(len(self.ok_at) / (max(self.ok_at.values()) - self.t0), 1) if self.ok_at else None


class Client:
    """One SMTP client connection: greeted once, then one transaction after another (no PIPELINING)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Client:
        client = cls(*await asyncio.open_connection("127.0.0.1", port))
        await client.expect(None, 220)
        await client.expect(b"EHLO bench.invalid", 250)
        return client

    async def expect(self, line: bytes | None, code: int) -> None:
        """Send ``line`` (if any) and read the whole reply, multi-line or not; raise unless it is ``code``."""
        if line is not None:
            self.writer.write(line + b"\r\n")
        while True:
            reply = await self.reader.readline()
            if reply[3:4] != b"-":
                break
        if not reply.startswith(str(code).encode()):
            raise ConnectionError(f"{(line or b'greeting')[:30]!r} -> {reply.strip()[:120]!r}")

    async def send_all(self, work: Iterator[tuple[str, bytes]], tally: Tally) -> None:
        """Send mails from the shared ``work`` until it is empty; the first refusal ends this connection."""
        try:
            for sender, payload in work:
                await self.expect(f"MAIL FROM:<{sender}>".encode(), 250)
                await self.expect(f"RCPT TO:<{MAILBOX}>".encode(), 250)
                tally.data_at[sender] = h.now()
                await self.expect(b"DATA", 354)
                self.writer.write(payload)
                await self.expect(None, 250)
                tally.ok_at[sender] = h.now()
            await self.expect(b"QUIT", 221)
        except (OSError, ConnectionError) as e:
            tally.errors.append(f"SMTP: {type(e).__name__}: {e}")
        finally:
            self.writer.close()


async def blast(
    port: int, work: list[tuple[str, bytes]], args: argparse.Namespace, tally: Tally, begin: Callable[[], None]
) -> None:
    """Open ``--concurrency`` connections, then start the clock and send every mail over them."""
    clients = await h.gather_limited(args.concurrency, 20, lambda _: Client.open(port))
    begin()
    tally.t0 = h.now()
    shared = iter(work)
    await asyncio.gather(*(c.send_all(shared, tally) for c in clients))


class Agent:
    """A robot agent: accept every offer, end it once assigned, wrap up once ended."""

    def __init__(self, ws: ClientConnection, tally: Tally) -> None:
        self.ws, self.tally, self.released = ws, tally, False

    async def send(self, frame: Out) -> None:
        await self.ws.send(json.dumps(frame))

    async def run(self) -> None:
        try:
            async for raw in self.ws:
                await self.on_frame(str(raw), h.now())
        except websockets.ConnectionClosed as e:
            self.tally.errors.append(f"agent socket closed by the server: {e}")

    async def on_frame(self, raw: str, at: float) -> None:
        f = json.loads(raw)
        kind, cid = f.get("type"), f.get("conversation_id", "")
        if kind == "offer":
            self.tally.dup_offers += f["citizen"]["name"] in self.tally.offer_at
            self.tally.offer_at.setdefault(f["citizen"]["name"], (at, not self.released))
            await self.send({"type": "offer.accept", "conversation_id": cid})
        elif kind == "conversation.assigned" and f.get("state") != "wrapup":
            await self.send({"type": "conversation.end", "conversation_id": cid})
        elif kind == "conversation.ended":
            self.released = True  # from now on an offer may fill the slot this wrap-up frees (closed comes after it)
            await self.send({"type": "wrapup.done", "conversation_id": cid, "disposition": "resolved"})
        elif kind == "conversation.closed":
            self.tally.closed.add(cid)
        elif kind in ("error", "offer.withdrawn"):
            self.tally.errors.append(f"agent got {raw[:200]}")


async def contactd_flow(args: argparse.Namespace, base: str, smtp_port: int, meter: h.Meter, db_url: str) -> Tally:
    """Agents ready, then every mail sent; until every conversation is closed, or nothing moves for --stall s."""
    tally, work = Tally(), mails(args.messages, secrets.token_hex(4))
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        target = Target("contactd", base, PASSWORD)
        socks = await h.gather_limited(args.agents, 4, lambda i: agent_ready(target, f"agent{i + 1}", http))
    tasks = [asyncio.create_task(Agent(ws, tally).run()) for ws in socks]
    sending = asyncio.create_task(blast(smtp_port, work, args, tally, meter.begin))
    tasks.append(sending)
    try:
        seen, since = None, h.now()
        while len(tally.closed) < args.messages and h.now() - since < args.stall:
            await asyncio.sleep(0.1)
            progress = (len(tally.ok_at), len(tally.offer_at), len(tally.closed), len(tally.errors))
            seen, since = (progress, h.now()) if progress != seen else (seen, since)
        tally.t_end = h.now()
        meter.end()
        if sending.done() and not sending.cancelled() and sending.exception():
            tally.errors.append(f"SMTP clients failed: {sending.exception()!r}")
        if len(tally.closed) < args.messages:
            tally.errors += [f"stuck: {s}" for s in await h.stall_probe(base, db_url)]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, *(ws.close() for ws in socks), return_exceptions=True)
    return tally


async def db_check(db_url: str, tenant: str) -> Out:
    """Email conversations by state, their messages by sender (the system's: acknowledgements), the outbox."""
    conn = await asyncpg.connect(db_url)
    try:
        where = "FROM conversations c WHERE tenant_id = $1 AND channel = 'email'"
        states = await conn.fetch(f"SELECT state, count(*) AS n {where} GROUP BY state", tenant)
        senders = await conn.fetch(
            f"SELECT sender, count(*) AS n FROM messages WHERE conversation_id IN (SELECT id {where}) GROUP BY sender",
            tenant,
        )
        outbox = await conn.fetch(
            "SELECT state, count(*) AS n FROM mail_outbox WHERE tenant_id = $1 GROUP BY state", tenant
        )
        return {
            "states": {r["state"]: r["n"] for r in states},
            "messages": {r["sender"]: r["n"] for r in senders},
            "outbox": {r["state"]: r["n"] for r in outbox},
        }
    finally:
        await conn.close()


def bench_contactd(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack, out: Out) -> Tally:
    """A node serving SMTP on its own stores; CPU, peak RSS, PostgreSQL's contents and log problems into ``out``."""
    stores = h.start_stores(tmp / "servers", stack)
    tenant = "bench-" + secrets.token_hex(4)
    h.run_loop(seed(stores.db_url, tenant, args.agents))
    port, smtp_port, relay = free_port(), free_port(), start_raw(tmp, stack, "relay")
    env = h.contactd_env(tmp, stores, tenant, port) | {"CONTACTD_SMTP_PORT": str(smtp_port)}
    env["CONTACTD_SMTP_RELAY_URL"] = f"smtp://127.0.0.1:{relay[1]}"  # acknowledgements go out to a bare server
    server = h.Child([sys.executable, "-m", "contactd", "serve"], env, tmp, tmp / "contactd.log")
    stack.callback(server.stop)
    base = f"http://127.0.0.1:{port}"
    h.wait_ready(base, server, 60)
    h.wait_listening(smtp_port, server, 20)
    print(f"set-up: {stores.describe()}, tenant {tenant}, contactd pid {server.pid}, SMTP on {smtp_port}", flush=True)
    meter = h.Meter(
        dict(server=lambda: h.cpu_s(server.pid), redis=lambda: h.tree_cpu_s(stores.redis_pid), client=h.client_cpu_s)
    )
    meter.pids["postgres"] = lambda: h.tree_cpu_s(stores.pg_pid)
    tally = h.run_loop(contactd_flow(args, base, smtp_port, meter, stores.db_url))
    out.update(cpu=meter.used, rss=h.peak_rss_mb(server.pid), db=h.run_loop(db_check(stores.db_url, tenant)))
    server.stop()
    out["log_problems"] = h.log_problems(server.log)
    return tally


class Accept:
    """The bare handler: every message is taken ("250 OK"), nothing is done with it."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 OK"


async def serve_raw(port: int) -> None:
    """aiosmtpd's SMTP with the bare handler, created as contactd creates its own (app.serve_mail)."""
    make = lambda: SMTP(Accept(), data_size_limit=MAX_BYTES, enable_SMTPUTF8=True, hostname="raw")  # noqa: E731
    server = await asyncio.get_running_loop().create_server(make, "127.0.0.1", port)
    await server.serve_forever()


def start_raw(tmp: Path, stack: contextlib.ExitStack, name: str) -> tuple[h.Child, int]:
    """The bare server in a child process of its own, stopped by ``stack``: (process, port)."""
    port = free_port()
    raw = h.Child([sys.executable, __file__, "--raw-smtp", str(port)], dict(os.environ), tmp, tmp / f"{name}.log")
    stack.callback(raw.stop)
    h.wait_listening(port, raw, 20)
    return raw, port


def bench_raw(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack, out: Out) -> Tally:
    """The same mails to the bare server, RAW_REPEATS times (a run is short, so noisy): the median run counts."""
    raw, port = start_raw(tmp, stack, "raw")
    runs: list[tuple[float, Tally, dict[str, float]]] = []
    for _ in range(RAW_REPEATS):
        tally, meter = Tally(), h.Meter({"server": lambda: h.cpu_s(raw.pid), "client": h.client_cpu_s})
        h.run_loop(blast(port, mails(args.messages, secrets.token_hex(4)), args, tally, meter.begin))
        meter.end()
        runs.append((tally.rate() or 0.0, tally, meter.used))
    out.update(rates=[r for r, _, _ in runs], rss=h.peak_rss_mb(raw.pid))
    _, tally, out["cpu"] = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    tally.errors = [e for _, t, _ in runs for e in t.errors]
    return tally


def lat(name: str, seconds: list[float]) -> Out:
    return {f"{name}_p50_ms": h.pct(seconds, 50), f"{name}_p99_ms": h.pct(seconds, 99)}


def figures_of(c: Tally, c_out: Out, r: Tally, r_out: Out) -> Out:
    """The JSON figures of both runs (contactd's CPU per mail counts its agents' work too)."""
    cpu, at_once, waited, raw_cpu = c_out["cpu"], c.offer_ms(True), c.offer_ms(False), r_out["cpu"]
    f: Out = dict(date=datetime.now(UTC).isoformat(timespec="seconds"), cores=os.cpu_count(), capacity=CAPACITY)
    f |= dict(accepted=len(c.ok_at), offered=len(c.offer_at), closed=len(c.closed), msgs_per_s=c.rate())
    f |= (
        lat("data", c.data_ms())
        | lat("offer", c.offer_ms())
        | lat("offer_at_once", at_once)
        | lat("offer_waited", waited)
    )
    f |= dict(offered_at_once=len(at_once), offered_after_wait=len(waited), duplicate_offers=c.dup_offers)
    f |= dict(flow_s=round(c.t_end - c.t0, 2), server_cpu_s=cpu["server"])
    f |= dict(server_cpu_ms_per_msg=round(cpu["server"] / max(1, len(c.ok_at)) * 1000, 2), redis_cpu_s=cpu["redis"])
    f |= dict(postgres_cpu_s=cpu["postgres"], client_cpu_s=cpu["client"], server_peak_rss_mb=c_out["rss"])
    f |= dict(raw_msgs_per_s=r.rate(), raw_runs_msgs_per_s=r_out["rates"], **lat("raw_data", r.data_ms()))
    f |= dict(
        raw_server_cpu_s=raw_cpu["server"], raw_client_cpu_s=raw_cpu["client"], raw_server_peak_rss_mb=r_out["rss"]
    )
    f["ratio"] = round(f["msgs_per_s"] / f["raw_msgs_per_s"], 3) if f["msgs_per_s"] and f["raw_msgs_per_s"] else None
    f |= dict(db_states=c_out["db"]["states"], db_messages=c_out["db"]["messages"], db_outbox=c_out["db"]["outbox"])
    f["server_log_problems"] = sum(int(p.split(" x ", 1)[0]) for p in c_out["log_problems"])
    return f


def problems_of(n: int, c: Tally, c_out: Out, r: Tally) -> list[str]:
    """Mails refused, lost or offered twice; PostgreSQL's email conversations not all closed with the citizen's
    message each."""
    db = c_out["db"]
    problems = c.errors + [f"raw: {e}" for e in r.errors]
    for name, got in (("accepted (250)", len(c.ok_at)), ("offered", len(c.offer_at)), ("closed", len(c.closed))):
        problems += [f"contactd: {got} of {n} mails {name}"] if got != n else []
    problems += [f"contactd: {c.dup_offers} mails offered more than once"] if c.dup_offers else []
    problems += [f"raw: {len(r.ok_at)} of {n} mails accepted"] if len(r.ok_at) != n else []
    if db["states"].get("closed", 0) != n or db["messages"].get("citizen") != n:
        problems.append(f"PostgreSQL after the run: email conversations {db['states']}, messages {db['messages']}")
    return problems


def print_report(f: Out, problems: list[str], log: list[str]) -> None:
    """The human-readable lines (the JSON line is printed last, by report_end)."""

    def ms(k: str) -> str:
        return f"p50 {f[k + '_p50_ms']} ms, p99 {f[k + '_p99_ms']} ms"

    print(f"contactd mail in: {f['messages']} mails, {f['concurrency']} SMTP connections, {f['agents']} agents x 5")
    print(f"  {f['accepted']} accepted: {f['msgs_per_s']} mails/s; DATA -> 250 {ms('data')}")
    print(f"  DATA -> offer, all {f['offered']}: {ms('offer')}")
    print(f"    to a slot free since the agent went available ({f['offered_at_once']}): {ms('offer_at_once')}")
    print(f"    to a slot freed by an earlier mail ({f['offered_after_wait']}): {ms('offer_waited')}")
    print(f"  {f['closed']} closed {f['flow_s']} s after the first MAIL FROM")
    print(
        f"  CPU s: contactd {f['server_cpu_s']} ({f['server_cpu_ms_per_msg']} ms a mail), Redis {f['redis_cpu_s']}, "
        f"PostgreSQL {f['postgres_cpu_s']}, bench {f['client_cpu_s']}; contactd peak RSS {f['server_peak_rss_mb']} MB"
    )
    print(f"  PostgreSQL after: conversations {f['db_states']}, messages {f['db_messages']}, outbox {f['db_outbox']}")
    print(
        f"bare aiosmtpd, median of {f['raw_runs_msgs_per_s']}: {f['raw_msgs_per_s']} mails/s; DATA -> 250 "
        f"{ms('raw_data')}; server CPU {f['raw_server_cpu_s']} s\ncontactd / bare aiosmtpd: {f['ratio']}"
    )
    for line in problems[:40]:
        print(f"PROBLEM: {line}")
    for line in log[:20]:
        print(f"SERVER LOG: {line}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=20, help="SMTP client connections")
    p.add_argument("--agents", type=int, default=50)
    p.add_argument("--stall", type=float, default=20, help="seconds without progress that count as stuck")
    p.add_argument("--raw-smtp", type=int, help=argparse.SUPPRESS)  # the child: serve the bare server on this port
    args = p.parse_args(argv)
    if min(args.messages, args.concurrency, args.agents) < 1:
        p.error("--messages, --concurrency and --agents must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.raw_smtp:
        h.run_loop(serve_raw(args.raw_smtp))
        return 0
    figures: Out = {"bench": "email", "messages": args.messages, "concurrency": args.concurrency, "agents": args.agents}
    started = h.now()
    try:
        with h.on_sigterm(), contextlib.ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="contactd-bench-email-")))
            c_out: Out = {}
            r_out: Out = {}
            c = bench_contactd(args, tmp, stack, c_out)
            stack.close()  # contactd, Redis and PostgreSQL stop before the bare server starts
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="contactd-bench-email-raw-")))
            r = bench_raw(args, tmp, stack, r_out)
        figures |= figures_of(c, c_out, r, r_out)
        problems = problems_of(args.messages, c, c_out, r)
        print_report(figures, problems, c_out["log_problems"])
    except (Exception, KeyboardInterrupt, SystemExit) as e:
        return h.report_failure("email", figures, e)
    return h.report_end(figures, problems, started)


if __name__ == "__main__":
    sys.exit(main())
