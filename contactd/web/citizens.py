"""Citizen records on the JSON API, for supervisors and admins: find one by number or address, see its
timeline, merge two records that are one person, split off conversations that are someone else's.
Merges and splits are audited (``citizen.merged``, ``citizen.split``) and advisers serving the citizen
see their earlier contacts again at once."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from channels.voice.numbers import uk_number
from contactd.errors import Conflict, NotFound
from contactd.web.admin import _json_object
from contactd.web.http import error, services, supervisor

MAX_SPLIT = 500


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:
        return None


async def find(request: Request) -> Response:
    """``?phone=+447700900123`` or ``?email=sian@example.org``: the record that number or address leads to."""
    who = await supervisor(request)
    if isinstance(who, Response):
        return who
    kind = next((k for k in ("phone", "email") if request.query_params.get(k)), None)
    if kind is None:
        return error(400, "Give ?phone= or ?email=.")
    given = request.query_params[kind]
    if kind == "email":
        value = given.strip().lower()
    else:  # an unescaped "+447…" in a query string arrives as " 447…"
        given = "+" + given.strip() if given.startswith(" ") else given
        value = uk_number(given) or given.replace(" ", "")
    record = await services(request).citizen_records.find(kind, value[:320])
    return JSONResponse({"citizen": record}) if record else error(404, "No citizen has that number or address.")


async def record(request: Request) -> Response:
    who = await supervisor(request)
    if isinstance(who, Response):
        return who
    cid = _uuid(request.path_params["id"])
    try:
        found = await services(request).citizen_records.record(cid) if cid else None
    except NotFound:
        found = None
    return JSONResponse({"citizen": found}) if found else error(404, "No such citizen.")


async def merge(request: Request) -> Response:
    """``{"from": "<citizen id>", "reason": "..."}``: that record's conversations, numbers and addresses
    join this one; it then points here."""
    svc = services(request)
    who = await supervisor(request)
    if isinstance(who, Response):
        return who
    body = await _json_object(request) or {}
    into, other = _uuid(request.path_params["id"]), _uuid(body.get("from"))
    reason = body.get("reason")
    if into is None or other is None or not (reason is None or (isinstance(reason, str) and len(reason) <= 500)):
        return error(400, 'Send {"from": "<the other citizen id>", "reason": "<why, optional>"}.')
    try:
        merged = await svc.citizen_records.merge(into, other, who.id, reason)
    except NotFound as e:
        return error(404, str(e))
    except Conflict as e:
        return error(409, str(e))
    await svc.conversations.timeline_changed(into)
    return JSONResponse({"citizen": await svc.citizen_records.record(into), "moved": merged.conversations})


async def split(request: Request) -> Response:
    """``{"conversations": [...], "phones": [...], "emails": [...]}``: those conversations (and numbers and
    addresses) are someone else's; they go to a new record."""
    svc = services(request)
    who = await supervisor(request)
    if isinstance(who, Response):
        return who
    body = await _json_object(request) or {}
    cid = _uuid(request.path_params["id"])
    convs = [_uuid(c) for c in body.get("conversations", [])] if isinstance(body.get("conversations"), list) else []
    ids = [(k, v) for k in ("phone", "email") for v in body.get(k + "s", []) if isinstance(v, str)]
    lists_ok = all(isinstance(body.get(k, []), list) for k in ("phones", "emails"))
    if cid is None or not convs or None in convs or len(convs) > MAX_SPLIT or not lists_ok:
        return error(400, 'Send {"conversations": ["<id>", ...], "phones": [...], "emails": [...]}.')
    try:
        new = await svc.citizen_records.split(cid, [c for c in convs if c], ids, who.id)
    except NotFound as e:
        return error(404, str(e))
    except Conflict as e:
        return error(409, str(e))
    await svc.conversations.timeline_changed(cid)
    await svc.conversations.timeline_changed(new)
    return JSONResponse({"citizen": await svc.citizen_records.record(new)})
