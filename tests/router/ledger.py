"""The system of record as the state-machine tests keep it: live conversations and every offer with its endings.

Fed, as contactd's is, by the router's listener and by what callers get back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from router.model import Contact, Decision
from router.service import Listener, RouterConfig
from router.store import LiveConversation

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms
CONFIG = RouterConfig()
TIMEOUT_MS = int(CONFIG.offer_timeout_s * 1000)


@dataclass
class Conv:
    """A live conversation as the system of record holds it."""

    id: str
    queue: str
    priority: int
    enqueued_ms: int
    state: str = "queued"
    agent: str = ""
    channel: str = "chat"
    reserved_for: str = ""
    """The agent it was transferred to by name, who alone may take it until ``reserved_until_ms``."""
    reserved_until_ms: int = 0

    def row(self) -> list[str]:
        """The ``ROW`` fields of its routing hash."""
        return [self.state, self.agent, self.queue, str(self.priority), str(self.enqueued_ms)]

    def live(self) -> LiveConversation:
        """As contactd restores it after Redis was emptied: an offer lost with Redis waits again."""
        state = "queued" if self.state == "offered" else self.state
        agent = "" if state == "queued" else self.agent
        return LiveConversation(
            self.id, self.queue, self.channel, state, agent, self.enqueued_ms, "Ann", "en", self.priority
        )


@dataclass
class Offer:
    """One offer of a contact to an agent, and how it ended (once, when it has)."""

    conv: str
    agent: str
    deadline_ms: int
    endings: list[str] = field(default_factory=list)


@dataclass
class Desk:
    """An agent's queues (in the order served), chat capacity and last status, as the staff directory holds them."""

    queues: tuple[str, ...]
    chat: int
    status: str


class Ledger(Listener):
    """The system of record: live conversations, and every offer with its endings, as the router told it."""

    def __init__(self, clock: list[int], set_away: Callable[[str], Awaitable[None]]) -> None:
        self.clock = clock
        self.set_away = set_away
        """What contactd does when an agent missed too many offers in a row."""
        self.convs: dict[str, Conv] = {}
        self.offers: list[Offer] = []
        self.open: dict[tuple[str, str], Offer] = {}
        self.errors: list[str] = []

    async def offered(self, contact: Contact, agent_id: str, decision: Decision, expires_in_s: float) -> None:
        conv = self.convs.get(contact.id)
        if conv is None or conv.state in ("assigned", "wrapup"):
            self.errors.append(f"{contact.id} offered to {agent_id} while {conv.state if conv else 'gone'}")
            return
        if conv.reserved_for not in ("", agent_id) and self.clock[0] < conv.reserved_until_ms:
            self.errors.append(f"{contact.id} offered to {agent_id} while reserved for {conv.reserved_for}")
        offer = self.open[contact.id, agent_id] = Offer(contact.id, agent_id, self.clock[0] + int(expires_in_s * 1000))
        self.offers.append(offer)
        conv.state, conv.agent = "offered", agent_id

    async def offer_withdrawn(self, conversation_id: str, agent_id: str, reason: str) -> None:
        self.end_offer(conversation_id, agent_id, "timeout" if reason == "timeout" else "withdrawal")
        conv = self.convs.get(conversation_id)
        if conv is not None and (conv.state, conv.agent) == ("offered", agent_id):
            conv.state, conv.agent = "queued", ""

    async def agent_missed(self, agent_id: str, missed: int) -> None:
        await self.set_away(agent_id)

    async def changed(self, queue: str) -> None:
        pass

    def end_offer(self, conversation_id: str, agent_id: str, ending: str) -> None:
        """Record how the offer of ``conversation_id`` to ``agent_id`` ended (a second ending is kept, to fail)."""
        offer = self.open.pop((conversation_id, agent_id), None)
        earlier = [o for o in self.offers if (o.conv, o.agent) == (conversation_id, agent_id)]
        if offer is None and not earlier:
            self.errors.append(f"{ending} of an offer of {conversation_id} to {agent_id} never made")
            return
        offer = offer or earlier[-1]
        if ending == "timeout" and self.clock[0] < offer.deadline_ms:
            self.errors.append(f"offer of {conversation_id} to {agent_id} timed out before its deadline")
        offer.endings.append(ending)
