"""``contactd serve | demo | migrate``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator

import asyncpg
import uvicorn

from contactd import demo
from contactd.app import create_app
from contactd.demo_mail import with_demo_mail
from contactd.embedded import EmbeddedServers
from contactd.errors import ConfigError, EmbeddedServerError
from contactd.logs import configure
from contactd.migrate import migrate
from contactd.queue_settings import QueueSettings
from contactd.settings import Settings
from router.hours import bank_holidays

MAX_FRAME = 64 * 1024  # CONTRACT: frames over 64 KiB close the socket (1009)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="contactd", description="Omnichannel contact centre")
    parser.add_argument("command", choices=("serve", "demo", "migrate", "holidays"))
    parser.add_argument("--file", help="holidays: a bank-holidays.json file in GOV.UK's format")
    parser.add_argument(
        "--division",
        default="england-and-wales",
        help="holidays: england-and-wales (default), scotland or northern-ireland",
    )
    args = parser.parse_args(argv)
    if args.command == "holidays" and not args.file:
        parser.error("holidays needs --file PATH")
    try:
        settings = Settings.from_env(demo=args.command == "demo")
    except ConfigError as e:
        print(f"contactd: {e}", file=sys.stderr)
        return 2
    configure(settings.log_level)
    servers = EmbeddedServers(settings.data_dir)
    try:
        redis_url, db_url = servers.start(
            redis=settings.embedded_redis and args.command in ("serve", "demo"), postgres=settings.embedded_postgres
        )
        settings = dataclasses.replace(
            settings, redis_url=settings.redis_url or redis_url, database_url=settings.database_url or db_url
        )
        if args.command == "holidays":
            return asyncio.run(_holidays(settings, args.file, args.division))
        return run(args.command, settings)
    except EmbeddedServerError as e:
        print(f"contactd: {e}", file=sys.stderr)
        return 1
    finally:
        servers.stop()


def run(command: str, settings: Settings) -> int:
    if command == "migrate":
        applied = asyncio.run(_migrate(settings))
        print(f"contactd: schema up to date ({len(applied)} migrations applied now)")
        return 0
    relay = None
    if command == "demo":
        configured = os.environ.get("CONTACTD_DEMO_PASSWORD") or None
        password = demo.demo_password(configured)
        asyncio.run(_seed(settings, password))
        settings, relay = with_demo_mail(settings)
        print(demo.banner(settings, password, configured is None, relay is not None), flush=True)
    try:
        serve(settings)
    finally:
        if relay is not None:
            relay.stop()
    return 0


async def _migrate(settings: Settings) -> list[int]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return await migrate(conn)
    finally:
        await conn.close()


async def _holidays(settings: Settings, path: str, division: str) -> int:
    """Import closure days (e.g. UK bank holidays) for every queue that observes holidays."""
    try:
        with open(path, encoding="utf-8") as f:
            days = bank_holidays(json.load(f), division)
    except (OSError, ValueError) as e:
        print(f"contactd: cannot read holidays from {path}: {e}", file=sys.stderr)
        return 2
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        count = await QueueSettings(pool, settings.tenant).import_holidays(days)
    finally:
        await pool.close()
    print(f"contactd: {count} {division} holidays imported")
    return 0


async def _seed(settings: Settings, password: str) -> None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        await migrate(conn)
        await demo.seed(conn, settings.tenant, password)
    finally:
        await conn.close()


def server_config(settings: Settings) -> uvicorn.Config:
    """The uvicorn configuration for ``settings``: frame size limit, no compression, graceful stop."""
    # Per-message deflate costs more CPU per recipient than it saves on short chat frames.
    return uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        ws_max_size=MAX_FRAME,
        ws_per_message_deflate=False,
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        proxy_headers=True,
    )


class Server(uvicorn.Server):
    """uvicorn's server, stopping gracefully on SIGINT/SIGTERM and then returning.

    uvicorn re-raises the signal after its own shutdown, which would end the
    process before contactd stops its embedded servers; here ``run`` returns
    and the caller cleans up. ``signals=False`` leaves signals alone (tests).
    """

    def __init__(self, config: uvicorn.Config, signals: bool = True) -> None:
        super().__init__(config)
        self.signals = signals

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if not self.signals or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(settings: Settings) -> None:
    """Run the HTTP/WebSocket server until SIGINT or SIGTERM.

    Everything loaded by then (the modules: most of the process's objects) is moved out of reach of the
    cyclic garbage collector, which otherwise walks it all at every full collection: about 64 ms during
    which no call's audio moves (docs/performance.md, "Voice")."""
    config = server_config(settings)
    gc.collect()
    gc.freeze()
    Server(config).run()


if __name__ == "__main__":
    sys.exit(main())
