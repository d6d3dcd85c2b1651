"""Real ``contactd`` processes for tests that need them (restarts, kill -9, several nodes)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from contactd.embedded import free_port
from tests.helpers import PASSWORD, UNIT


class ContactdProcess:
    """``contactd <command>`` in its own process group, logging to a file."""

    def __init__(self, command: str, data_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"contactd-{self.port}.log"
        environ = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTD_")}
        environ.update(
            CONTACTD_HOST="127.0.0.1",
            CONTACTD_PORT=str(self.port),
            CONTACTD_DATA_DIR=str(data_dir),
            CONTACTD_PUBLIC_URL=self.base,
            CONTACTD_SECRET_KEY="p" * 40,
            CONTACTD_DEMO_PASSWORD=PASSWORD,
            **env,
        )
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "contactd", command],
            env=environ,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def ws(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout * UNIT
        async with httpx.AsyncClient(base_url=self.base, timeout=2) as c:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                with contextlib.suppress(httpx.HTTPError):
                    if (await c.get("/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise AssertionError(f"contactd not ready; output:\n{self.output()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Signal the contactd process (not its group: children must stop because contactd asks them to)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout * UNIT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if not self.log.closed:
            self.log.close()
        return self.proc.returncode
