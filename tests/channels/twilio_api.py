"""Twilio's REST API as far as contactd uses it, served locally (``CONTACTD_TWILIO_API_URL``):
placing calls (``Calls.json``) and sending texts (``Messages.json``), with basic auth checked."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from contactd.embedded import free_port
from tests.conftest import LiveServer, make_settings

SID = "AC" + "1" * 32
TOKEN = "twilio-api-test-token"
NUMBER = "+441632960099"


class TwilioApi:
    """Records what contactd asked Twilio to do, and gives each call or text its sid."""

    def __init__(self) -> None:
        self.port = free_port()
        self.placed: list[dict[str, Any]] = []
        self.texts: list[dict[str, Any]] = []
        routes = [
            Route("/2010-04-01/Accounts/{sid}/Calls.json", self.calls, methods=["POST"]),
            Route("/2010-04-01/Accounts/{sid}/Messages.json", self.messages, methods=["POST"]),
        ]
        config = uvicorn.Config(Starlette(routes=routes), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)

    def _authorised(self, request: Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        return request.path_params["sid"] == SID and request.headers.get("authorization") == expected

    async def calls(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return JSONResponse({"message": "Authenticate"}, status_code=401)
        sid = "CA" + secrets.token_hex(16)
        self.placed.append({**dict(await request.form()), "Sid": sid})
        return JSONResponse({"sid": sid, "status": "queued"}, status_code=201)

    async def messages(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return JSONResponse({"message": "Authenticate"}, status_code=401)
        sid = "SM" + secrets.token_hex(16)
        self.texts.append({**dict(await request.form()), "Sid": sid})
        return JSONResponse({"sid": sid, "status": "queued"}, status_code=201)


@pytest.fixture
async def api() -> AsyncIterator[TwilioApi]:
    api = TwilioApi()
    task = asyncio.create_task(api.server.serve())
    while not api.server.started:
        await asyncio.sleep(0.02)
    yield api
    api.server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.fixture
async def server(
    server_urls: tuple[str, str], department: str, tmp_path: Path, api: TwilioApi
) -> AsyncIterator[LiveServer]:
    """contactd with Twilio's API at the stand-in."""
    settings = make_settings(
        server_urls,
        department,
        tmp_path,
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
        twilio_api_url=f"http://127.0.0.1:{api.port}",
        twilio_number=NUMBER,
    )
    live = await LiveServer(settings).start()
    live.services.lines.first_announcement_s = 0.2
    yield live
    await live.stop()
