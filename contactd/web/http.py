"""The JSON API and the operational endpoints (the admin API for routing settings: ``admin``)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from contactd.auth import COOKIE, authenticate, current_user, set_session_cookie
from contactd.console_protocol import DISPOSITIONS
from contactd.errors import NotFound
from contactd.metrics import CONTENT_TYPE_LATEST
from contactd.receipts import routing_report
from contactd.records import Conversation
from contactd.staff import User
from contactd.web.openapi import OPENAPI


def services(request: Request) -> Any:
    return request.app.state.services


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def supervisor(request: Request) -> User | Response:
    """The signed-in supervisor or admin, else the response that refuses the caller (401, 403)."""
    user = await current_user(request, services(request).staff)
    if user is None:
        return error(401, "Not signed in.")
    if user.role not in ("supervisor", "admin"):
        return error(403, "Only a supervisor or an admin may do this.")
    return user


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """200 when Redis and PostgreSQL both answer within a second; else 503 naming what failed."""
    svc = services(request)
    failed = []
    try:
        await asyncio.wait_for(svc.redis.ping(), 1.0)
    except Exception:
        failed.append("redis")
    try:
        await asyncio.wait_for(svc.pool.fetchval("SELECT 1"), 1.0)
    except Exception:
        failed.append("postgresql")
    if failed:
        return JSONResponse({"status": "unavailable", "failed": failed}, status_code=503)
    return JSONResponse({"status": "ready"})


async def metrics(request: Request) -> Response:
    svc = services(request)
    with contextlib.suppress(Exception):
        for queue in svc.queue_names:
            svc.metrics.queue_depth.labels(queue).set(await svc.router_store.redis.zcard(svc.keys.queue(queue)))
    return Response(svc.metrics.render(), media_type=CONTENT_TYPE_LATEST)


async def openapi(request: Request) -> Response:
    return JSONResponse(OPENAPI)


async def login(request: Request) -> Response:
    svc = services(request)
    try:
        body = await request.json()
    except ValueError:
        return error(400, 'Send JSON: {"username": ..., "password": ...}')
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("username"), str)
        or not isinstance(body.get("password"), str)
    ):
        return error(400, 'Send JSON: {"username": ..., "password": ...}')
    if len(body["username"]) > 100 or len(body["password"]) > 200:
        return error(401, "Wrong username or password.")
    user = await authenticate(svc.staff, svc.passwords, body["username"], body["password"])
    if user is None:
        await svc.store.event("auth.failed", data={"username": body["username"][:100]})
        return error(401, "Wrong username or password.")
    token = await svc.staff.create_session(user.id)
    await svc.store.event("auth.login", agent_id=user.id)
    response = JSONResponse({"user": user.public()})
    set_session_cookie(response, token, svc.settings)
    return response


async def logout(request: Request) -> Response:
    svc = services(request)
    token = request.cookies.get(COOKIE)
    if token:
        await svc.staff.end_session(token)
    response = JSONResponse({"ok": True})
    response.delete_cookie(COOKIE, path="/")
    return response


async def me(request: Request) -> Response:
    svc = services(request)
    user = await current_user(request, svc.staff)
    if user is None:
        return error(401, "Not signed in.")
    return JSONResponse({"user": user.public(), "dispositions": list(DISPOSITIONS)})


async def agents(request: Request) -> Response:
    """Advisers and their status, for staff choosing whom to transfer a conversation to."""
    svc = services(request)
    if await current_user(request, svc.staff) is None:
        return error(401, "Not signed in.")
    people = await svc.staff.agent_users()
    live = await svc.router_store.agent_names([str(p["id"]) for p in people])
    return JSONResponse(
        {"agents": [{"id": p["id"], "name": p["display_name"], "status": live[str(p["id"])][1]} for p in people]}
    )


async def queues(request: Request) -> Response:
    """The topics a citizen may choose, and whether each is open now (with when it next opens)."""
    svc = services(request)
    out = []
    for q in await svc.store.queues():
        opens_at = svc.conversations.opens_at(q["name"])
        out.append(
            {
                **q,
                "open": opens_at is None,
                "opens_at": opens_at.isoformat() if opens_at and opens_at.year < 9999 else None,
            }
        )
    return JSONResponse({"queues": out})


async def _visible(request: Request) -> Conversation | Response:
    """The conversation in the path if the signed-in user may see it: supervisors, admins, its adviser, and
    an adviser serving the same citizen now (it is in the earlier contacts they see)."""
    svc = services(request)
    user = await current_user(request, svc.staff)
    if user is None:
        return error(401, "Not signed in.")
    try:
        conv: Conversation = await svc.store.conversation(request.path_params["id"])
    except NotFound:
        return error(404, "No such conversation.")
    if user.role == "agent" and conv.agent_id != user.id and not await svc.store.serves_citizen_of(user.id, conv.id):
        return error(404, "No such conversation.")
    return conv


async def routing(request: Request) -> Response:
    """The routing receipt: every decision, who was ranked and skipped and why, and how each offer ended."""
    conv = await _visible(request)
    if isinstance(conv, Response):
        return conv
    return JSONResponse(routing_report(*await services(request).store.routing_rows(conv.id)))


async def conversation(request: Request) -> Response:
    """A conversation with its transcript and events: supervisors, admins, or the agent it was assigned to."""
    svc = services(request)
    conv = await _visible(request)
    if isinstance(conv, Response):
        return conv
    return JSONResponse(
        {
            "id": conv.id,
            "channel": conv.channel,
            "queue": conv.queue,
            "state": conv.state,
            "citizen": {"name": conv.citizen_name, "language": conv.language},
            "agent_id": conv.agent_id,
            "queued_at": conv.queued_at.isoformat(),
            "transcript": [m.frame() for m in await svc.store.transcript(conv.id)],
            "events": await svc.store.events(conv.id),
        }
    )
