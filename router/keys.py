"""Every Redis key and pub/sub channel contactd uses, built here and nowhere else (STYLE 7).

All keys of one tenant share the hash tag ``{tenant}`` so that they live on one
Redis Cluster slot and Lua scripts may touch several of them. The routing
scripts also build keys from the tenant prefix (``router/lua/_lib.lua``, the
``key(...)`` function) in the same shapes; a test checks that both agree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    """Key builder for one tenant."""

    tenant: str

    @property
    def prefix(self) -> str:
        return f"cc:{{{self.tenant}}}"

    def queue(self, name: str) -> str:
        """ZSET: waiting conversation ids of queue ``name``, scored by ``policy.queue_score``."""
        return f"{self.prefix}:queue:{name}"

    def conv(self, conversation_id: str) -> str:
        """HASH: routing state of one live conversation (queue, channel, state, agent, score, ...)."""
        return f"{self.prefix}:conv:{conversation_id}"

    def closed(self, conversation_id: str) -> str:
        """STRING (with TTL): the conversation left routing (closed or abandoned) lately: a rebuild that read it
        from PostgreSQL while it was still live must not put it back."""
        return f"{self.prefix}:closed:{conversation_id}"

    def skip(self, conversation_id: str) -> str:
        """SET (with TTL): agents not to offer this conversation to again for now."""
        return f"{self.prefix}:skip:{conversation_id}"

    def agent(self, agent_id: str) -> str:
        """HASH: presence of one agent: status, since, idle_since, name, queues, load:<ch>, cap:<ch>."""
        return f"{self.prefix}:agent:{agent_id}"

    def agents(self) -> str:
        """ZSET: agents that are not offline, scored by the time their status last changed."""
        return f"{self.prefix}:agents"

    def serving(self, queue: str) -> str:
        """SET: ids of agents not offline who serve ``queue``."""
        return f"{self.prefix}:serving:{queue}"

    def ready(self, queue: str, channel: str) -> str:
        """ZSET: agents who could take a ``channel`` contact of ``queue`` now (available, a free slot, not
        on a call), scored by idle since (ms). Kept in step by every script that changes an agent."""
        return f"{self.prefix}:ready:{queue}:{channel}"

    def near(self, queue: str) -> str:
        """ZSET: agents signed in who hold every skill of ``queue`` but fall short of its minimum level,
        scored by how many levels short (an escalation that relaxes the level may reach them)."""
        return f"{self.prefix}:near:{queue}"

    def waiting_counts(self, queue: str) -> str:
        """HASH: channel -> how many contacts of that channel wait in ``queue``."""
        return f"{self.prefix}:waiting:{queue}"

    def held(self, agent_id: str) -> str:
        """ZSET: contacts reserved for this agent (named in a transfer), scored like their queue;
        an entry whose reservation has ended is dropped when read."""
        return f"{self.prefix}:held:{agent_id}"

    def call_stream(self, conversation_id: str) -> str:
        """STRING (with TTL): the node holding a call back's media stream (a second stream is refused)."""
        return f"{self.prefix}:call-stream:{conversation_id}"

    def pending_offer(self, conversation_id: str) -> str:
        """STRING (with TTL): an adviser's WebRTC offer for a call back still ringing, JSON {agent_id, sdp}."""
        return f"{self.prefix}:pending-offer:{conversation_id}"

    def offers(self) -> str:
        """ZSET: conversation ids with a pending offer, scored by the offer's deadline (ms)."""
        return f"{self.prefix}:offers"

    def wrapups(self) -> str:
        """ZSET: conversation ids in wrap-up, scored by when the slot frees by itself (ms)."""
        return f"{self.prefix}:wrapups"

    def answered(self, queue: str) -> str:
        """ZSET: conversations of ``queue`` answered recently, scored by when (ms); for wait estimates."""
        return f"{self.prefix}:answered:{queue}"

    def round_robin(self) -> str:
        """HASH: queue -> the agent its round robin offered to last."""
        return f"{self.prefix}:round-robin"

    def built(self) -> str:
        """STRING: present once routing state has been rebuilt from PostgreSQL; its loss means Redis was emptied."""
        return f"{self.prefix}:built"

    def rebuild_lock(self) -> str:
        """STRING (with TTL): held by the one node rebuilding routing state from PostgreSQL."""
        return f"{self.prefix}:rebuild-lock"

    def node(self, node_id: str) -> str:
        """STRING (with TTL): a live contactd node's heartbeat."""
        return f"{self.prefix}:node:{node_id}"

    def sockets(self, agent_id: str) -> str:
        """HASH: node id -> how many console WebSockets the agent has open on that node."""
        return f"{self.prefix}:sockets:{agent_id}"

    def mail_rate(self, sender: str, window: int) -> str:
        """STRING (counter, with TTL): messages from one sender's address in one rate window."""
        return f"{self.prefix}:mail-rate:{sender}:{window}"

    def acknowledged(self, address_hash: str) -> str:
        """STRING (with TTL): an acknowledgement went to this address (by its hash) today."""
        return f"{self.prefix}:acknowledged:{address_hash}"

    def verify(self, conversation_id: str) -> str:
        """HASH (with TTL): a chat citizen's number check: phone, code (its hash), tries, sends."""
        return f"{self.prefix}:verify:{conversation_id}"

    def verify_sends(self, scope: str) -> str:
        """STRING (counter, with TTL): codes texted this hour, for ``scope``: one number or one client
        address (by hash), or ``all``, with the hour."""
        return f"{self.prefix}:verify-sends:{scope}"

    # Pub/sub channels (not keys, but named here too so that every name has one home).

    def to_agent(self, agent_id: str) -> str:
        """Channel: frames for every console the agent has open, on any node."""
        return f"{self.prefix}:to-agent:{agent_id}"

    def to_citizen(self, conversation_id: str) -> str:
        """Channel: frames for the citizen side of a conversation, on any node."""
        return f"{self.prefix}:to-citizen:{conversation_id}"

    def to_board(self, user_id: str) -> str:
        """Channel: frames for every queue board a supervisor has open (their monitored calls' signalling)."""
        return f"{self.prefix}:to-board:{user_id}"

    def changed(self) -> str:
        """Channel: routing state changed (payload: the queue, or '' for agents); boards and positions refresh."""
        return f"{self.prefix}:changed"
