"""The chat page's opt-in "Remember this device": the key it keeps, sends, and forgets, in a real browser."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import BrowserContext, Page, WebSocket, expect

from tests.conftest import LiveServer
from tests.helpers import Client, login, typed

pytestmark = pytest.mark.browser

STORED = "contactd.citizen_key"  # the page's localStorage key
LABEL = "Remember this device"
LABEL_CY = "Cofio\u2019r ddyfais hon"


def chat_starts(page: Page) -> list[dict[str, Any]]:
    """Every chat.start frame the page sends from now on (read off its WebSocket)."""
    starts: list[dict[str, Any]] = []

    def sent(payload: str | bytes) -> None:
        frame = json.loads(payload)
        if frame.get("type") == "chat.start":
            starts.append(frame)

    def opened(ws: WebSocket) -> None:
        ws.on("framesent", sent)

    page.on("websocket", opened)
    return starts


async def stored_key(page: Page) -> str | None:
    value: str | None = await page.evaluate("key => localStorage.getItem(key)", STORED)
    return value


async def start_chat(page: Page, name: str = "Ann Page") -> None:
    """Fill in and send the start form (the page is already open, the box as the test left it)."""
    await page.locator("#queue").select_option(label="General enquiries")
    await page.locator("#name").fill(name)
    await page.locator("#start-button").click()
    await expect(page.locator("#queue-status")).to_have_text(re.compile(r"^You are number 1 in the queue\."))


async def citizen_of(db: asyncpg.Pool, cid: str) -> asyncpg.Record:
    """The conversation's citizen and the hash of the key they are known by (null: a new, unknown citizen)."""
    row: asyncpg.Record = await db.fetchrow(
        "SELECT c.citizen_id, z.key_hash FROM conversations c LEFT JOIN citizens z ON z.id = c.citizen_id"
        " WHERE c.id = $1",
        uuid.UUID(cid),
    )
    return row


async def close(agent: Client, cid: str) -> None:
    """The agent ends the chat they hold and finishes wrap-up."""
    await agent.send({"type": "conversation.end", "conversation_id": cid})
    await agent.expect(typed("conversation.ended", conversation_id=cid))
    await agent.send({"type": "wrapup.done", "conversation_id": cid, "disposition": "resolved"})
    await agent.expect(typed("conversation.closed", conversation_id=cid))


async def tab(context: BrowserContext) -> tuple[Page, list[str]]:
    """Another tab of the same browser (the citizen coming back later), and its uncaught script errors."""
    again = await context.new_page()
    errors: list[str] = []
    again.on("pageerror", lambda error: errors.append(str(error)))
    return again, errors


async def test_the_box_is_unticked_and_nothing_is_kept_or_sent_unless_the_citizen_ticks_it(
    server: LiveServer, db: asyncpg.Pool, page: Page
) -> None:
    agent = await server.agent("agent3")
    starts = chat_starts(page)
    await page.goto("/chat/")
    box = page.get_by_label(LABEL)
    await expect(box).not_to_be_checked()
    await expect(box).to_have_accessible_description(
        "This keeps a random code in this browser only. Untick the box to forget it."
    )
    await start_chat(page)

    offer = await agent.expect(typed("offer"))
    assert len(starts) == 1 and "citizen_key" not in starts[0], starts
    assert await stored_key(page) is None
    assert (await citizen_of(db, offer["conversation_id"]))["key_hash"] is None


async def test_a_remembered_citizen_sends_the_same_key_again_and_is_offered_to_their_last_adviser(
    server: LiveServer, db: asyncpg.Pool, context: BrowserContext, page: Page
) -> None:
    chris = await server.agent("agent3")
    starts = chat_starts(page)
    await page.goto("/chat/")
    await page.get_by_label(LABEL).focus()
    await page.keyboard.press("Space")  # a keyboard user ticks it
    await expect(page.get_by_label(LABEL)).to_be_checked()
    await start_chat(page)

    first = (await chris.expect(typed("offer")))["conversation_id"]
    key = starts[0].get("citizen_key")
    assert isinstance(key, str) and len(key) >= 16, starts
    assert await stored_key(page) == key
    assert (await citizen_of(db, first))["key_hash"] == hashlib.sha256(key.encode()).digest()

    await chris.send({"type": "offer.accept", "conversation_id": first})
    await chris.expect(typed("conversation.assigned", conversation_id=first))
    alex = await server.agent("agent1")  # idle since before Chris finishes, so first by longest idle
    await close(chris, first)
    await expect(page.locator("#ended-message")).to_contain_text("The chat has ended.")

    again, errors = await tab(context)
    starts_again = chat_starts(again)
    await again.goto("/chat/")
    await expect(again.get_by_label(LABEL)).to_be_checked()  # they chose it last time
    await start_chat(again)
    second = (await chris.expect(typed("offer")))["conversation_id"]
    assert await alex.maybe(typed("offer", conversation_id=second), timeout=0.3) is None
    assert [s.get("citizen_key") for s in starts_again] == [key]
    async with httpx.AsyncClient(base_url=server.base) as c:
        sup = {"Cookie": await login(server.base, "supervisor")}
        receipt = (await c.get(f"/api/conversations/{second}/routing", headers=sup)).json()
    assert receipt["decisions"][0]["rule"] == "previous agent"
    assert not errors, errors


async def test_unticking_the_box_forgets_the_key_and_the_next_chat_sends_none(
    server: LiveServer, db: asyncpg.Pool, context: BrowserContext, page: Page
) -> None:
    agent = await server.agent("agent3")
    await page.goto("/chat/")
    await page.get_by_label(LABEL).check()
    await start_chat(page)
    await agent.expect(typed("offer"))
    assert await stored_key(page) is not None
    await page.locator("#end-button").click()
    await expect(page.locator("#ended-message")).to_have_text("The chat has ended. You ended the chat.")

    again, errors = await tab(context)
    starts = chat_starts(again)
    await again.goto("/chat/")
    box = again.get_by_label(LABEL)
    await expect(box).to_be_checked()
    await box.focus()
    await again.keyboard.press("Space")
    await expect(box).not_to_be_checked()
    assert await stored_key(again) is None  # forgotten as soon as it is unticked
    await start_chat(again, name="Ann Again")

    offer = await agent.expect(lambda f: f.get("type") == "offer" and f["citizen"]["name"] == "Ann Again")
    assert len(starts) == 1 and "citizen_key" not in starts[0], starts
    assert await stored_key(again) is None
    assert (await citizen_of(db, offer["conversation_id"]))["key_hash"] is None
    assert not errors, errors


async def test_the_welsh_page_asks_in_welsh(server: LiveServer, page: Page, artifacts: Path) -> None:
    await page.goto("/chat/?lang=cy")
    box = page.get_by_label(LABEL_CY)
    await expect(box).to_be_visible()
    await expect(box).not_to_be_checked()
    await box.focus()
    await page.screenshot(path=artifacts / "chat-remember-cy.png", full_page=True)
    await expect(page.locator("label[for=remember]")).to_have_text(
        "Cofio\u2019r ddyfais hon, er mwyn i ni geisio eich cysylltu â\u2019r un ymgynghorydd"
        " os byddwch yn sgwrsio â ni eto"
    )
    await expect(box).to_have_accessible_description(
        "Mae hyn yn cadw cod ar hap yn y porwr hwn yn unig. Dad-diciwch y blwch i\u2019w anghofio."
    )
    await page.locator("#language-toggle").click()
    await expect(page.get_by_label(LABEL)).to_be_visible()


async def test_the_chat_still_starts_when_the_browser_blocks_storage(
    server: LiveServer, context: BrowserContext, page: Page
) -> None:
    await context.add_init_script(
        "Object.defineProperty(window, 'localStorage', {"
        " get() { throw new DOMException('The operation is insecure.', 'SecurityError'); } });"
    )
    agent = await server.agent("agent3")
    starts = chat_starts(page)
    await page.goto("/chat/")
    await page.get_by_label(LABEL).check()
    await start_chat(page)
    await agent.expect(typed("offer"))
    assert len(starts) == 1 and "citizen_key" not in starts[0], starts
    await expect(page.locator("#chat-error")).to_be_empty()
