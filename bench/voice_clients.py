"""The client processes of bench/voice.py, and how the benchmark drives them.

A client process holds Twilio stand-ins (one media stream per call) and advisers (a console socket on
``/ws/agent`` each, and an aiortc peer per call they take), or, in the bare process, aiortc loopback
streams. It takes one JSON command a line on stdin and answers each with one JSON line on stdout, so
that the benchmark (``Client``) can start calls, read what each end noted in a window, and end them, while
the clients' CPU stays out of the node's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import sys
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection

from bench import harness as h
from bench.chat_bots import Target, agent_ready
from bench.voice_peers import CLICK_EVERY, Adviser, Heard, Loopback, punctuality, within
from bench.voice_twilio import Caller, Twilio
from channels.voice.ice import use_host_addresses

Out = dict[str, Any]
CLICK_LIMIT_S = 0.5  # a click heard later than this after it was sent counts as lost (one is sent each second)
REPLY_LIMIT_S = 60.0


def ends(heard: Heard, said: Heard, t0: float, t1: float, late_s: float) -> Out:
    """What one end of a call noted in [t0, t1): the punctuality of the frames it received and of those it sent
    itself (a client too busy to send on time makes the node's frames late too), the clicks it sent (early
    enough to be heard within the window) and the clicks it heard."""
    out = punctuality(heard.frames, t0, t1, late_s)
    sending = punctuality(said.frames, t0, t1, late_s)
    out["sending"] = {k: sending[k] for k in ("expected", "received", "late")}
    out.update(sent=within(said.clicks, t0, t1 - CLICK_LIMIT_S), heard=within(heard.clicks, t0, t1))
    return out


class Console:
    """One adviser's console: accepts every offer, answers each call with a new aiortc peer, hangs up never
    (the caller does), wraps up at once."""

    def __init__(self, ws: ClientConnection, clients: Clients) -> None:
        self.ws, self.clients = ws, clients
        self.busy: set[str] = set()  # conversations assigned and not yet closed

    async def send(self, frame: Out) -> None:
        await self.ws.send(json.dumps(frame))

    async def run(self) -> None:
        try:
            async for raw in self.ws:
                await self.on_frame(json.loads(raw))
        except Exception as e:  # the socket closed, or a peer failed: the benchmark reports it
            self.clients.errors.append(f"adviser console: {type(e).__name__}: {e}")

    async def on_frame(self, f: Out) -> None:
        kind, cid = f.get("type"), str(f.get("conversation_id", ""))
        advisers = self.clients.advisers
        if kind == "offer":
            await self.send({"type": "offer.accept", "conversation_id": cid})
        elif kind == "conversation.assigned" and (f.get("call") or {}).get("state") == "ringing":
            self.busy.add(cid)
            adviser = advisers[cid] = Adviser(self.clients.codec, secrets.randbelow(CLICK_EVERY))
            await self.send({"type": "rtc.offer", "conversation_id": cid, "sdp": await adviser.offer()})
        elif kind == "rtc.answer" and cid in advisers:
            await advisers[cid].answered(str(f["sdp"]))
        elif kind == "conversation.ended":
            adviser = advisers.pop(cid, None)
            if adviser is not None:
                await adviser.close()
            await self.send({"type": "wrapup.done", "conversation_id": cid, "disposition": "resolved"})
        elif kind == "conversation.closed":
            self.busy.discard(cid)
        elif kind in ("error", "offer.withdrawn"):
            self.clients.errors.append(f"adviser got {json.dumps(f)[:200]}")


class Clients:
    """What one client process holds, and its answers to the benchmark's commands."""

    def __init__(self) -> None:
        self.codec = "opus"
        self.consoles: list[Console] = []
        self.callers: dict[str, Caller] = {}
        self.advisers: dict[str, Adviser] = {}
        self.loopbacks: list[Loopback] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.errors: list[str] = []
        self.http = httpx.AsyncClient(timeout=30)  # replaced by one for the node's base URL at set-up
        self.twilio: Twilio | None = None
        self.number, self.dialled = "", 0

    async def handle(self, cmd: Out) -> Out:
        op = cmd["op"]
        if op == "setup":
            return await self.setup(cmd["base"], cmd["token"], cmd["password"], cmd["agents"], cmd["index"])
        if op == "codec":
            self.codec = cmd["codec"]
            return {}
        if op == "dial":
            return {"cids": await asyncio.gather(*(self.dial() for _ in range(cmd["n"])))}
        if op == "status":
            hearing = [cid for cid, a in self.advisers.items() if len(a.heard.frames) >= 10]
            return dict(hearing=hearing, busy=sum(len(c.busy) for c in self.consoles), errors=self.errors[-5:])
        if op == "stats":
            return self.stats(cmd["t0"], cmd["t1"], cmd["late_s"])
        if op == "hang_up":
            await asyncio.gather(*(self.hang_up(c) for c in list(self.callers.values())))
            return {}
        if op == "loopback":
            return await self.loopback(cmd["codec"], cmd["n"])
        if op == "quit":
            await self.close()
            return {}
        raise ValueError(f"unknown command {op!r}")

    async def setup(self, base: str, token: str, password: str, agents: list[str], index: int) -> Out:
        """Sign the advisers in and make them available; this process's callers ring from +4477009<index>nnnn."""
        self.number = f"+4477009{index % 10}"
        await self.http.aclose()
        self.http = httpx.AsyncClient(base_url=base, timeout=30)
        self.twilio = Twilio(base, token, self.http)
        target = Target("contactd", base, password)
        socks = await h.gather_limited(len(agents), 4, lambda i: agent_ready(target, agents[i], self.http))
        self.consoles = [Console(ws, self) for ws in socks]
        self.tasks += [asyncio.create_task(c.run()) for c in self.consoles]
        return {"agents": len(self.consoles)}

    async def dial(self) -> str:
        """A call rings in, goes through the menu and starts its media stream; its conversation id."""
        assert self.twilio is not None
        sid = "CA" + secrets.token_hex(16)
        self.dialled += 1
        cid = await self.twilio.dial(sid, f"{self.number}{self.dialled % 10000:04d}")
        self.callers[cid] = await self.twilio.stream(sid, cid, secrets.randbelow(CLICK_EVERY))
        return cid

    async def hang_up(self, caller: Caller) -> None:
        assert self.twilio is not None
        await caller.hang_up()
        self.callers.pop(caller.cid, None)
        await self.twilio.hung_up(caller.sid)

    def stats(self, t0: float, t1: float, late_s: float) -> Out:
        return dict(
            callers={cid: ends(c.heard, c.said, t0, t1, late_s) for cid, c in self.callers.items()},
            advisers={cid: ends(a.heard, a.track.said, t0, t1, late_s) for cid, a in self.advisers.items()},
            loopbacks=[ends(lb.heard, lb.track.said, t0, t1, late_s) for lb in self.loopbacks],
            errors=self.errors,
        )

    async def loopback(self, codec: str, n: int) -> Out:
        """Replace the loopback streams with ``n`` new ones of ``codec`` (0: none)."""
        await asyncio.gather(*(lb.close() for lb in self.loopbacks))
        self.loopbacks = [Loopback(codec, secrets.randbelow(CLICK_EVERY)) for _ in range(n)]
        await asyncio.gather(*(lb.connect() for lb in self.loopbacks))
        return {}

    async def close(self) -> None:
        await asyncio.gather(*(c.hang_up() for c in self.callers.values()), return_exceptions=True)
        await asyncio.gather(*(a.close() for a in self.advisers.values()), return_exceptions=True)
        await asyncio.gather(*(lb.close() for lb in self.loopbacks), return_exceptions=True)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*(c.ws.close() for c in self.consoles), return_exceptions=True)
        await self.http.aclose()


async def serve() -> None:
    """A client process: commands on stdin, one JSON answer a line on stdout (``{"error": ...}`` on failure)."""
    use_host_addresses(["127.0.0.1"])  # aioice leaves loopback out of its host candidates
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    clients = Clients()
    while line := await reader.readline():
        cmd = json.loads(line)
        try:
            reply = await clients.handle(cmd)
        except Exception as e:
            reply = {"error": f"{type(e).__name__}: {e}"[:500]}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
        if cmd["op"] == "quit":
            return


class Client:
    """A client process as the benchmark sees it: started, asked, stopped (killed with us, however we exit)."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.name, self.proc, self.log = name, proc, log

    @classmethod
    async def start(cls, name: str, script: Path, tmp: Path) -> Client:
        log = tmp / f"{name}.log"
        with open(log, "ab") as err:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                str(script),
                "--client",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                cwd=tmp,
                start_new_session=True,  # Ctrl+C reaches only the benchmark
                preexec_fn=h._die_with_parent,
                limit=2**26,  # a window's figures are one line
            )
        return cls(name, proc, log)

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def ask(self, op: str, **args: Any) -> Out:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps({"op": op, **args}) + "\n").encode())
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), REPLY_LIMIT_S)
        if not line:
            raise RuntimeError(f"client {self.name} exited ({self.proc.returncode}):\n{h.tail(self.log)}")
        reply: Out = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"client {self.name}, {op}: {reply['error']}")
        return reply

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ask("quit"), 10)
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, TimeoutError):
                self.proc.terminate()
                await asyncio.wait_for(self.proc.wait(), 5)
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
