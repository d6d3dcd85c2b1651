"""Tools shared by the benchmarks: child processes, CPU and memory from /proc, percentiles, the stores.

Every benchmark runs on 127.0.0.1 only, starts what it needs as child processes
of its own (killed with it, even on ``kill -9``), and measures them from the
outside through ``/proc``. Nothing here knows about one scenario.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import math
import os
import resource
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
from redis.asyncio import Redis

from contactd.embedded import EmbeddedServers, free_port, wait_port

PR_SET_PDEATHSIG = 1  # prctl(2) option: the signal the kernel sends us when our parent dies
CLK_TCK = os.sysconf("SC_CLK_TCK")  # units of utime/stime in /proc/<pid>/stat
Frame = dict[str, Any]  # one JSON frame of the WebSocket protocols (docs/protocol.md)
T = TypeVar("T")


def now() -> float:
    """The client's clock for every latency: monotonic, in seconds."""
    return time.perf_counter()


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile ``p`` of ``values`` (seconds) in milliseconds, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000, 2)


# --- the event loop -----------------------------------------------------------------------------------


def run_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on uvloop when installed (contactd's uvicorn uses it too), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


async def gather_limited(n: int, limit: int, make: Callable[[int], Awaitable[T]]) -> list[T]:
    """``make(0) .. make(n - 1)``, at most ``limit`` at a time (connecting or signing in a crowd), in order."""
    sem = asyncio.Semaphore(limit)

    async def one(i: int) -> T:
        async with sem:
            return await make(i)

    return list(await asyncio.gather(*(one(i) for i in range(n))))


@contextlib.contextmanager
def on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into SystemExit, so that cleanup runs as it does for Ctrl+C."""

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


# --- child processes ----------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """preexec_fn: the kernel sends the child SIGTERM when the benchmark exits, however it exits."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Child:
    """A server process of ours: its own session (Ctrl+C reaches only us), killed if we die, output in ``log``."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                args,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; does nothing once the process has gone."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_listening(port: int, child: Child, timeout: float) -> None:
    """Return once ``child`` accepts TCP connections on 127.0.0.1:``port``; raise if it exits or times out."""
    wait_port(port, child.proc, timeout, "server", child.log)


def wait_ready(base: str, child: Child, timeout: float) -> None:
    """Return once ``GET base/readyz`` answers 200 (contactd reaches Redis and PostgreSQL); raise otherwise."""
    deadline = now() + timeout
    last = ""
    while now() < deadline:
        if child.proc.poll() is not None:
            raise RuntimeError(f"contactd exited with {child.proc.returncode}:\n{tail(child.log)}")
        with contextlib.suppress(httpx.HTTPError):
            r = httpx.get(base + "/readyz", timeout=2)
            if r.status_code == 200:
                return
            last = r.text
        time.sleep(0.1)
    raise RuntimeError(f"contactd not ready within {timeout:.0f}s ({last}):\n{tail(child.log)}")


# --- logs ---------------------------------------------------------------------------------------------


def tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log file ("" when it cannot be read)."""
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def _log_line(line: str) -> str | None:
    """What one log line reports at warning level or above, or None (contactd logs JSON lines)."""
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        return line[:300] if "Traceback" in line or "Error" in line else None
    if record.get("level") not in ("warning", "error", "critical"):
        return None
    error = str(record.get("error", "")).strip().splitlines()
    return f"{record['level']} {record.get('logger')}: {str(record.get('msg')).strip()}" + (
        f" ({error[-1][:200]})" if error else ""
    )


def log_problems(log: Path) -> list[str]:
    """Server log lines at warning level or above, the same ones counted once, as ``"<n> x <text>"``."""
    found: Counter[str] = Counter()
    with contextlib.suppress(OSError):
        for line in log.read_text(errors="replace").splitlines():
            text = _log_line(line)
            if text is not None:
                found[text] += 1
    return [f"{n} x {text}" for text, n in found.most_common()]


# --- CPU and memory -----------------------------------------------------------------------------------


def cpu_s(pid: int) -> float:
    """User + system CPU seconds one process has used since it started (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def tree_cpu_s(pid: int | None) -> float:
    """CPU seconds of ``pid`` and its live children (PostgreSQL's backends are children of the postmaster).

    Children that have already exited are not counted; 0 when ``pid`` is None (a server we did not start).
    """
    if pid is None:
        return 0.0
    total = cpu_s(pid)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{entry.name}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        total += cpu_s(int(entry.name))
    return total


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident memory of a live process in MB (``VmHWM`` in /proc/<pid>/status), or None."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def client_cpu_s() -> float:
    """User + system CPU seconds of this process: the benchmark's own clients."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@dataclass
class Meter:
    """CPU seconds of several processes between ``begin()`` and ``end()``."""

    pids: dict[str, Callable[[], float]]  # name -> reads that process's CPU seconds so far
    start: dict[str, float] = field(default_factory=dict)  # name -> CPU seconds at begin()
    used: dict[str, float] = field(default_factory=dict)  # name -> CPU seconds between begin() and end()

    def begin(self) -> None:
        self.start = {name: read() for name, read in self.pids.items()}

    def end(self) -> None:
        self.used = {name: round(read() - self.start.get(name, 0.0), 2) for name, read in self.pids.items()}


# --- Redis, PostgreSQL and contactd -------------------------------------------------------------------


@dataclass(frozen=True)
class Stores:
    """The Redis and PostgreSQL a benchmark uses, and their pids when we started them (to meter their CPU)."""

    redis_url: str
    db_url: str
    redis_pid: int | None  # None: an external server, not metered
    pg_pid: int | None  # the postmaster; its backends are its children
    redis_embedded: bool
    postgres_embedded: bool

    def describe(self) -> str:
        return (
            f"Redis {'embedded' if self.redis_embedded else 'external'}, "
            f"PostgreSQL {'embedded' if self.postgres_embedded else 'external'}"
        )


def start_stores(data_dir: Path, stack: contextlib.ExitStack) -> Stores:
    """Embedded Redis and PostgreSQL under ``data_dir``, stopped by ``stack``.

    ``CONTACTD_BENCH_REDIS_URL`` / ``CONTACTD_BENCH_DATABASE_URL`` name existing servers to use instead.
    """
    redis_url = os.environ.get("CONTACTD_BENCH_REDIS_URL") or None
    db_url = os.environ.get("CONTACTD_BENCH_DATABASE_URL") or None
    servers = EmbeddedServers(data_dir)
    stack.callback(servers.stop)
    started_redis, started_db = servers.start(redis=not redis_url, postgres=not db_url)
    return Stores(
        redis_url=redis_url or started_redis or "",
        db_url=db_url or started_db or "",
        redis_pid=servers.redis.proc.pid if started_redis and servers.redis.proc else None,
        pg_pid=servers.postgres.proc.pid if started_db and servers.postgres.proc else None,
        redis_embedded=bool(started_redis),
        postgres_embedded=bool(started_db),
    )


def contactd_env(tmp: Path, stores: Stores, tenant: str, port: int) -> dict[str, str]:
    """Our environment without any ``CONTACTD_*`` setting, plus the ones one benchmark node needs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTD_")}
    env.update(
        CONTACTD_REDIS_URL=stores.redis_url,
        CONTACTD_DATABASE_URL=stores.db_url,
        CONTACTD_TENANT=tenant,
        CONTACTD_HOST="127.0.0.1",
        CONTACTD_PORT=str(port),
        CONTACTD_SECRET_KEY=secrets.token_urlsafe(48),
        CONTACTD_DATA_DIR=str(tmp / "contactd"),
        CONTACTD_NODE_ID="bench",
    )
    return env


def start_contactd(tmp: Path, stores: Stores, tenant: str, stack: contextlib.ExitStack) -> tuple[Child, str]:
    """``python -m contactd serve`` on a free port, ready (``/readyz``), stopped by ``stack``: (process, base URL)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Child(
        [sys.executable, "-m", "contactd", "serve"], contactd_env(tmp, stores, tenant, port), tmp, tmp / "contactd.log"
    )
    stack.callback(server.stop)
    wait_ready(base, server, 60)
    return server, base


async def stall_probe(base: str, db_url: str) -> list[str]:
    """What a stuck contactd looks like: ``/readyz``, and PostgreSQL's client sessions by state."""
    out = []
    try:
        async with httpx.AsyncClient(timeout=3) as http:
            r = await http.get(base + "/readyz")
        out.append(f"GET /readyz -> {r.status_code} {r.text[:200]}")
    except httpx.HTTPError as e:
        out.append(f"GET /readyz -> no answer within 3s ({type(e).__name__})")
    with contextlib.suppress(Exception):
        conn = await asyncpg.connect(db_url, timeout=5)
        try:
            rows = await conn.fetch(
                "SELECT coalesce(state, '?') AS state, count(*) AS n,"
                " round(extract(epoch FROM max(now() - state_change))::numeric, 1) AS longest_s,"
                " left(min(query), 80) AS query FROM pg_stat_activity"
                " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND datname = current_database()"
                " GROUP BY state ORDER BY n DESC"
            )
        finally:
            await conn.close()
        out += [
            f"PostgreSQL sessions {r['state']}: {r['n']} (longest {r['longest_s']}s, last query {r['query']!r})"
            for r in rows
        ]
    return out


# --- Redis alone (benchmarks of the router, without PostgreSQL or a contactd process) -----------------


def start_redis(data_dir: Path, stack: contextlib.ExitStack) -> tuple[str, int | None]:
    """``CONTACTD_BENCH_REDIS_URL``, or an embedded Redis under ``data_dir`` stopped by ``stack``: (URL, its pid
    when we started it, else None)."""
    url = os.environ.get("CONTACTD_BENCH_REDIS_URL")
    if url:
        return url, None
    servers = EmbeddedServers(data_dir)
    stack.callback(servers.stop)
    started, _ = servers.start(redis=True, postgres=False)
    assert started and servers.redis.proc is not None
    return started, servers.redis.proc.pid


async def command_calls(redis: Redis) -> Counter[str]:
    """Commands Redis has run since it started, by name (``INFO commandstats``; server-wide)."""
    info = await redis.info("commandstats")
    return Counter({k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items() if isinstance(v, dict)})


async def timed(aw: Awaitable[T], limit: float) -> tuple[T | None, float | None]:
    """(result, seconds taken), or (None, None) when ``aw`` was cancelled after ``limit`` seconds.

    The cancellation is repeated until it takes: one cancellation of ``RouterService.route_waiting``
    was seen to be lost (cause not pinned down), and ``asyncio.wait_for`` then waits for the end.
    """
    task, t = asyncio.ensure_future(aw), now()
    await asyncio.wait({task}, timeout=max(limit, 0.0))
    if task.done():
        return task.result(), now() - t
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    return None, None


# --- PostgreSQL alone (benchmarks of the audit log, without Redis or a contactd process) --------------


def start_postgres(data_dir: Path, stack: contextlib.ExitStack) -> tuple[str, int | None]:
    """``CONTACTD_BENCH_DATABASE_URL``, or an embedded PostgreSQL under ``data_dir`` stopped by ``stack``: (URL,
    the postmaster's pid when we started it, else None)."""
    url = os.environ.get("CONTACTD_BENCH_DATABASE_URL")
    if url:
        return url, None
    servers = EmbeddedServers(data_dir)
    stack.callback(servers.stop)
    _, started = servers.start(redis=False, postgres=True)
    assert started and servers.postgres.proc is not None
    return started, servers.postgres.proc.pid


def report_end(figures: dict[str, Any], problems: list[str], started: float) -> int:
    """Print a benchmark's last line (every figure, as JSON) after a run; its exit status."""
    figures.update(errors=len(problems), problems=[p[:200] for p in problems[:5]], ok=not problems)
    figures["total_s"] = round(now() - started, 1)
    print(json.dumps(figures), flush=True)
    return 0 if figures["ok"] else 1


def report_failure(name: str, figures: dict[str, Any], e: BaseException) -> int:
    """Print a benchmark's last line after it failed; its exit status."""
    print(f"{name} bench: failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
    figures.update(ok=False, error=f"{type(e).__name__}: {e}"[:500])
    print(json.dumps(figures), flush=True)
    return 1


def commit() -> str:
    """The commit measured, ``+changes`` when the work tree differs from it in the server's code."""
    root = Path(__file__).resolve().parents[1]
    git = ["git", "-C", str(root)]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        diff = [*git, "status", "--porcelain", "--", "contactd", "router", "channels"]
        return head + ("+changes" if subprocess.run(diff, capture_output=True, text=True).stdout.strip() else "")
    return "?"


def conclude(
    name: str,
    figures: dict[str, Any],
    run: Callable[[], list[str]],
    report: Callable[[dict[str, Any], list[str]], None],
) -> int:
    """Run a benchmark (``run`` returns its problems), print its report and last JSON line; its exit status."""
    started = now()
    try:
        with on_sigterm():
            problems = run()
        figures["load_avg_1m"] = round(os.getloadavg()[0], 2)
        report(figures, problems)
    except (Exception, KeyboardInterrupt, SystemExit) as e:
        return report_failure(name, figures, e)
    return report_end(figures, problems, started)
