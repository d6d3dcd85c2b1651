"""Placing a call back through Twilio's REST API (https://www.twilio.com/docs/voice/api/call-resource).

``CONTACTD_TWILIO_API_URL`` sets the base (tests point it at a local stand-in). When the caller
answers, Twilio fetches ``Url`` (our signed menu path, step ``callback``), which hands the call's
audio to the media stream like an incoming call.
"""

from __future__ import annotations

import httpx

from contactd.errors import Unavailable


class Dialer:
    """Outbound calls for one Twilio account."""

    def __init__(self, api_url: str, account_sid: str, auth_token: str, public_url: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.public_url = public_url.rstrip("/")

    async def call_back(self, conversation_id: str, to: str, from_: str) -> str:
        """Ring ``to`` from ``from_`` for the conversation; the new call's CallSid. Unavailable if Twilio refuses."""
        if not (self.account_sid and self.auth_token and from_):
            raise Unavailable("Calls back need a Twilio account and the number the caller dialled.")
        form = {
            "To": to,
            "From": from_,
            "Url": f"{self.public_url}/twilio/voice?step=callback&conversation={conversation_id}",
            "Method": "POST",
            "StatusCallback": f"{self.public_url}/twilio/voice/status",
            "StatusCallbackMethod": "POST",
        }
        url = f"{self.api_url}/2010-04-01/Accounts/{self.account_sid}/Calls.json"
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                r = await client.post(url, data=form, auth=(self.account_sid, self.auth_token))
        except httpx.HTTPError as e:
            raise Unavailable(f"Twilio did not answer: {e}") from e
        if r.status_code not in (200, 201):
            raise Unavailable(f"Twilio refused the call back ({r.status_code}).")
        sid = r.json().get("sid")
        if not isinstance(sid, str) or not sid.startswith("CA"):
            raise Unavailable("Twilio's answer named no call.")
        return sid
