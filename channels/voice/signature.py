"""Twilio request signatures (https://www.twilio.com/docs/usage/webhooks/webhooks-security).

Twilio signs the full URL it requested (``CONTACTD_PUBLIC_URL`` + path + query) and, for a form
POST, the posted parameters; a Media Streams WebSocket upgrade is signed over its ``wss://`` URL
with no parameters. A request without a valid ``X-Twilio-Signature`` changes nothing (403).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from twilio.request_validator import RequestValidator

HEADER = "x-twilio-signature"
FORBIDDEN = PlainTextResponse("Forbidden: this request is not signed by Twilio.", status_code=403)


def signed_url(public_url: str, path: str, query: str = "", websocket: bool = False) -> str:
    """The URL Twilio signs for a request to ``path`` on this deployment."""
    base = public_url.rstrip("/")
    if websocket:
        scheme = "wss" if urlsplit(base).scheme == "https" else "ws"
        base = scheme + base[base.index(":") :]
    return base + path + (f"?{query}" if query else "")


def valid(auth_token: str, url: str, params: Mapping[str, str], signature: str | None) -> bool:
    """Is ``signature`` Twilio's for ``url`` and ``params``? Never, without an auth token configured."""
    if not auth_token or not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


async def signed_form(request: Request, settings: Any) -> dict[str, str] | None:
    """A webhook's posted form if Twilio signed this request (over the public URL), else None."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    url = signed_url(settings.public_url, request.url.path, request.url.query)
    return form if valid(settings.twilio_auth_token, url, form, request.headers.get(HEADER)) else None
