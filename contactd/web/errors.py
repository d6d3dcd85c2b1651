"""One place that turns contactd errors into HTTP statuses and WebSocket error codes (STYLE 10)."""

from __future__ import annotations

from contactd.errors import Conflict, ContactdError, Forbidden, NotFound, Unavailable

STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, Unavailable: 503}
CODES = {NotFound: "not_found", Forbidden: "not_yours", Conflict: "conflict", Unavailable: "unavailable"}


def status_of(error: ContactdError) -> int:
    return next((s for kind, s in STATUS.items() if isinstance(error, kind)), 400)


def code_of(error: ContactdError) -> str:
    return next((c for kind, c in CODES.items() if isinstance(error, kind)), "bad_request")
