"""Agents: status, presence across nodes, and the state frame every console shows."""

from __future__ import annotations

import asyncio
import logging

from contactd.hub import Frame, Hub
from contactd.staff import Staff, User
from contactd.store import Store
from contactd.tasks import TaskSet
from router.model import CHANNELS, DEFAULT_CAPACITY, Agent
from router.reads import as_text
from router.service import RouterService

log = logging.getLogger("contactd.agents")

NODE_TTL_S = 15


class Agents:
    """Agent status and presence for one tenant, on this node."""

    def __init__(
        self,
        store: Store,
        staff: Staff,
        hub: Hub,
        router: RouterService,
        node_id: str,
        chat_capacity: int,
        grace_s: float,
    ) -> None:
        self.store = store
        self.staff = staff
        self.hub = hub
        self.router = router
        self.keys = router.store.keys
        self.redis = router.store.redis
        self.node_id = node_id
        self.default_capacity = {**DEFAULT_CAPACITY, "chat": chat_capacity}
        self.grace_s = grace_s
        self.tasks = TaskSet()
        self.local: dict[int, User] = {}

    async def set_status(self, user: User, status: str, reason: str = "", by: User | None = None) -> Agent | None:
        """Set ``user``'s status with their current skills and capacity; tell every console they have open.
        ``by``: the supervisor who set it (audited), when it was not the adviser."""
        profile = await self.staff.agent_profile(user.id)
        routing = profile.routing(self.default_capacity)
        agent = await self.router.set_status(
            str(user.id), status, routing, name=user.name, reason=reason, dispatch=False
        )
        data = {"status": status, "reason": reason} | ({"by": by.id} if by else {})
        await self.store.event("agent.status", agent_id=user.id, data=data)
        log.info("agent status %s", status, extra={"agent_id": user.id})
        # The console hears it is available before it hears of the offers that follow.
        await self.push_state(str(user.id))
        if status == "available":
            await self.router.dispatch_agent(str(user.id))
        return agent

    async def refresh_profile(self, user: User) -> None:
        """Re-read an agent's skills and capacity into routing, keeping their status (effective at their next offer)."""
        agent = await self.router.store.agent(str(user.id))
        if agent is not None and agent.status != "offline":
            await self.set_status(user, agent.status, agent.reason)

    async def state_frame(self, agent_id: str) -> Frame:
        agent = await self.router.store.agent(agent_id)
        status = agent.status if agent else "offline"
        load = {ch: agent.load.get(ch, 0) for ch in CHANNELS} if agent else dict.fromkeys(CHANNELS, 0)
        capacity = dict(agent.capacity) if agent and any(agent.capacity.values()) else dict(self.default_capacity)
        reason = agent.reason if agent else ""
        return {"type": "agent.state", "status": status, "reason": reason, "load": load, "capacity": capacity}

    async def push_state(self, agent_id: str) -> None:
        await self.hub.publish(self.keys.to_agent(agent_id), await self.state_frame(agent_id))

    # --- presence ---------------------------------------------------------------------------

    async def connected(self, user: User) -> None:
        self.local[user.id] = user
        await self.redis.hincrby(self.keys.sockets(str(user.id)), self.node_id, 1)

    async def disconnected(self, user: User) -> None:
        key = self.keys.sockets(str(user.id))
        if await self.redis.hincrby(key, self.node_id, -1) <= 0:
            await self.redis.hdel(key, self.node_id)
            self.local.pop(user.id, None)
        self.tasks.spawn(self._offline_unless_back(user))

    async def _offline_unless_back(self, user: User) -> None:
        # A reload or a short network drop should not lose the agent their place in the rotation.
        await asyncio.sleep(self.grace_s)
        if not await self._sockets_anywhere(str(user.id)):
            await self.set_status(user, "offline", "disconnected")

    async def set_by_supervisor(self, supervisor: User, agent: User, status: str, reason: str) -> bool:
        """A supervisor sets an adviser's status; False (nothing changed) for available when no console of
        theirs is open, as offers would go to nobody."""
        if status == "available" and not await self._sockets_anywhere(str(agent.id)):
            return False
        said = f"set by {supervisor.name}" + (f": {reason}" if reason else "")
        await self.set_status(agent, status, said if status != "available" else "", by=supervisor)
        return True

    async def _sockets_anywhere(self, agent_id: str) -> int:
        counts = await self.redis.hgetall(self.keys.sockets(agent_id))
        return sum(int(v) for v in counts.values())

    async def heartbeat(self) -> None:
        """Mark this node alive, and take offline the agents whose only node has died."""
        await self.redis.set(self.keys.node(self.node_id), "1", ex=NODE_TTL_S)
        ids = await self.router.store.agent_ids()
        pipe = self.redis.pipeline(transaction=False)
        for agent_id in ids:
            pipe.hkeys(self.keys.sockets(agent_id))
        nodes_of = {a: {as_text(n) for n in nodes} for a, nodes in zip(ids, await pipe.execute(), strict=True)}
        nodes = sorted(set().union(*nodes_of.values()) - {self.node_id})
        pipe = self.redis.pipeline(transaction=False)
        for node in nodes:
            pipe.exists(self.keys.node(node))
        dead = {n for n, alive in zip(nodes, await pipe.execute(), strict=True) if not alive}
        for agent_id, agent_nodes in nodes_of.items():
            if not agent_nodes & dead:
                continue
            await self.redis.hdel(self.keys.sockets(agent_id), *(agent_nodes & dead))
            user = await self.staff.user_by_id(int(agent_id))
            if user is not None and not agent_nodes - dead:
                await self.set_status(user, "offline", "node lost")

    async def reassert(self) -> None:
        """After Redis was emptied: re-register the agents connected to this node, with their status."""
        for user in list(self.local.values()):
            await self.redis.hset(self.keys.sockets(str(user.id)), self.node_id, 1)
            status = await self.staff.last_status(user.id)
            await self.set_status(user, status or "away", "restored")

    async def stop(self) -> None:
        await self.tasks.stop()

    def __repr__(self) -> str:
        return f"Agents(node={self.node_id!r})"
