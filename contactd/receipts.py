"""Routing receipts: why a citizen waited, and why this agent (pure: rows in, report out)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

ROUTING_EVENTS = (
    "conversation.arrived",
    "routing.offered",
    "routing.waiting",
    "routing.rebuilt",
    "routing.escalated",
    "conversation.outside_hours",
    "conversation.transferred",
    "offer.accepted",
    "offer.rejected",
    "offer.timeout",
    "offer.withdrawn",
    "conversation.abandoned",
    "conversation.ended",
)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


def _agent(agent_id: Any, names: Mapping[int, str]) -> dict[str, Any] | None:
    if agent_id in (None, ""):
        return None
    return {"id": int(agent_id), "name": names.get(int(agent_id), "unknown")}


def decision(event: Mapping[str, Any], offer: Mapping[str, Any] | None, names: Mapping[int, str]) -> dict[str, Any]:
    """One routing decision: the rule, who was ranked, who was skipped and why, and how the offer ended."""
    data = event["data"]
    report = {
        "at": _iso(event["at"]),
        "kind": "offered" if event["type"] == "routing.offered" else "waiting",
        "queue": data.get("queue"),
        "priority": data.get("priority"),
        "rule": data.get("rule"),
        "step": data.get("step", 0),
        "chosen": _agent(data.get("chosen"), names),
        "ranked": [_agent(a, names) for a in data.get("ranked", [])],
        "eligible": data.get("eligible", len(data.get("ranked", []))),
        "skipped": [{**(_agent(s["agent_id"], names) or {}), "reason": s["reason"]} for s in data.get("skipped", [])],
        "unlisted": data.get("unlisted", 0),
        "outcome": offer["outcome"] if offer else None,
        "decided_at": _iso(offer["decided_at"]) if offer else None,
    }
    return {**report, "summary": summary(report)}


def summary(d: Mapping[str, Any]) -> str:
    """One sentence a supervisor can read out: what was decided and why.

    A receipt names the first few eligible agents and the first few not free
    (with the reason); the others are counted.
    """
    skipped = f"; {len(d['skipped'])} passed over (reasons listed)" if d["skipped"] else ""
    more = d.get("unlisted", 0)
    busy = f"; {more} more not free" if more and d["kind"] == "waiting" else f"; {more} not free" if more else ""
    if d["kind"] == "waiting":
        if not d["skipped"] and not more:
            return f"Waited: nobody serving {d['queue']} was signed in."
        return f"Waited: no agent serving {d['queue']} could take it{skipped}{busy}."
    chosen = d["chosen"]["name"] if d["chosen"] else "an agent"
    eligible = d.get("eligible", len(d["ranked"]))
    return f"Offered to {chosen} by the {d['rule']} rule, first of {eligible} eligible{skipped}{busy}."


def routing_report(
    conversation: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    offers: Sequence[Mapping[str, Any]],
    names: Mapping[int, str],
) -> dict[str, Any]:
    """The routing receipt of a conversation, from its audit events and offers (both oldest first).

    The n-th ``routing.offered`` event made the n-th offer, so each decision is
    shown with the outcome of the offer it made.
    """
    decisions = []
    offered = iter(offers)
    for event in events:
        if event["type"] == "routing.offered":
            decisions.append(decision(event, next(offered, None), names))
        elif event["type"] == "routing.waiting":
            decisions.append(decision(event, None, names))
    queued_at, assigned_at = conversation["queued_at"], conversation.get("assigned_at")
    return {
        **{k: conversation[k] for k in ("id", "channel", "queue", "state")},
        "queued_at": _iso(queued_at),
        "assigned_at": _iso(assigned_at),
        "waited_s": round((assigned_at - queued_at).total_seconds(), 1) if assigned_at else None,
        "decisions": decisions,
        "timeline": [
            {"at": _iso(e["at"]), "type": e["type"], "agent": _agent(e.get("agent_id"), names), "data": e["data"]}
            for e in events
            if e["type"] in ROUTING_EVENTS
        ],
    }
