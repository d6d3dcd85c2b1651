"""Conversations: what happens when a citizen or an agent acts, in the order the contract needs.

PostgreSQL is written first (the citizen is told "queued" or sees a message
echoed only once it is committed); routing state changes through the router
service; frames go out through the hub to whichever node holds the peer.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from channels.chat import protocol as chat
from channels.voice.ice import IceServers
from contactd.agents import Agents
from contactd.errors import Conflict, Forbidden, NotFound, Unavailable
from contactd.hub import Frame, Hub
from contactd.metrics import Metrics
from contactd.queue_settings import PreviousAgent
from contactd.records import Conversation
from contactd.returning import Returning
from contactd.staff import User
from contactd.store import Store
from router.hours import Hours, closed_message
from router.model import Agent
from router.service import RouterService, receipt
from router.store import LiveConversation

log = logging.getLogger("contactd.conversations")
CLOSED_FOR_NOW = datetime.max.replace(tzinfo=UTC)  # closed, with no opening in sight
MISSED_OFFERS = "missed offers"


def _ms(conv: Conversation) -> int:
    return int(conv.queued_at.timestamp() * 1000)


class Conversations:
    """The conversation flows of one tenant (implements the router's Listener)."""

    def __init__(
        self, store: Store, hub: Hub, metrics: Metrics, returning: Returning, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.returning = returning
        self.hub = hub
        self.metrics = metrics
        self.clock = clock
        # Set by the app once all exist (they refer to each other).
        self.router: RouterService
        self.agents: Agents
        self.names: dict[int, str] = {}
        self.handle_time_s: dict[str, float] = {}
        self.hours: dict[str, Hours] = {}
        """Each queue's opening hours (re-read every half minute)."""
        self.text_reply: Callable[[User, str, str, str], Awaitable[None]] = _no_text
        """Sends an adviser's reply in a text conversation as a text (set by the app)."""
        self.mail_reply: Callable[[User, str, str, str, str | None], Awaitable[None]] = _no_mail
        """Sends an adviser's reply in an email conversation through the outbox (set by the app)."""
        self.call_accepted: Callable[[Conversation], Awaitable[None]] = _nothing
        """Places a call back once an adviser took it (set by the app)."""
        self.park_offer: Callable[[str, str, str], Awaitable[bool]] = _refuse
        """Keeps an adviser's offer for a call back still ringing (set by the app)."""
        self.ice = IceServers()
        """STUN/TURN servers handed to consoles at call time (set by the app)."""
        self.recording_days: dict[str, int] = {}
        """Each queue's days of call recordings kept (0 or absent: calls are not recorded)."""
        self.previous_agent: dict[str, PreviousAgent] = {}
        """Each queue's rule for returning citizens (re-read with the hours)."""

    @property
    def keys(self) -> Any:
        return self.router.store.keys

    async def to_agent(self, agent_id: int | str, frame: Frame) -> None:
        await self.hub.publish(self.keys.to_agent(str(agent_id)), frame)

    async def to_citizen(self, conversation_id: str, frame: Frame) -> None:
        await self.hub.publish(self.keys.to_citizen(conversation_id), frame)

    # --- the citizen --------------------------------------------------------------------

    async def start_chat(
        self, queue: str, name: str, language: str, citizen_key: str | None = None, channel: str = "chat"
    ) -> tuple[Conversation, str]:
        """Record a new chat, or a call from the chat page (``channel`` voice), of the citizen this
        device's ``citizen_key`` names if it was sent; returns it with its resume token. Queue it
        (``enqueue``) and offer it (``dispatch``) once the citizen's socket listens for it, so that
        no frame about it is lost."""
        token = secrets.token_urlsafe(32)
        name = name.strip()
        citizen = await self.returning.citizen(citizen_key, name, language) if citizen_key else None
        conv = await self.store.create_conversation(
            channel=channel, queue=queue, name=name, language=language, resume_token=token, citizen_id=citizen
        )
        self.metrics.contacts.labels(channel, queue).inc()
        log.info("%s started", channel, extra={"conversation_id": conv.id})
        return conv, token

    def opens_at(self, queue: str) -> datetime | None:
        """None while ``queue`` is open; else when it next opens (``CLOSED_FOR_NOW`` if not within three weeks)."""
        hours = self.hours.get(queue, Hours())
        now = datetime.fromtimestamp(self.clock(), UTC)
        return None if hours.is_open(now) else (hours.next_opening(now) or CLOSED_FOR_NOW)

    async def close_outside_hours(self, conv: Conversation, opens_at: datetime) -> Frame:
        """Record a contact made while its queue is closed, and the answer the citizen is given."""
        when = None if opens_at is CLOSED_FOR_NOW else opens_at
        message = closed_message(conv.language, when)
        await self.store.transition(
            conv.id,
            "conversation.outside_hours",
            data={"opens_at": when.isoformat() if when else None},
            state="closed",
            ended_at="now()",
            ended_by="system",
            closed_at="now()",
        )
        await self.store.add_message(conv.id, "system", "closed", message)
        return {
            "type": "chat.closed",
            "conversation_id": conv.id,
            "reason": "outside_hours",
            "opens_at": when.isoformat() if when else None,
            "message": message,
        }

    async def enqueue(self, conv: Conversation) -> int:
        """Put a recorded conversation in its queue (waiting first for the citizen's previous adviser,
        as the queue's rule says); its position. ``dispatch`` then offers it."""
        live = self._live(conv)
        rule = self.previous_agent.get(conv.queue, PreviousAgent())
        previous = await self.returning.previous_agent(conv.id, rule.days) if rule.wait_s else None
        if previous is not None:
            until = int(self.clock() * 1000) + rule.wait_s * 1000
            live = dataclasses.replace(live, reserved_for=str(previous), reserved_until_ms=until)
        return max(await self.router.enqueue(live), 1)

    async def dispatch(self, conversation_id: str) -> None:
        """Offer a queued conversation to the best free agent; if there is none, record why it waits."""
        decision = await self.router.decide(conversation_id)
        if decision is not None and decision.agent_id is None:
            contact = await self.router.store.contact(conversation_id)
            if contact is not None:
                await self.store.receipt_later(
                    "routing.waiting", conversation_id=conversation_id, data=receipt(decision, contact)
                )

    async def estimator(self, queue: str, serving: Sequence[Agent] | None = None) -> Callable[[int], int | None]:
        """Estimated wait in seconds by position in ``queue`` (see ``policy.estimated_wait_s``); ``serving``:
        the queue's agents, when the caller has read them already."""
        return await self.router.estimator(queue, self.handle_time_s.get(queue, 180.0), serving)

    async def citizen_message(self, conversation_id: str, client_id: str, text: str) -> tuple[Frame, bool]:
        """Store a citizen's message once; deliver it to the agent if assigned. Returns (echo, new)."""
        live = await self.router.store.conversation(conversation_id)
        if live is None or live.state not in ("queued", "offered", "assigned"):
            raise Conflict("This chat has ended.")
        msg, new = await self.store.add_message(conversation_id, "citizen", client_id, text)
        frame = {"type": "message", **msg.frame()}
        if new:
            await self.to_citizen(conversation_id, frame)
            if live.state == "assigned":
                await self.to_agent(live.agent_id, {**frame, "conversation_id": conversation_id})
        return frame, new

    async def citizen_left(self, conversation_id: str) -> None:
        """The citizen ended the chat or call (or left while waiting): abandon or move the agent to wrap-up."""
        live = await self.router.store.conversation(conversation_id)
        live_channel = live.channel if live else "chat"
        state, agent_id = await self.router.abandon(conversation_id)
        if state in ("queued", "offered"):
            await self.store.transition(
                conversation_id,
                "conversation.abandoned",
                state="abandoned",
                ended_at="now()",
                ended_by="citizen",
                closed_at="now()",
            )
            self.metrics.abandoned.labels(live_channel).inc()
            if state == "offered":
                await self.store.offer_outcome(conversation_id, int(agent_id), "withdrawn")
                await self.to_agent(
                    agent_id,
                    {"type": "offer.withdrawn", "conversation_id": conversation_id, "reason": "abandoned"},
                )
                await self.agents.push_state(agent_id)
        elif state == "assigned":
            await self.store.transition(
                conversation_id,
                "conversation.ended",
                actor=int(agent_id),
                data={"by": "citizen"},
                state="wrapup",
                ended_at="now()",
                ended_by="citizen",
            )
            await self.to_agent(
                agent_id, {"type": "conversation.ended", "conversation_id": conversation_id, "by": "citizen"}
            )
        await self.to_citizen(conversation_id, chat.ended("citizen"))

    async def by_resume_token(self, token: str) -> Conversation:
        """The conversation behind a resume token; NotFound if there is none."""
        conv = await self.store.conversation_by_resume(token)
        if conv is None:
            raise NotFound("That chat cannot be resumed.")
        return conv

    async def resumed(self, conversation_id: str) -> Frame:
        """The ``chat.resumed`` frame: the conversation as it stands now, with its transcript."""
        conv = await self.store.conversation(conversation_id)
        transcript = [m.frame() for m in await self.store.transcript(conv.id)]
        frame: Frame = {
            "type": "chat.resumed",
            "conversation_id": conv.id,
            "transcript": transcript,
            # A chat that became a call back (or a web call) is over as a chat: it cannot be resumed as one.
            "state": "ended" if conv.channel == "voice" else _citizen_state(conv.state),
        }
        if conv.agent_id is not None and conv.state == "assigned":
            frame["agent_name"] = await self.agent_name(conv.agent_id)
        return frame

    async def agent_name(self, agent_id: int) -> str:
        if agent_id not in self.names:
            live = await self.router.store.agent_names([str(agent_id)])
            self.names[agent_id] = live[str(agent_id)][0] or "An adviser"
        return self.names[agent_id]

    # --- the agent -----------------------------------------------------------------------

    async def assigned_live(self, user: User, conversation_id: str, states: tuple[str, ...]) -> LiveConversation:
        """The live conversation if ``user`` holds it in one of ``states``; else Forbidden."""
        live = await self.router.store.conversation(conversation_id)
        if live is None or live.agent_id != str(user.id) or live.state not in states:
            raise Forbidden("That conversation is not yours.")
        return live

    async def accept(self, user: User, conversation_id: str) -> None:
        if not await self.router.accept(conversation_id, str(user.id)):
            raise Conflict("That offer is no longer open.")
        await self.store.offer_outcome(conversation_id, user.id, "accepted")
        self.metrics.accepts.inc()
        conv = await self.store.conversation(conversation_id)
        log.info("offer accepted", extra={"conversation_id": conversation_id, "agent_id": user.id})
        await self.to_agent(user.id, await self.assigned_frame(conv))
        await self.agents.push_state(str(user.id))
        if conv.channel == "voice":
            await self.call_accepted(conv)
        await self.to_citizen(conversation_id, chat.agent_joined(user.name))

    async def assigned_frame(self, conv: Conversation) -> Frame:
        transcript = [m.frame() for m in await self.store.transcript(conv.id)]
        frame: Frame = {
            "type": "conversation.assigned",
            "conversation_id": conv.id,
            "channel": conv.channel,
            "queue": conv.queue,
            "citizen": {"name": conv.citizen_name, "language": conv.language},
            "transcript": transcript,
        }
        if conv.reference:
            frame["reference"] = conv.reference
        if conv.state == "wrapup":
            frame["state"] = "wrapup"
        if conv.channel == "voice":
            ice = self.ice.for_browser(str(conv.agent_id), self.clock())
            frame["call"] = {"state": "ringing" if conv.state == "assigned" else "ended", "ice_servers": ice}
        transferred = await self.store.last_transfer(conv.id)
        if transferred:
            frame["transferred"] = transferred
        frame["history"] = await self.returning.history(conv.id)
        return frame

    async def timeline_changed(self, citizen_id: uuid.UUID) -> None:
        """A citizen's records were merged or split: their advisers' consoles show the earlier contacts again."""
        for conversation_id, agent_id in await self.returning.served(citizen_id):
            history = await self.returning.history(conversation_id)
            await self.to_agent(
                agent_id, {"type": "conversation.history", "conversation_id": conversation_id, "history": history}
            )

    async def call_signal(self, user: User, conversation_id: str, frame: Frame) -> None:
        """The adviser's call signalling, to the node holding the call's media (wherever that is)."""
        live = await self.assigned_live(user, conversation_id, ("assigned",))
        if live.channel != "voice":
            raise Forbidden("That conversation is not a call.")
        channel = self.keys.to_citizen(conversation_id)
        heard = await self.hub.redis.publish(channel, json.dumps({**frame, "agent_id": str(user.id)}))
        if heard:
            return
        if frame["type"] == "rtc.offer" and await self.park_offer(conversation_id, str(user.id), str(frame["sdp"])):
            return  # a call back still ringing: answered when the caller picks up
        raise Unavailable("The call's line is not answering; it may have just ended.")

    async def reject(self, user: User, conversation_id: str) -> None:
        if not await self.router.reject(conversation_id, str(user.id)):
            raise Conflict("That offer is no longer open.")
        await self.store.offer_outcome(conversation_id, user.id, "rejected")
        await self.to_agent(
            user.id, {"type": "offer.withdrawn", "conversation_id": conversation_id, "reason": "declined"}
        )
        await self.agents.push_state(str(user.id))

    async def agent_message(
        self, user: User, conversation_id: str, client_id: str, text: str, subject: str | None = None
    ) -> None:
        live = await self.assigned_live(user, conversation_id, ("assigned",))
        msg, new = await self.store.add_message(conversation_id, "agent", client_id, text, user.id)
        if live.channel == "email":
            # Into the outbox first, so that the echo carries the subject as mailed and its status. A re-sent
            # reply goes into the outbox if it did not get there the first time (and only then).
            await self.mail_reply(user, conversation_id, client_id, msg.text, subject)
            msg = await self.store.message(conversation_id, "agent", client_id)
        frame = {"type": "message", **msg.frame()}
        if new:
            await self.to_citizen(conversation_id, frame)
        await self.to_agent(user.id, {**frame, "conversation_id": conversation_id})
        if new and live.channel == "sms":
            await self.text_reply(user, conversation_id, client_id, text)

    async def agent_end(self, user: User, conversation_id: str) -> None:
        await self.assigned_live(user, conversation_id, ("assigned",))
        if await self.router.end(conversation_id, str(user.id)) != "OK":
            raise Conflict("That conversation has already ended.")
        await self.store.transition(
            conversation_id,
            "conversation.ended",
            actor=user.id,
            data={"by": "agent"},
            state="wrapup",
            ended_at="now()",
            ended_by="agent",
        )
        await self.to_citizen(conversation_id, chat.ended("agent"))
        await self.to_agent(user.id, {"type": "conversation.ended", "conversation_id": conversation_id, "by": "agent"})

    async def wrapup_done(self, user: User, conversation_id: str, disposition: str, notes: str | None) -> None:
        await self.assigned_live(user, conversation_id, ("wrapup",))
        if not await self.router.release(conversation_id, str(user.id)):
            raise Conflict("That conversation is not in wrap-up.")
        await self.store.transition(
            conversation_id,
            "conversation.closed",
            actor=user.id,
            data={"disposition": disposition},
            state="closed",
            closed_at="now()",
            disposition=disposition,
            notes=notes,
        )
        await self.to_agent(user.id, {"type": "conversation.closed", "conversation_id": conversation_id})
        await self.agents.push_state(str(user.id))

    async def transfer(
        self, user: User, conversation_id: str, queue: str | None, to_agent: int | None, reason: str
    ) -> None:
        """Hand an assigned conversation to a queue, a named agent, or both; the receiver is told who and why."""
        live = await self.assigned_live(user, conversation_id, ("assigned",))
        queue = queue or live.queue
        queue_id = await self.store.queue_id(queue)
        target = await self.agents.staff.user_by_id(to_agent) if to_agent is not None else None
        if to_agent is not None and (target is None or target.id == user.id):
            raise NotFound("There is no other adviser with that id.")
        if not await self.router.transfer(conversation_id, str(user.id), queue, str(to_agent or ""), dispatch=False):
            raise Conflict("That conversation cannot be transferred now.")
        data = {"to_queue": queue, "to_agent": to_agent, "reason": reason, "by": user.name}
        await self.store.transition(
            conversation_id,
            "conversation.transferred",
            actor=user.id,
            data=data,
            state="queued",
            queue_id=queue_id,
            agent_id=None,
        )
        log.info("transferred", extra={"conversation_id": conversation_id, "agent_id": user.id})
        await self.to_agent(
            user.id, {"type": "conversation.closed", "conversation_id": conversation_id, "reason": "transferred"}
        )
        await self.agents.push_state(str(user.id))
        await self.to_citizen(conversation_id, {"type": "chat.transferred", "queue": queue})
        await self.router.routed_on(conversation_id, str(user.id))

    # --- rebuilding Redis from the system of record --------------------------------------------

    async def rebuild(self) -> int:
        """Put every live conversation Redis lost back into it; an offer lost with it goes back to the queue.

        Runs at start-up, when Redis was emptied, and every half minute to mend
        a conversation committed while Redis was briefly unreachable.
        """
        convs = await self.store.live_conversations()
        restored = set(await self.router.restore([self._live(c) for c in convs]))
        for c in convs:
            if c.id in restored:
                log.info("restored to routing", extra={"conversation_id": c.id})
                if c.state == "offered":
                    await self.store.transition(c.id, "routing.rebuilt", state="queued")
        return len(restored)

    def _live(self, conv: Conversation) -> LiveConversation:
        state = "queued" if conv.state in ("queued", "offered") else conv.state
        agent = str(conv.agent_id) if conv.agent_id is not None and state != "queued" else ""
        return LiveConversation(
            conv.id, conv.queue, conv.channel, state, agent, _ms(conv), conv.citizen_name, conv.language, conv.priority
        )


async def _nothing(conv: Conversation) -> None:
    return None


async def _no_text(user: User, conversation_id: str, client_id: str, text: str) -> None:
    return None


async def _refuse(conversation_id: str, agent_id: str, sdp: str) -> bool:
    return False


def _citizen_state(state: str) -> str:
    return {"queued": "queued", "offered": "queued", "assigned": "assigned"}.get(state, "ended")


async def _no_mail(user: User, conversation_id: str, client_id: str, text: str, subject: str | None) -> None:
    return None
