"""Who may do what: sessions, Origins, roles."""

from __future__ import annotations

import httpx
import pytest
import websockets

from tests.conftest import LiveServer
from tests.helpers import PASSWORD, Client, login, typed


async def test_login_sets_an_httponly_samesite_session_cookie(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base) as c:
        r = await c.post("/api/login", json={"username": "agent1", "password": PASSWORD})
        assert r.status_code == 200
        assert r.json() == {"user": {"id": r.json()["user"]["id"], "name": "Alex Morgan", "role": "agent"}}
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        me = await c.get("/api/me")
        assert me.status_code == 200 and me.json()["user"]["name"] == "Alex Morgan"
        assert "resolved" in me.json()["dispositions"]
        assert (await c.post("/api/logout")).status_code == 200
        assert (await c.get("/api/me")).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"username": "agent1", "password": "wrong"},
        {"username": "nobody", "password": PASSWORD},
        {"username": "agent1", "password": "x" * 500},
    ],
)
async def test_wrong_credentials_get_401_without_saying_which_part(server: LiveServer, body: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=server.base) as c:
        r = await c.post("/api/login", json=body)
    assert r.status_code == 401 and r.json() == {"error": "Wrong username or password."}
    assert "set-cookie" not in r.headers


@pytest.mark.parametrize("body", ["not json", "[]", '{"username": 5, "password": "x"}'])
async def test_a_malformed_login_gets_400(server: LiveServer, body: str) -> None:
    async with httpx.AsyncClient(base_url=server.base) as c:
        r = await c.post("/api/login", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400


async def _refused(url: str, cookie: str | None, origin: str) -> int:
    """The HTTP status the upgrade was refused with."""
    with pytest.raises(websockets.InvalidStatus) as e:
        await Client.connect(url, cookie, origin)
    return e.value.response.status_code


async def test_agent_socket_needs_a_session_and_our_origin(server: LiveServer) -> None:
    assert await _refused(server.ws("/ws/agent"), None, server.base) == 403
    assert await _refused(server.ws("/ws/agent"), "contactd_session=forged", server.base) == 403
    cookie = await login(server.base, "agent1")
    assert await _refused(server.ws("/ws/agent"), cookie, "https://evil.example") == 403
    ok = await Client.connect(server.ws("/ws/agent"), cookie, server.base)
    assert (await ok.expect(typed("agent.state")))["status"] == "offline"


async def test_board_is_for_supervisors_and_admins(server: LiveServer) -> None:
    assert await _refused(server.ws("/ws/board"), await login(server.base, "agent2"), server.base) == 403
    for user in ("supervisor", "admin"):
        board = await Client.connect(server.ws("/ws/board"), await login(server.base, user), server.base)
        assert (await board.expect(typed("board.snapshot")))["queues"]


async def test_conversation_api_for_supervisors_and_the_assigned_agent_only(server: LiveServer) -> None:
    agent = await server.agent("agent1")
    _, queued = await server.citizen()
    cid = queued["conversation_id"]
    await agent.expect(typed("offer", conversation_id=cid))
    await agent.send({"type": "offer.accept", "conversation_id": cid})
    await agent.expect(typed("conversation.assigned"))
    async with httpx.AsyncClient(base_url=server.base) as c:
        assert (await c.get(f"/api/conversations/{cid}")).status_code == 401
        for user, status in (("agent1", 200), ("agent2", 404), ("supervisor", 200), ("admin", 200)):
            r = await c.get(f"/api/conversations/{cid}", headers={"Cookie": await login(server.base, user)})
            assert r.status_code == status, user
        body = r.json()
        assert body["state"] == "assigned" and body["queue"] == "general"
        assert [e["type"] for e in body["events"]] == [
            "conversation.arrived",
            "routing.offered",
            "offer.accepted",
        ]
        receipt = body["events"][1]["data"]
        assert receipt["rule"] == "longest-idle" and receipt["chosen"] == str(body["agent_id"])
        sup = {"Cookie": await login(server.base, "supervisor")}
        assert (await c.get("/api/conversations/not-a-uuid", headers=sup)).status_code == 404
        assert (await c.get("/api/conversations/00000000-0000-0000-0000-000000000000", headers=sup)).status_code == 404


async def test_staff_can_list_advisers_for_a_transfer(server: LiveServer) -> None:
    await server.agent("agent2")
    async with httpx.AsyncClient(base_url=server.base) as c:
        assert (await c.get("/api/agents")).status_code == 401
        r = await c.get("/api/agents", headers={"Cookie": await login(server.base, "agent1")})
    assert r.status_code == 200
    assert {(a["name"], a["status"]) for a in r.json()["agents"]} == {
        ("Alex Morgan", "offline"),
        ("Bethan Jones", "available"),
        ("Chris Patel", "offline"),
    }
