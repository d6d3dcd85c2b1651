"""Fixtures: real Redis and PostgreSQL (embedded, or external via CONTACTD_TEST_*_URL), real servers.

Each test gets its own tenant, so tests share the servers without sharing any
key or row.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from contactd import demo
from contactd.cli import Server, server_config
from contactd.embedded import EmbeddedServers, free_port
from contactd.migrate import migrate
from contactd.settings import Settings
from tests.helpers import PASSWORD, UNIT, Client, login
from tests.processes import ContactdProcess


@pytest.fixture(scope="session")
def server_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(redis_url, database_url): external servers when CONTACTD_TEST_*_URL are set, else embedded ones."""
    redis_url = os.environ.get("CONTACTD_TEST_REDIS_URL")
    db_url = os.environ.get("CONTACTD_TEST_DATABASE_URL")
    servers = EmbeddedServers(tmp_path_factory.mktemp("servers"))
    started_redis, started_db = servers.start(redis=not redis_url, postgres=not db_url)
    yield (redis_url or started_redis or ""), (db_url or started_db or "")
    servers.stop()


@pytest.fixture(scope="session")
async def migrated(server_urls: tuple[str, str]) -> str:
    conn = await asyncpg.connect(server_urls[1])
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return server_urls[1]


@pytest.fixture
def tenant() -> str:
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
async def db(migrated: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(migrated, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
async def redis(server_urls: tuple[str, str]) -> AsyncIterator[Redis]:
    client = Redis.from_url(server_urls[0])
    yield client
    await client.aclose()


@pytest.fixture
async def department(db: asyncpg.Pool, tenant: str) -> str:
    """The demo department (queues, agent1-3, supervisor, admin) in this test's tenant."""
    async with db.acquire() as conn:
        await demo.seed(conn, tenant, PASSWORD)
    return tenant


def make_settings(server_urls: tuple[str, str], tenant: str, tmp: Path, **overrides: Any) -> Settings:
    port = free_port()
    base = dict(
        host="127.0.0.1",
        port=port,
        data_dir=tmp,
        redis_url=server_urls[0],
        database_url=server_urls[1],
        public_url=f"http://127.0.0.1:{port}",
        secret_key="s" * 40,
        tenant=tenant,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="test-token",
        node_id=f"test-{port}",
        agent_grace_s=0.5 * UNIT,
        citizen_grace_s=1.0 * UNIT,
    )
    base.update(overrides)
    return Settings(**base)


class LiveServer:
    """contactd served by a real uvicorn on a free port, in the test's event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server = Server(server_config(settings), signals=False)
        self.task: asyncio.Task[None] | None = None
        self._app: Any = self.server.config.app

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    def ws(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.settings.port}{path}"

    @property
    def services(self) -> Any:
        return self._app.state.services

    async def start(self) -> LiveServer:
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(int(200 * UNIT)):
            if self.server.started:
                return self
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.025)
        raise TimeoutError("server did not start")

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self.task, 30 * UNIT)

    async def agent(self, username: str, status: str | None = "available") -> Client:
        """An agent console socket, signed in, optionally set to ``status`` (waits for the state frame)."""
        client = await Client.connect(self.ws("/ws/agent"), await login(self.base, username), origin=self.base)
        await client.expect(lambda f: f.get("type") == "agent.state")
        if status is not None:
            await client.send({"type": "agent.status", "status": status})
            await client.expect(lambda f: f.get("type") == "agent.state" and f.get("status") == status)
        return client

    async def board(self, username: str = "supervisor") -> Client:
        """A queue board socket of ``username``, once it has had its first snapshot."""
        client = await Client.connect(self.ws("/ws/board"), await login(self.base, username), origin=self.base)
        await client.expect(lambda f: f.get("type") == "board.snapshot")
        return client

    async def citizen(
        self, queue: str = "general", name: str = "Ann", language: str = "en", **extra: str
    ) -> tuple[Client, Any]:
        """A citizen who started a chat (``extra``: more fields of chat.start); returns the socket and
        the chat.queued frame."""
        client = await Client.connect(self.ws("/ws/chat"), origin=self.base)
        await client.send({"type": "chat.start", "queue": queue, "name": name, "language": language, **extra})
        queued = await client.expect(lambda f: f.get("type") == "chat.queued")
        return client, queued


@pytest.fixture
async def server(server_urls: tuple[str, str], department: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    live = await LiveServer(make_settings(server_urls, department, tmp_path)).start()
    yield live
    await live.stop()


@pytest.fixture
def contactd_process(tmp_path: Path) -> Iterator[Callable[..., ContactdProcess]]:
    """Starts real ``contactd`` processes; every one still running is stopped after the test, pass or fail."""
    started: list[ContactdProcess] = []

    def start(command: str, data_dir: Path | None = None, **env: str) -> ContactdProcess:
        proc = ContactdProcess(command, data_dir or tmp_path / f"data-{len(started)}", **env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def artifacts() -> Path:
    """Where tests leave screenshots and other files for people to look at."""
    path = Path(os.environ.get("CONTACTD_TEST_ARTIFACTS", "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path
