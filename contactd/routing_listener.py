"""What the router tells contactd (its ``Listener``): each offer, withdrawal, expiry and escalation is
recorded in PostgreSQL and pushed to the consoles concerned."""

from __future__ import annotations

import logging

from contactd.conversations import MISSED_OFFERS, Conversations
from contactd.hub import Frame
from router.model import Contact, Decision
from router.service import Listener, receipt

log = logging.getLogger("contactd.conversations")


class RoutingListener(Listener):
    """The router's listener for one node, acting through the node's conversations."""

    def __init__(self, conversations: Conversations) -> None:
        self.c = conversations

    async def offered(self, contact: Contact, agent_id: str, decision: Decision, expires_in_s: float) -> None:
        await self.c.store.record_offer(contact.id, int(agent_id), expires_in_s, receipt(decision, contact))
        self.c.metrics.offers.inc()
        live = await self.c.router.store.conversation(contact.id)
        citizen = {"name": live.name if live else "", "language": live.language if live else "en"}
        log.info("offered", extra={"conversation_id": contact.id, "agent_id": agent_id})
        offer: Frame = {
            "type": "offer",
            "conversation_id": contact.id,
            "channel": contact.channel,
            "queue": contact.queue,
            "expires_in_s": expires_in_s,
            "citizen": citizen,
        }
        transferred = await self.c.store.last_transfer(contact.id)
        if transferred:
            offer["transferred"] = transferred
        await self.c.to_agent(agent_id, offer)
        await self.c.agents.push_state(agent_id)

    async def offer_withdrawn(self, conversation_id: str, agent_id: str, reason: str) -> None:
        await self.c.store.offer_outcome(
            conversation_id, int(agent_id), "timeout" if reason == "timeout" else "withdrawn"
        )
        if reason == "timeout":
            self.c.metrics.timeouts.inc()
        await self.c.to_agent(
            agent_id, {"type": "offer.withdrawn", "conversation_id": conversation_id, "reason": reason}
        )
        await self.c.agents.push_state(agent_id)

    async def wrapup_expired(self, conversation_id: str, agent_id: str) -> None:
        await self.c.store.transition(
            conversation_id, "wrapup.expired", actor=int(agent_id), state="closed", closed_at="now()"
        )
        await self.c.to_agent(
            agent_id,
            {"type": "conversation.closed", "conversation_id": conversation_id, "reason": "wrap-up time ended"},
        )
        await self.c.agents.push_state(agent_id)

    async def escalated(self, conversation_id: str, step: int, priority: int, overflow: list[str]) -> None:
        await self.c.store.transition(
            conversation_id,
            "routing.escalated",
            data={"step": step, "priority": priority, "overflow": overflow},
            escalation_step=step,
            priority=priority,
        )

    async def agent_missed(self, agent_id: str, missed: int) -> None:
        user = await self.c.agents.staff.user_by_id(int(agent_id))
        if user is not None:
            log.info("agent missed %d offers in a row; set away", missed, extra={"agent_id": agent_id})
            await self.c.agents.set_status(user, "away", MISSED_OFFERS)

    async def changed(self, queue: str) -> None:
        await self.c.hub.publish(self.c.keys.changed(), {"queue": queue})
