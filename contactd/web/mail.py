"""Mail on the JSON API: a citizen's attachments for the staff who may see them, and the department's
addresses (which queue each leads to, and its acknowledgement) for admins."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from contactd.auth import current_user
from contactd.web.admin import _admin, _json_object
from contactd.web.http import error, services

MAX_ACK = 4000


async def attachment(request: Request) -> Response:
    """A citizen's file, as a download (never shown inline): its adviser, advisers now serving the same
    citizen, supervisors and admins; anyone else is told there is no such file."""
    svc = services(request)
    user = await current_user(request, svc.staff)
    if user is None:
        return error(401, "Not signed in.")
    raw = request.path_params["id"]
    row = await svc.mail.attachment(int(raw)) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None
    if row is None or (user.role == "agent" and user.id not in row["advisers"]):
        return error(404, "No such file.")
    await svc.store.event(
        "attachment.opened", conversation_id=row["conversation_id"], agent_id=user.id, data={"attachment": int(raw)}
    )
    name = row["filename"]
    return Response(
        bytes(row["data"]),
        media_type=row["content_type"],
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, no-store",
        },
    )


async def mailboxes(request: Request) -> Response:
    """The department's addresses (admin)."""
    if (refused := await _admin(request)) is not None:
        return refused
    return JSONResponse({"mailboxes": await services(request).mail.mailboxes()})


async def put_mailbox(request: Request) -> Response:
    """Take mail for an address into a queue (admin), with its acknowledgement:
    ``{"queue": "benefits", "acknowledgement": {"en": "...{reference}...", "cy": "..."}}``; a language left out
    keeps the built-in text, an empty text sends none in that language."""
    svc = services(request)
    if (refused := await _admin(request)) is not None:
        return refused
    address = request.path_params["address"].strip().lower()
    local, _, domain = address.partition("@")
    if not local or "." not in domain or len(address) > 254 or any(c.isspace() or c in "<>," for c in address):
        return error(400, "The address must be one mail address, like benefits@council.gov.uk.")
    body = await _json_object(request) or {}
    ack = body.get("acknowledgement", {})
    if not isinstance(body.get("queue"), str) or not isinstance(ack, dict):
        return error(400, 'Send {"queue": "<queue>", "acknowledgement": {"en": "...", "cy": "..."}}.')
    texts = {lang: ack.get(lang) for lang in ("en", "cy")}
    if set(ack) - {"en", "cy"} or not all(
        t is None or (isinstance(t, str) and len(t) <= MAX_ACK) for t in texts.values()
    ):
        return error(400, f"Each acknowledgement (en, cy) is a text of at most {MAX_ACK} characters.")
    if not await svc.mail.set_mailbox(address, body["queue"], texts["en"], texts["cy"]):
        return error(404, "No such queue.")
    user = await current_user(request, svc.staff)
    change = {"address": address, "queue": body["queue"], "acknowledgement": texts}
    await svc.store.event("mailbox.changed", data={**change, "by": user.id if user else None})
    return JSONResponse(change)


async def delete_mailbox(request: Request) -> Response:
    """Take no more mail for an address (admin): mail to it gets 550 from now; what came is kept."""
    svc = services(request)
    if (refused := await _admin(request)) is not None:
        return refused
    address = request.path_params["address"].strip().lower()
    if not await svc.mail.remove_mailbox(address):
        return error(404, "No such address.")
    user = await current_user(request, svc.staff)
    await svc.store.event("mailbox.removed", data={"address": address, "by": user.id if user else None})
    return Response(status_code=204)
