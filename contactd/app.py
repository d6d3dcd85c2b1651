"""The app: ``create_app(settings)`` composes routes, middleware and one lifespan (STYLE 5)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import BlockingConnectionPool, Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from channels.chat.endpoint import Citizens, chat_socket
from channels.email import outbound as mail_out
from channels.email.inbound import smtp_factory
from channels.sms import webhooks as sms
from channels.voice import recording, webhooks
from channels.voice.ice import IceServers, use_host_addresses
from channels.voice.media import Lines, media_socket
from contactd.agents import Agents
from contactd.auth import Passwords
from contactd.board import Board
from contactd.calls import CallRecords
from contactd.conversations import Conversations
from contactd.eventlog import EventLog
from contactd.hub import Hub
from contactd.identities import CitizenRecords
from contactd.mail import MailRecords
from contactd.metrics import Metrics
from contactd.migrate import migrate
from contactd.outbox import Outbox
from contactd.queue_settings import QueueSettings
from contactd.reports import Reports
from contactd.returning import Returning
from contactd.routing_listener import RoutingListener
from contactd.settings import Settings
from contactd.staff import Staff
from contactd.store import Store
from contactd.tasks import TaskSet
from contactd.texts import TextRecords
from contactd.web import admin, http, supervise
from contactd.web import citizens as citizens_api
from contactd.web import mail as mail_api
from contactd.web import reports as reports_api
from contactd.web.agent_ws import agent_socket
from contactd.web.board_ws import board_socket
from contactd.web.security import SecurityHeaders
from router.keys import Keys
from router.model import Agent
from router.service import RouterConfig, RouterService
from router.store import RouterStore

log = logging.getLogger("contactd.app")


@dataclass
class Services:
    """Everything the endpoints use, opened by the lifespan and closed in reverse order."""

    settings: Settings
    pool: asyncpg.Pool
    redis: Redis
    eventlog: EventLog
    store: Store
    staff: Staff
    router_store: RouterStore
    router: RouterService
    hub: Hub
    conversations: Conversations
    agents: Agents
    citizens: Citizens
    board: Board
    metrics: Metrics
    passwords: Passwords
    queue_settings: QueueSettings
    calls: CallRecords
    texts: TextRecords
    mail: MailRecords
    outbox: Outbox
    citizen_records: CitizenRecords
    mail_sender: mail_out.MailSender
    lines: Lines
    queue_names: list[str] = field(default_factory=list)
    config_changed: bool = False

    @property
    def keys(self) -> Keys:
        return self.router_store.keys


def assets_dir() -> Path:
    """The console, board and chat page, wherever pip installed them."""
    return Path(str(resources.files("agent_console")))


def routes() -> list[BaseRoute]:
    assets = assets_dir()
    return [
        Route("/healthz", http.healthz),
        Route("/readyz", http.readyz),
        Route("/metrics", http.metrics),
        Route("/openapi.json", http.openapi),
        Route("/api/login", http.login, methods=["POST"]),
        Route("/api/logout", http.logout, methods=["POST"]),
        Route("/api/me", http.me),
        Route("/api/queues", http.queues),
        Route("/api/agents", http.agents),
        Route("/api/agents/{id}/skills", admin.agent_skills, methods=["PUT"]),
        Route("/api/agents/{id}/routing", admin.agent_routing, methods=["GET"]),
        Route("/api/agents/{id}/routing", admin.set_agent_routing, methods=["PUT"]),
        Route("/api/queues/{name}", admin.queue_settings, methods=["PATCH"]),
        Route("/api/queues/{name}/hours", admin.queue_hours, methods=["GET"]),
        Route("/api/queues/{name}/waiting", supervise.waiting, methods=["GET"]),
        Route("/api/holidays", admin.holidays, methods=["POST"]),
        Route("/api/conversations/{id}", http.conversation),
        Route("/api/attachments/{id}", mail_api.attachment),
        Route("/api/mailboxes", mail_api.mailboxes),
        Route("/api/agents/{id}/status", supervise.agent_status, methods=["POST"]),
        Route("/api/conversations/{id}/steer", supervise.steer, methods=["POST"]),
        Route("/api/reports/queues", reports_api.queues),
        Route("/api/reports/fairness", reports_api.fairness),
        Route("/api/reports/agents/{id}/timeline", reports_api.agent_timeline),
        Route("/api/citizens", citizens_api.find),
        Route("/api/citizens/{id}", citizens_api.record),
        Route("/api/citizens/{id}/merge", citizens_api.merge, methods=["POST"]),
        Route("/api/citizens/{id}/split", citizens_api.split, methods=["POST"]),
        Route("/api/mailboxes/{address}", mail_api.put_mailbox, methods=["PUT"]),
        Route("/api/mailboxes/{address}", mail_api.delete_mailbox, methods=["DELETE"]),
        Route("/api/conversations/{id}/routing", http.routing),
        WebSocketRoute("/ws/chat", chat_socket),
        WebSocketRoute("/ws/agent", agent_socket),
        WebSocketRoute("/ws/board", board_socket),
        Route("/twilio/voice", webhooks.voice, methods=["POST"]),
        Route("/twilio/voice/status", webhooks.status, methods=["POST"]),
        Route("/twilio/sms", sms.sms, methods=["POST"]),
        Route("/twilio/sms/status", sms.status, methods=["POST"]),
        WebSocketRoute("/twilio/media", media_socket),
        Route("/", lambda request: RedirectResponse("/chat/")),
        Mount("/console", StaticFiles(directory=assets / "console", html=True)),
        Mount("/board", StaticFiles(directory=assets / "board", html=True)),
        Mount("/chat", StaticFiles(directory=assets / "chat", html=True)),
        Mount("/static", StaticFiles(directory=assets / "static")),
    ]


async def open_services(settings: Settings, stack: contextlib.AsyncExitStack) -> Services:
    assert settings.database_url and settings.redis_url, "the CLI fills in embedded server URLs"
    pool = await asyncpg.create_pool(settings.database_url, min_size=2, max_size=20, command_timeout=30)
    stack.push_async_callback(close_pool, pool)
    async with pool.acquire() as conn:
        await migrate(conn)
    # A bounded pool that makes a burst wait for a connection instead of failing (redis-py's default raises).
    redis = Redis.from_pool(BlockingConnectionPool.from_url(settings.redis_url, max_connections=64, timeout=10))
    stack.push_async_callback(bounded, "redis", redis.aclose)
    metrics = Metrics()
    # Started here and closed before the pool (the stack closes in reverse), after everything that queues receipts.
    eventlog = EventLog(pool, settings.tenant)
    eventlog.start()
    stack.push_async_callback(bounded, "audit event log", eventlog.close)
    store = Store(pool, settings.tenant, eventlog)
    staff = Staff(pool, settings.tenant)
    router_store = RouterStore(redis, settings.tenant)
    hub = Hub(redis)
    conversations = Conversations(store, hub, metrics, Returning(pool, settings.tenant))
    ice = IceServers(settings.stun_urls, settings.turn_urls, settings.turn_secret, settings.turn_ttl_s)
    relay = mail_out.Relay.from_url(settings.smtp_relay_url) if settings.smtp_relay_url else None
    use_host_addresses(settings.ice_host_addresses)
    conversations.ice = ice
    router = RouterService(
        router_store,
        RoutingListener(conversations),
        RouterConfig(offer_timeout_s=settings.offer_timeout_s, wrapup_s=settings.wrapup_s),
        clock_ms=lambda: int(time.time() * 1000),
    )
    conversations.router = router
    agents = Agents(store, staff, hub, router, settings.node_id, settings.chat_capacity, settings.agent_grace_s)
    conversations.agents = agents
    svc = Services(
        settings=settings,
        pool=pool,
        redis=redis,
        eventlog=eventlog,
        store=store,
        staff=staff,
        router_store=router_store,
        router=router,
        hub=hub,
        conversations=conversations,
        agents=agents,
        citizens=Citizens(None, settings.citizen_grace_s),
        board=Board(store, staff, router_store),
        metrics=metrics,
        passwords=Passwords(),
        queue_settings=QueueSettings(pool, settings.tenant),
        calls=CallRecords(pool, settings.tenant),
        texts=TextRecords(pool, settings.tenant),
        mail=MailRecords(store),
        outbox=Outbox(pool, settings.tenant),
        citizen_records=CitizenRecords(pool, settings.tenant),
        mail_sender=mail_out.MailSender(None, relay),
        lines=Lines(None, ice),
    )
    svc.mail_sender.svc = svc
    svc.citizens.svc = svc
    svc.board.estimate = lambda queue, position, serving: _estimate(svc, queue, position, serving)
    svc.lines.svc = svc
    conversations.call_accepted = svc.lines.callbacks.accepted
    conversations.park_offer = svc.lines.callbacks.park
    conversations.text_reply = functools.partial(sms.agent_reply, svc)
    conversations.mail_reply = functools.partial(mail_out.agent_reply, svc)
    return svc


async def _estimate(svc: Services, queue: str, position: int, serving: list[Agent]) -> int | None:
    return (await svc.conversations.estimator(queue, serving))(position)


async def bounded(what: str, stop: Callable[[], Awaitable[Any]], seconds: float = 5.0) -> None:
    """Run one shutdown step for at most ``seconds``: a stop must never hang on one stuck part."""
    started = time.monotonic()
    task = asyncio.ensure_future(stop())
    # asyncio.wait rather than wait_for: wait_for waits for the cancelled step to finish, and a step
    # that swallows its cancellation would hang the stop after all.
    await asyncio.wait([task], timeout=seconds)
    if not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=1.0)
        log.warning("shutdown of %s took over %.0f s; going on", what, seconds)
    elif not task.cancelled() and task.exception() is not None:
        log.error("shutdown of %s failed; going on", what, exc_info=task.exception())
    elif time.monotonic() - started > 1:
        log.warning("shutdown of %s took %.1f s", what, time.monotonic() - started)


async def close_pool(pool: asyncpg.Pool) -> None:
    """Close the pool, waiting at most 5 s for connections still in use; then cut them off (never hang a stop)."""
    try:
        await asyncio.wait_for(pool.close(), 5)
    except TimeoutError:
        log.warning("database connections still busy at shutdown; closing them")
        pool.terminate()


async def ensure_built(svc: Services) -> None:
    """Rebuild routing state from PostgreSQL if Redis lost it (at start-up, or when it was emptied)."""
    if await svc.router_store.is_built():
        return
    if not await svc.redis.set(svc.keys.rebuild_lock(), svc.settings.node_id, nx=True, px=30_000):
        return  # another node is rebuilding
    try:
        restored = await svc.conversations.rebuild()
        log.info("routing state rebuilt from PostgreSQL: %d live conversations", restored)
        await svc.agents.reassert()
    finally:
        await svc.redis.delete(svc.keys.rebuild_lock())


def on_change(svc: Services, changed: set[str]) -> Callable[[dict[str, Any]], None]:
    def handler(frame: dict[str, Any]) -> None:
        svc.board.changed(str(frame.get("queue", "")))
        changed.add(str(frame.get("queue", "")))
        if frame.get("config"):
            svc.config_changed = True

    return handler


def periodic_jobs(svc: Services) -> list[tuple[float, Callable[[], Awaitable[Any]]]]:
    """This node's periodic work, each (every seconds, job)."""
    return [
        (0.25, svc.router.expire_offers),
        (0.5, svc.router.expire_wrapups),
        (1.0, svc.router.escalate),
        (0.25, svc.board.tick),
        (1.0, lambda: svc.router.route_waiting(svc.queue_names)),
        (1.0, lambda: ensure_built(svc)),
        (30.0, svc.conversations.rebuild),
        (5.0, svc.agents.heartbeat),
        (30.0, lambda: refresh_queues(svc)),
        (3600.0, lambda: expire_recordings(svc)),
        (30.0, svc.lines.callbacks.due),
    ]


async def serve_mail(svc: Services, stack: contextlib.AsyncExitStack) -> None:
    """Take mail on ``CONTACTD_SMTP_PORT`` in this event loop (so it shares the pools); closed on stop."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(smtp_factory(svc), svc.settings.host, svc.settings.smtp_port)

    async def close() -> None:
        server.close()
        await server.wait_closed()

    stack.push_async_callback(bounded, "mail server", close)
    log.info("taking mail", extra={"port": svc.settings.smtp_port})


async def expire_recordings(svc: Services) -> int:
    """Delete call recordings past their queue's days (file work off the event loop)."""
    s, keep = svc.settings, dict(svc.conversations.recording_days)
    return await asyncio.to_thread(recording.expire, s.data_dir, s.tenant, keep, time.time())


async def every(seconds: float, job: Callable[[], Awaitable[Any]]) -> None:
    """Run ``job`` every ``seconds``, each job on its own so that a slow one never delays another
    (a heartbeat held up by a long sweep would let the node's liveness key lapse)."""
    while True:
        started = time.monotonic()
        await _run(job)
        await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))


async def follow_changes(svc: Services) -> None:
    """Refresh citizens' positions and re-read queue settings as other nodes announce changes."""
    changed: set[str] = set()
    await svc.hub.subscribe(svc.keys.changed(), on_change(svc, changed))
    while True:
        if svc.config_changed:
            svc.config_changed = False
            await _run(lambda: refresh_queues(svc))
        while changed:
            await _run(functools.partial(svc.citizens.refresh, changed.pop()))
        await asyncio.sleep(0.05)


def start_periodic(svc: Services, tasks: TaskSet) -> None:
    tasks.spawn(follow_changes(svc))
    tasks.spawn(svc.mail_sender.run())
    for seconds, job in periodic_jobs(svc):
        tasks.spawn(every(seconds, job))


async def _run(job: Callable[[], Awaitable[Any]]) -> None:
    try:
        await job()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("periodic job failed")


async def refresh_queues(svc: Services) -> None:
    svc.queue_names = [q["name"] for q in await svc.store.queues()]
    svc.router.strategies = await svc.queue_settings.queue_strategies()
    svc.router.escalations = await svc.queue_settings.queue_escalations()
    svc.conversations.hours = await svc.queue_settings.queue_hours()
    svc.conversations.previous_agent = await svc.queue_settings.previous_agent()
    svc.conversations.recording_days = await svc.queue_settings.recording()
    figures = await Reports(svc.pool, svc.settings.tenant).queue_figures(datetime.now(UTC) - timedelta(days=1))
    svc.conversations.handle_time_s = {q: f["aht_s"] for q, f in figures.items() if f["aht_s"]}


def create_app(settings: Settings) -> Starlette:
    """The contactd ASGI app for ``settings`` (with the Redis and PostgreSQL URLs already known)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            svc = await open_services(settings, stack)
            await svc.hub.start()
            stack.push_async_callback(bounded, "hub", svc.hub.stop)
            await refresh_queues(svc)
            await ensure_built(svc)
            app.state.services = svc
            periodic = TaskSet()
            start_periodic(svc, periodic)
            stack.push_async_callback(bounded, "periodic jobs", periodic.stop)
            stack.push_async_callback(bounded, "agent timers", svc.agents.stop)
            stack.push_async_callback(bounded, "citizen timers", svc.citizens.stop)
            stack.push_async_callback(bounded, "calls", svc.lines.stop)
            if settings.smtp_port is not None:
                await serve_mail(svc, stack)
            log.info("contactd ready", extra={"node": settings.node_id})
            yield

    middleware = [Middleware(SecurityHeaders)]
    return Starlette(routes=routes(), middleware=middleware, lifespan=lifespan)
