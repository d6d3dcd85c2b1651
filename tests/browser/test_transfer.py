"""Transfers in a real browser: to a named adviser with a reason, and seen by the one who receives it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from playwright.async_api import Page, WebSocket, expect

from tests.browser.pages import offer_card, panel_of, sign_in_available
from tests.conftest import LiveServer
from tests.helpers import Client, typed

pytestmark = pytest.mark.browser

HANDED_ON = "Transferred by Alex Morgan: her case"


async def user_id(db: asyncpg.Pool, server: LiveServer, username: str) -> int:
    found = await db.fetchval(
        "SELECT id FROM users WHERE tenant_id = $1 AND username = $2", server.settings.tenant, username
    )
    assert found is not None, username
    return int(found)


def record_sent_frames(page: Page) -> list[dict[str, Any]]:
    """Every JSON frame the page sends on its WebSockets, in order."""
    sent: list[dict[str, Any]] = []

    def watch(ws: WebSocket) -> None:
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)) if isinstance(payload, str) else None)

    page.on("websocket", watch)
    return sent


async def alex_takes_a_chat(server: LiveServer, name: str = "Ann") -> tuple[Client, Client, str]:
    """agent1 (protocol level, the only one available) accepts a citizen's chat: (agent, citizen, id)."""
    alex = await server.agent("agent1")
    citizen, queued = await server.citizen("general", name)
    cid = queued["conversation_id"]
    await alex.take(cid)
    await citizen.expect(typed("chat.agent_joined", agent_name="Alex Morgan"))
    return alex, citizen, cid


async def test_agent_transfers_a_chat_to_a_named_adviser_with_a_reason_by_keyboard(
    server: LiveServer, db: asyncpg.Pool, page: Page, artifacts: Path
) -> None:
    sent = record_sent_frames(page)
    await sign_in_available(page)
    citizen, queued = await server.citizen("general", "Ann")
    cid = queued["conversation_id"]
    card = offer_card(page, cid)
    await expect(card.get_by_test_id("offer-accept")).to_be_focused()
    await expect(card.get_by_test_id("offer-transferred")).to_be_hidden()  # a new chat, not a transfer
    await page.keyboard.press("Enter")
    panel = panel_of(page, cid)
    await expect(panel.get_by_test_id("message-input")).to_be_focused()
    await citizen.expect(typed("chat.agent_joined", agent_name="Alex Morgan"))
    await expect(panel.get_by_test_id("conversation-transferred")).to_be_hidden()

    bethan = await server.agent("agent2")  # available only now, so the first offer was Alex's
    bethan_id = await user_id(db, server, "agent2")
    queue = panel.get_by_label("Queue", exact=True)
    adviser = panel.get_by_label("Adviser (optional)")
    reason = panel.get_by_label("Reason (the next adviser sees this)")
    transfer = panel.get_by_test_id("transfer")
    await expect(queue).to_have_attribute("data-testid", "transfer-queue")
    await expect(adviser).to_have_attribute("data-testid", "transfer-agent")
    await expect(reason).to_have_attribute("data-testid", "transfer-reason")
    await expect(queue.locator("option:checked")).to_have_text("Keep in this queue")

    # Reply box → Send → queue → adviser → reason → Transfer. Nothing chosen: an error, and nothing sent.
    for _ in range(5):
        await page.keyboard.press("Tab")
    await expect(transfer).to_be_focused()
    await page.keyboard.press("Enter")
    error = panel.get_by_test_id("transfer-error")
    await expect(error).to_have_text("Choose another queue or an adviser to transfer the chat to.")
    await expect(queue).to_be_focused()
    await expect(queue).to_have_attribute("aria-invalid", "true")
    assert not [f for f in sent if f["type"] == "transfer"], sent

    await page.keyboard.press("Tab")
    await expect(adviser).to_be_focused()
    # The list is fetched again on focus: Bethan is now available; Alex (signed in here) is not listed.
    await expect(adviser.locator("option")).to_have_text(
        ["No particular adviser", "Bethan Jones (available)", "Chris Patel (offline)"]
    )
    await page.keyboard.press("ArrowDown")
    await expect(adviser).to_have_value(str(bethan_id))
    await expect(error).to_be_empty()
    await expect(queue).not_to_have_attribute("aria-invalid", "true")
    await page.keyboard.press("Tab")
    await expect(reason).to_be_focused()
    await page.keyboard.type("her case")
    await page.keyboard.press("Tab")
    await expect(transfer).to_be_focused()
    await panel.scroll_into_view_if_needed()
    await panel.screenshot(path=artifacts / "console-transfer.png")
    await page.keyboard.press("Enter")

    offer = await bethan.expect(typed("offer", conversation_id=cid))
    assert offer["transferred"] == {
        "by": "Alex Morgan",
        "reason": "her case",
        "to_queue": "general",
        "to_agent": bethan_id,
    }
    assert [f for f in sent if f["type"] == "transfer"] == [
        {"type": "transfer", "conversation_id": cid, "agent_id": bethan_id, "reason": "her case"}
    ]
    await citizen.expect(typed("chat.transferred", queue="general"))
    await expect(panel).to_have_count(0)
    await expect(page.locator("#announcer")).to_contain_text("Chat transferred. Ann is now waiting for Bethan Jones.")
    await expect(page.locator("#conversations-empty")).to_be_visible()
    await expect(page.locator("#load-text")).to_contain_text("Chats: 0 of 3")


async def test_the_adviser_a_chat_is_transferred_to_sees_who_transferred_it_and_why(
    server: LiveServer, db: asyncpg.Pool, page: Page, artifacts: Path
) -> None:
    alex, citizen, cid = await alex_takes_a_chat(server)
    await citizen.send({"type": "message", "id": "c1", "text": "It is about my housing benefit"})
    await alex.expect(typed("message", conversation_id=cid, id="c1"))
    await sign_in_available(page, "agent2", "Bethan Jones")

    bethan_id = await user_id(db, server, "agent2")
    await alex.send({"type": "transfer", "conversation_id": cid, "agent_id": bethan_id, "reason": "her case"})
    await alex.expect(typed("conversation.closed", conversation_id=cid, reason="transferred"))
    await citizen.expect(typed("chat.transferred"))

    card = offer_card(page, cid)
    await expect(card.get_by_test_id("offer-transferred")).to_have_text(HANDED_ON)
    await expect(page.locator("#announcer")).to_contain_text(
        f"New chat offer from Ann, queue General enquiries. {HANDED_ON}."
    )
    await expect(card.get_by_test_id("offer-accept")).to_be_focused()
    await card.screenshot(path=artifacts / "console-transferred-offer.png")
    await page.keyboard.press("Enter")

    panel = panel_of(page, cid)
    await expect(panel.get_by_test_id("conversation-transferred")).to_have_text(HANDED_ON)
    await panel.locator("header").screenshot(path=artifacts / "console-transferred-panel.png")
    await expect(panel.locator('[data-testid="message"][data-from="citizen"]')).to_contain_text(
        "It is about my housing benefit"
    )
    await citizen.expect(typed("chat.agent_joined", agent_name="Bethan Jones"))
    adviser = panel.get_by_test_id("transfer-agent")
    await adviser.focus()
    await expect(adviser.locator("option")).to_have_text(
        ["No particular adviser", "Alex Morgan (available)", "Chris Patel (offline)"]
    )

    await page.reload()  # the console gets conversation.assigned again, with who transferred it
    await expect(panel.get_by_test_id("conversation-transferred")).to_have_text(HANDED_ON)
