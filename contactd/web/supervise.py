"""Supervisor actions on the JSON API (supervisors and admins), each audited with who did it: set an
adviser away, offline or available; move a waiting contact to another queue or change its priority; and
the list of who waits in a queue, in the order they will be served."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from contactd.errors import NotFound
from contactd.web.admin import _adviser, _json_object
from contactd.web.http import error, services, supervisor

STATUSES = ("available", "away", "offline")


async def agent_status(request: Request) -> Response:
    """``{"status": "away" | "offline" | "available", "reason"?}``: away or offline withdraws the adviser's
    offers at once; available only while they have the console open (409 otherwise)."""
    svc = services(request)
    if isinstance(who := await supervisor(request), Response):
        return who
    body = await _json_object(request) or {}
    status, reason = body.get("status"), body.get("reason", "")
    if status not in STATUSES or not isinstance(reason, str) or len(reason) > 80:
        return error(400, 'Send {"status": "available" | "away" | "offline", "reason": "<at most 80 characters>"}.')
    agent = await _adviser(request)
    if agent is None:
        return error(404, "No such adviser.")
    if not await svc.agents.set_by_supervisor(who, agent, status, reason.strip()):
        return error(409, "That adviser has no console open: only they can make themselves available.")
    return JSONResponse({"agent": agent.public(), "status": status})


async def steer(request: Request) -> Response:
    """``{"queue"?: "<queue>", "priority"?: 0-999}``: a waiting contact goes to that queue and/or priority,
    keeping its arrival time; 409 once it is being offered or answered."""
    svc = services(request)
    if isinstance(who := await supervisor(request), Response):
        return who
    body = await _json_object(request) or {}
    queue, priority = body.get("queue"), body.get("priority")
    if (queue is None and priority is None) or (queue is not None and queue not in svc.queue_names):
        return error(400, 'Send {"queue": "<an open queue>"} and/or {"priority": <0-999>}.')
    if priority is not None and (
        not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 999
    ):
        return error(400, "priority must be a whole number from 0 to 999.")
    try:
        conv = await svc.store.conversation(request.path_params["id"])
    except NotFound:
        return error(404, "No such conversation.")
    was = await svc.router.steer(conv.id, queue, priority)
    if was is None:
        return error(409, "That contact is no longer waiting: an adviser is being offered it or has it.")
    to = queue or was
    changes = {"priority": priority} if priority is not None else {}
    data = {"by": who.id, "from": was, "to": to, "priority": priority}
    await svc.store.transition(
        conv.id, "conversation.steered", data=data, queue_id=await svc.store.queue_id(to), **changes
    )
    if to != was:
        await svc.conversations.to_citizen(conv.id, {"type": "chat.transferred", "queue": to})
    await svc.router.dispatch_contact(conv.id)
    return JSONResponse({"conversation_id": conv.id, "queue": to, "priority": priority})


MAX_LISTED = 200


async def waiting(request: Request) -> Response:
    """``GET /api/queues/{name}/waiting?limit=50``: the contacts waiting in a queue, first served first."""
    svc = services(request)
    if isinstance(who := await supervisor(request), Response):
        return who
    name = request.path_params["name"]
    if name not in svc.queue_names:
        return error(404, "No such queue.")
    raw = request.query_params.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LISTED:
        return error(400, f"limit must be a whole number from 1 to {MAX_LISTED}.")
    total, contacts = await svc.router_store.waiting_list(name, int(raw))
    now_ms = time.time() * 1000
    return JSONResponse(
        {
            "queue": name,
            "total": total,
            "contacts": [
                {
                    "conversation_id": c.id,
                    "channel": c.channel,
                    "name": c.name,
                    "language": c.language,
                    "priority": c.priority,
                    "step": c.step,
                    "waited_s": max(0, round((now_ms - c.enqueued_ms) / 1000)),
                    "position": n,
                }
                for n, c in enumerate(contacts, start=1)
            ],
        }
    )
