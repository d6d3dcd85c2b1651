"""When Redis or PostgreSQL falter: clear answers, nothing lost, routing mended from the system of record."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg

from contactd.embedded import EmbeddedRedis
from tests.conftest import LiveServer, make_settings
from tests.helpers import Client, typed


async def test_redis_down_gets_a_clear_error_and_the_socket_stays(
    server_urls: tuple[str, str], department: str, tmp_path: Path, db: asyncpg.Pool, tenant: str
) -> None:
    own = EmbeddedRedis(tmp_path)
    live = await LiveServer(make_settings((own.start(), server_urls[1]), department, tmp_path)).start()
    try:
        citizen = await Client.connect(live.ws("/ws/chat"), origin=live.base)
        own.stop()
        await citizen.send({"type": "chat.start", "queue": "general", "name": "Ann"})
        error = await citizen.expect(typed("error"), timeout=10)
        assert error["code"] == "unavailable" and "try again" in error["message"]
        await citizen.send({"type": "ping"})
        await citizen.expect(typed("pong"))
        # What was committed before Redis failed is kept, to be routed once Redis is back.
        assert await db.fetchval("SELECT state FROM conversations WHERE tenant_id = $1", tenant) == "queued"
    finally:
        await live.stop()


async def test_a_conversation_that_redis_lost_is_put_back_in_its_queue(server: LiveServer, db: asyncpg.Pool) -> None:
    _, queued = await server.citizen("welsh", "Siân")
    cid = queued["conversation_id"]
    store = server.services.router_store
    await server.services.redis.delete(store.keys.conv(cid))
    await server.services.redis.zrem(store.keys.queue("welsh"), cid)
    assert await store.waiting("welsh") == []
    assert await server.services.conversations.rebuild() == 1
    assert await store.waiting("welsh") == [cid]
    agent = await server.agent("agent2")
    await agent.expect(typed("offer", conversation_id=cid))
    assert await db.fetchval("SELECT state FROM conversations WHERE id = $1", uuid.UUID(cid)) == "offered"
