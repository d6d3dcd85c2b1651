"""What an operator relies on: health, readiness, metrics, the API description, logs, headers."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import httpx
import pytest

from contactd.embedded import EmbeddedPostgres, EmbeddedRedis
from tests.conftest import LiveServer, make_settings
from tests.helpers import typed


async def test_health_metrics_and_openapi(server: LiveServer) -> None:
    agent = await server.agent("agent1")
    _citizen, queued = await server.citizen()
    await agent.expect(typed("offer"))
    await agent.send({"type": "offer.accept", "conversation_id": queued["conversation_id"]})
    await agent.expect(typed("conversation.assigned"))
    async with httpx.AsyncClient(base_url=server.base) as c:
        assert (await c.get("/healthz")).status_code == 200
        ready = await c.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}
        metrics = (await c.get("/metrics")).text
        for line in (
            'contactd_websocket_connections{endpoint="agent"} 1.0',
            'contactd_websocket_connections{endpoint="chat"} 1.0',
            "contactd_offers_total 1.0",
            "contactd_offer_accepts_total 1.0",
            'contactd_queue_waiting{queue="general"} 0.0',
            "contactd_offer_timeouts_total 0.0",
        ):
            assert line in metrics, line
        doc = (await c.get("/openapi.json")).json()
        assert doc["openapi"].startswith("3.") and "/api/login" in doc["paths"]
        assert "/api/conversations/{id}" in doc["paths"]


async def test_pages_are_served_with_security_headers(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base) as c:
        console = await c.get("/console/")
        chat = await c.get("/chat/")
        assert (await c.get("/chat/widget.js")).status_code == 200
    assert console.status_code == 200 and "<html" in console.text.lower()
    assert "frame-ancestors 'none'" in console.headers["content-security-policy"]
    assert console.headers["x-content-type-options"] == "nosniff"
    # The citizen chat may be embedded in a department's own site; the console never.
    assert "frame-ancestors *" in chat.headers["content-security-policy"]


@pytest.mark.parametrize("down", ["redis", "postgresql"])
async def test_readyz_names_the_server_that_is_down(
    tenant: str, tmp_path: Path, down: str, server_urls: tuple[str, str], department: str
) -> None:
    own = EmbeddedRedis(tmp_path) if down == "redis" else EmbeddedPostgres(tmp_path)
    url = own.start()
    urls = (url, server_urls[1]) if down == "redis" else (server_urls[0], url)
    live = await LiveServer(make_settings(urls, department, tmp_path)).start()
    try:
        own.stop()
        async with httpx.AsyncClient(base_url=live.base) as c:
            r = await c.get("/readyz")
        assert r.status_code == 503 and r.json()["failed"] == [down]
    finally:
        await live.stop()


async def test_log_lines_about_a_conversation_carry_its_id(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    from contactd.logs import JsonFormatter

    caplog.set_level(logging.INFO)
    agent = await server.agent("agent1")
    _, queued = await server.citizen()
    cid = queued["conversation_id"]
    await agent.expect(typed("offer"))
    about = [json.loads(JsonFormatter().format(r)) for r in caplog.records if getattr(r, "conversation_id", None)]
    assert {line["msg"] for line in about} >= {"chat started", "offered"}
    assert all(line["conversation_id"] == cid for line in about)


def test_docker_compose_file_is_valid(tmp_path: Path) -> None:
    compose = Path(__file__).parents[2] / "docker-compose.yml"
    example = compose.parent / "deploy" / "example.env"
    result = subprocess.run(
        ["docker-compose", "--env-file", str(example), "-f", str(compose), "config", "-q"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
