"""Sending a text through Twilio's REST API (https://www.twilio.com/docs/messaging/api/message-resource);
``CONTACTD_TWILIO_API_URL`` sets the base (tests point it at a local stand-in)."""

from __future__ import annotations

import httpx

from contactd.errors import Unavailable


async def send_text(api_url: str, account: str, token: str, *, to: str, from_: str, body: str, status_url: str) -> str:
    """Send ``body`` to ``to``; the message's MessageSid. Unavailable if Twilio refuses or does not answer."""
    if not (account and token and from_):
        raise Unavailable("Texts need a Twilio account and number (CONTACTD_TWILIO_NUMBER).")
    url = f"{api_url.rstrip('/')}/2010-04-01/Accounts/{account}/Messages.json"
    form = {"To": to, "From": from_, "Body": body, "StatusCallback": status_url}
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.post(url, data=form, auth=(account, token))
    except httpx.HTTPError as e:
        raise Unavailable(f"Twilio did not answer: {e}") from e
    sid = r.json().get("sid") if r.status_code in (200, 201) else None
    if not isinstance(sid, str):
        raise Unavailable(f"Twilio refused the text ({r.status_code}).")
    return sid
