"""The admin API for routing settings: advisers' skills and routing profiles, queue settings and hours,
holidays. Every change is validated whole before anything is written, audited, and picked up by routing:
an adviser's profile at their next offer, queue settings on every node as soon as it hears of the change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from contactd.auth import current_user
from contactd.queue_settings import HoursChange, PreviousAgent, parse_holidays
from contactd.staff import RoutingChange, User
from contactd.web.http import error, services
from router.escalation import parse_steps
from router.model import CHANNELS
from router.policy import STRATEGIES

T = TypeVar("T")

ROLES = ("agent", "supervisor", "admin")
MAX_ID = 2**63 - 1  # user ids are bigint


async def _refused(request: Request, roles: tuple[str, ...], why: str) -> Response | None:
    """None if the caller is signed in with one of ``roles``, else the response that refuses them."""
    user = await current_user(request, services(request).staff)
    if user is None:
        return error(401, "Not signed in.")
    return None if user.role in roles else error(403, why)


async def _admin(request: Request) -> Response | None:
    """None if the caller is a signed-in admin, else the response that refuses them."""
    return await _refused(request, ("admin",), "Only an admin may change this.")


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def _adviser(request: Request) -> User | None:
    """The active adviser (role agent) the path's ``id`` names, or None."""
    raw = request.path_params["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > MAX_ID:
        return None
    user: User | None = await services(request).staff.user_by_id(int(raw))
    return user if user is not None and user.role == "agent" else None


# --- advisers ---------------------------------------------------------------------------------


async def agent_skills(request: Request) -> Response:
    """Replace an adviser's skills (admin): ``{"skills": {"benefits": 3, ...}}``; their next offer uses them."""
    svc = services(request)
    if (refused := await _admin(request)) is not None:
        return refused
    body = await _json_object(request)
    skills = body.get("skills") if body else None
    if not isinstance(skills, dict) or not all(
        isinstance(k, str) and 0 < len(k) <= 40 and isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 5
        for k, v in skills.items()
    ):
        return error(400, 'Send {"skills": {"<skill>": <level 1-5>, ...}}.')
    agent = await _adviser(request)
    if agent is None:
        return error(404, "No such adviser.")
    await svc.staff.set_skills(agent.id, skills)
    await svc.store.event("agent.skills", agent_id=agent.id, data={"skills": skills})
    await svc.agents.refresh_profile(agent)
    return JSONResponse({"skills": skills})


async def routing_profile(svc: Any, agent: User) -> dict[str, Any]:
    """An adviser's routing profile as routing takes it now (the deployment's default capacity filled in),
    with the settings behind it: their capacity overrides and their queue order as set."""
    profile = await svc.staff.agent_profile(agent.id)
    routing = profile.routing(svc.agents.default_capacity)
    return {
        "agent": agent.public(),
        "queues": list(routing.queues),
        "levels": dict(routing.levels),
        "capacity": {ch: routing.capacity.get(ch, 0) for ch in CHANNELS},
        "voice_exclusive": routing.voice_exclusive,
        "capacity_overrides": dict(profile.capacity),
        "queue_order": await svc.staff.queue_order(agent.id),
        "short_of": dict(routing.short_of),
    }


async def agent_routing(request: Request) -> Response:
    """An adviser's routing profile (supervisors and admins)."""
    refused = await _refused(request, ("supervisor", "admin"), "Only supervisors and admins may see this.")
    if refused is not None:
        return refused
    agent = await _adviser(request)
    if agent is None:
        return error(404, "No such adviser.")
    return JSONResponse(await routing_profile(services(request), agent))


async def set_agent_routing(request: Request) -> Response:
    """Change an adviser's routing settings (admin): ``{"capacity": {"chat": 2, ...}, "voice_exclusive": false,
    "queue_order": ["benefits", ...]}``, any of them; nothing changes unless all are valid. Their next offer
    uses them; the answer is their profile as routing now takes it."""
    svc = services(request)
    if (refused := await _admin(request)) is not None:
        return refused
    agent = await _adviser(request)
    if agent is None:
        return error(404, "No such adviser.")
    try:
        change = RoutingChange.parse(await _json_object(request))
    except ValueError as e:
        return error(400, str(e))
    active = {q["name"] for q in await svc.store.queues()}
    if unknown := [q for q in change.queue_order or () if q not in active]:
        return error(400, f"queue_order: no active queue {', '.join(repr(q[:40]) for q in unknown[:10])}.")
    await svc.staff.set_routing(agent.id, change)
    await svc.agents.refresh_profile(agent)
    await svc.store.event("agent.routing", agent_id=agent.id, data=change.public())
    return JSONResponse(await routing_profile(svc, agent))


# --- queues -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueChange:
    """A change to a queue's settings (PATCH /api/queues/{name}); None leaves that setting as it is."""

    strategy: str | None = None
    """Agent selection strategy."""
    escalation: list[dict[str, Any]] | None = None
    """Escalation steps, replacing the queue's (as given, checked by ``parse_steps``)."""
    previous_agent: PreviousAgent | None = None
    """Rule for returning citizens."""
    hours: HoursChange | None = None
    """Opening hours."""
    recording_days: int | None = None
    """Days call recordings are kept (0: calls are not recorded)."""
    service_level_s: dict[str, int] | None = None
    """The queue's own service level thresholds by channel (seconds), replacing those it had."""

    def public(self) -> dict[str, Any]:
        """The settings changed, as the API takes them."""
        rule = self.previous_agent
        out = {
            "strategy": self.strategy,
            "escalation": self.escalation,
            "previous_agent": {"days": rule.days, "wait_s": rule.wait_s} if rule else None,
            "hours": self.hours.public() if self.hours else None,
            "recording": {"days": self.recording_days} if self.recording_days is not None else None,
            "service_level_s": self.service_level_s,
        }
        return {k: v for k, v in out.items() if v is not None}


def _escalation(steps: Any) -> list[dict[str, Any]] | None:
    if steps is None:
        return None
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise ValueError("escalation: send a list of steps, each an object")
    try:
        parse_steps(steps)
    except ValueError as e:
        raise ValueError(f"escalation: {e}") from None
    return steps


def _prefixed(parse: Callable[[Any], T], value: Any, what: str) -> T | None:
    """``parse(value)`` unless value is None; a ValueError names ``what``."""
    try:
        return None if value is None else parse(value)
    except ValueError as e:
        raise ValueError(f"{what}: {e}") from None


def parse_queue_change(body: dict[str, Any]) -> QueueChange:
    """A queue change from a PATCH body; ValueError says what is wrong."""
    strategy = body.get("strategy")
    if all(body.get(k) is None for k in SETTINGS):
        raise ValueError(
            "Send a strategy, escalation steps, a previous_agent rule, hours, recording, service_level_s,"
            " or any of them."
        )
    if strategy is not None and strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}.")
    return QueueChange(
        strategy=strategy,
        escalation=_escalation(body.get("escalation")),
        previous_agent=_prefixed(PreviousAgent.parse, body.get("previous_agent"), "previous_agent"),
        hours=_prefixed(HoursChange.parse, body.get("hours"), "hours"),
        recording_days=_prefixed(_recording, body.get("recording"), "recording"),
        service_level_s=_prefixed(_service_level, body.get("service_level_s"), "service_level_s"),
    )


SETTINGS = ("strategy", "escalation", "previous_agent", "hours", "recording", "service_level_s")
MAX_SERVICE_LEVEL_S = 7 * 24 * 3600


def _service_level(value: Any) -> dict[str, int]:
    """``{"chat": 30, ...}``: seconds within which an answer counts towards the service level, by channel
    (channels left out use the defaults)."""
    if not isinstance(value, dict) or not set(value) <= set(CHANNELS):
        raise ValueError(f"send an object whose keys are channels ({', '.join(CHANNELS)})")
    for channel, seconds in value.items():
        if not isinstance(seconds, int) or isinstance(seconds, bool) or not 1 <= seconds <= MAX_SERVICE_LEVEL_S:
            raise ValueError(f"{channel}: a whole number of seconds from 1 to {MAX_SERVICE_LEVEL_S}")
    return dict(value)


def _recording(value: Any) -> int:
    """``{"days": 0-3650}``: how long call recordings are kept (0: calls to the queue are not recorded)."""
    days = value.get("days") if isinstance(value, dict) and set(value) == {"days"} else None
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 3650:
        raise ValueError('send {"days": 0-3650} (0: calls are not recorded)')
    return days


async def _apply(svc: Any, name: str, change: QueueChange) -> bool:
    """Write ``change`` to the queue; False if there is no such queue (then nothing was written)."""
    settings = svc.queue_settings
    found = await settings.set_queue_strategy(name, change.strategy) if change.strategy else True
    if found and change.escalation is not None:
        found = await settings.set_queue_escalation(name, change.escalation)
    if found and change.previous_agent is not None:
        found = await settings.set_previous_agent(name, change.previous_agent)
    if found and change.hours is not None:
        found = await settings.set_hours(name, change.hours)
    if found and change.recording_days is not None:
        found = await settings.set_recording(name, change.recording_days)
    if found and change.service_level_s is not None:
        found = await settings.set_service_level(name, change.service_level_s)
    return bool(found)


async def queue_settings(request: Request) -> Response:
    """Change how a queue routes and when it is open (admin): ``{"strategy": "round-robin", "escalation": [steps],
    "previous_agent": {"days": 7, "wait_s": 30}, "hours": {...}}``, any of them; nothing changes unless all
    are valid. The answer echoes the change, with the queue's hours as now set when they changed."""
    svc = services(request)
    if (refused := await _admin(request)) is not None:
        return refused
    try:
        change = parse_queue_change(await _json_object(request) or {})
    except ValueError as e:
        return error(400, str(e))
    name = request.path_params["name"]
    if not await _apply(svc, name, change):
        return error(404, "No such queue.")
    changes = change.public()
    await svc.store.event("queue.settings", data={"queue": name, **changes})
    await svc.hub.publish(svc.keys.changed(), {"queue": name, "config": True})
    hours = await svc.queue_settings.hours_of(name) if change.hours is not None else None
    if hours is not None:
        changes["hours"] = hours.public()
    return JSONResponse({"name": name, **changes})


async def queue_hours(request: Request) -> Response:
    """A queue's opening hours as set (any signed-in staff)."""
    if (refused := await _refused(request, ROLES, "Staff only.")) is not None:
        return refused
    name = request.path_params["name"]
    hours = await services(request).queue_settings.hours_of(name)
    if hours is None:
        return error(404, "No such queue.")
    return JSONResponse({"name": name, **hours.public()})


async def holidays(request: Request) -> Response:
    """Add (or rename) closure days (admin): ``{"days": [{"date": "2026-12-25", "name": "Christmas Day"}]}``;
    every queue that observes holidays is closed on them."""
    svc = services(request)
    if (refused := await _admin(request)) is not None:
        return refused
    try:
        days = parse_holidays(await _json_object(request))
    except ValueError as e:
        return error(400, str(e))
    count = await svc.queue_settings.import_holidays(days)
    listed = [{"date": day.isoformat(), "name": name} for day, name in days]
    await svc.store.event("holidays.imported", data={"days": listed})
    await svc.hub.publish(svc.keys.changed(), {"queue": "", "config": True})
    return JSONResponse({"imported": count, "days": listed})
