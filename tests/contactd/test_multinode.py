"""Several nodes from day one: two real contactd processes share one Redis and one PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from tests.helpers import Client, login, typed
from tests.processes import ContactdProcess

pytestmark = pytest.mark.slow


async def agent_on(node: ContactdProcess, username: str) -> Client:
    client = await Client.connect(node.ws("/ws/agent"), await login(node.base, username), origin=node.base)
    await client.send({"type": "agent.status", "status": "available"})
    await client.expect(typed("agent.state", status="available"))
    return client


@pytest.fixture
async def two_nodes(
    server_urls: tuple[str, str], department: str, contactd_process: Callable[..., ContactdProcess]
) -> list[ContactdProcess]:
    """Two ``contactd serve`` processes sharing the test's Redis, PostgreSQL and department."""
    env = {"CONTACTD_REDIS_URL": server_urls[0], "CONTACTD_DATABASE_URL": server_urls[1], "CONTACTD_TENANT": department}
    nodes = [contactd_process("serve", CONTACTD_NODE_ID=f"node-{i}", **env) for i in (1, 2)]
    for node in nodes:
        await node.ready()
    return nodes


async def test_a_citizen_on_one_node_chats_with_an_agent_on_another(
    two_nodes: list[ContactdProcess], db: asyncpg.Pool
) -> None:
    one, two = two_nodes
    agent = await agent_on(two, "agent2")
    citizen = await Client.connect(one.ws("/ws/chat"), origin=one.base)
    await citizen.send({"type": "chat.start", "queue": "benefits", "name": "Ann"})
    cid = (await citizen.expect(typed("chat.queued")))["conversation_id"]

    await agent.take(cid)
    assert (await citizen.expect(typed("chat.agent_joined")))["agent_name"] == "Bethan Jones"
    for i in range(5):
        await citizen.send({"type": "message", "id": f"c{i}", "text": f"citizen says {i}"})
        await agent.expect(typed("message", conversation_id=cid, id=f"c{i}"))
        await agent.send({"type": "message", "conversation_id": cid, "id": f"a{i}", "text": f"agent says {i}"})
        assert (await citizen.expect(typed("message", id=f"a{i}")))["text"] == f"agent says {i}"

    # A second console of the same agent, on the other node, sees the conversation too.
    other_tab = await Client.connect(one.ws("/ws/agent"), await login(one.base, "agent2"), origin=one.base)
    await other_tab.expect(typed("conversation.assigned", conversation_id=cid))
    await citizen.send({"type": "message", "id": "c-last", "text": "to both tabs"})
    await other_tab.expect(typed("message", id="c-last"))

    await agent.send({"type": "conversation.end", "conversation_id": cid})
    assert (await citizen.expect(typed("chat.ended")))["by"] == "agent"
    await agent.send({"type": "wrapup.done", "conversation_id": cid, "disposition": "resolved"})
    await other_tab.expect(typed("conversation.closed", conversation_id=cid))
    count = await db.fetchval("SELECT count(*) FROM messages WHERE conversation_id = $1", uuid.UUID(cid))
    assert count == 11


async def test_simultaneous_arrivals_on_two_nodes_never_overfill_an_agent(two_nodes: list[ContactdProcess]) -> None:
    nodes = two_nodes
    agent = await agent_on(nodes[0], "agent3")  # chat capacity 3
    citizens = []
    for i in range(10):
        node = nodes[i % 2]
        c = await Client.connect(node.ws("/ws/chat"), origin=node.base)
        citizens.append(c)
    for i, c in enumerate(citizens):
        await c.send({"type": "chat.start", "queue": "general", "name": f"C{i}"})
    for c in citizens:
        await c.expect(typed("chat.queued"))
    await agent.maybe(lambda f: False, timeout=1.5)
    agent.rewind()
    offers = {f["conversation_id"] for f in agent.seen if f.get("type") == "offer"}
    assert len(offers) == 3
    loads = [f["load"]["chat"] for f in agent.seen if f.get("type") == "agent.state"]
    assert max(loads) == 3


async def test_a_burst_of_arrivals_and_accepts_on_two_nodes_never_double_assigns(
    two_nodes: list[ContactdProcess], db: asyncpg.Pool, department: str
) -> None:
    one, two = two_nodes
    agents = {
        "agent1": await agent_on(one, "agent1"),
        "agent2": await agent_on(two, "agent2"),
        "agent3": await agent_on(two, "agent3"),
    }

    async def accept_everything(client: Client) -> None:
        while (offer := await client.maybe(typed("offer"), timeout=2)) is not None:
            await client.send({"type": "offer.accept", "conversation_id": offer["conversation_id"]})

    citizens = [await Client.connect(n.ws("/ws/chat"), origin=n.base) for n in (one, two) * 10]
    await asyncio.gather(
        *(c.send({"type": "chat.start", "queue": "general", "name": f"C{i}"}) for i, c in enumerate(citizens))
    )
    await asyncio.gather(*(accept_everything(a) for a in agents.values()))

    rows = await db.fetch(
        "SELECT c.id, c.state, c.agent_id, (SELECT count(*) FROM events e WHERE e.conversation_id = c.id"
        " AND e.type = 'offer.accepted') AS accepts FROM conversations c WHERE c.tenant_id = $1",
        department,
    )
    assert len(rows) == 20
    assert all(r["accepts"] <= 1 for r in rows)
    assigned = [r for r in rows if r["state"] == "assigned"]
    assert len(assigned) == 9  # three agents, three chats each
    per_agent: dict[int, int] = {}
    for r in assigned:
        per_agent[r["agent_id"]] = per_agent.get(r["agent_id"], 0) + 1
    assert sorted(per_agent.values()) == [3, 3, 3]
    for client in agents.values():
        client.rewind()
        loads = [f["load"]["chat"] for f in client.seen if f.get("type") == "agent.state"]
        assert max(loads) == 3


async def test_boards_on_both_nodes_follow_a_contact_on_either_and_a_supervisor_monitors_across_them(
    two_nodes: list[ContactdProcess],
) -> None:
    """A citizen and an adviser on node 1; boards on both nodes show the change within a second, and a
    supervisor on node 2 reads the chat live."""
    one, two = two_nodes
    boards = []
    for node in (one, two):
        board = await Client.connect(node.ws("/ws/board"), await login(node.base, "supervisor"), node.base)
        await board.send({"type": "board.watch", "queues": ["benefits"]})
        await board.expect(typed("board.snapshot"))
        boards.append(board)
    citizen = await Client.connect(one.ws("/ws/chat"), origin=one.base)
    started = asyncio.get_running_loop().time()
    await citizen.send({"type": "chat.start", "queue": "benefits", "name": "Ann"})
    cid = (await citizen.expect(typed("chat.queued")))["conversation_id"]

    def waiting_one(frame: dict[str, Any]) -> bool:
        return frame.get("type") == "board.changes" and any(q["waiting"] == 1 for q in frame["queues"])

    for board in boards:
        await board.expect(waiting_one, timeout=3)
    assert asyncio.get_running_loop().time() - started < 1.5  # both boards, across nodes

    agent = await agent_on(one, "agent2")
    await agent.take(cid)
    watcher = boards[1]
    await watcher.send({"type": "monitor.start", "conversation_id": cid})
    await watcher.expect(typed("monitor.started", conversation_id=cid))
    await citizen.send({"type": "message", "id": "c1", "text": "hello from node 1"})
    live = await watcher.expect(typed("monitor.message", conversation_id=cid))
    assert live["message"]["text"] == "hello from node 1"
