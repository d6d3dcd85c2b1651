"""The agent console in a real browser: sign in, offers, two chats at once, wrap-up."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.pages import offer_card, panel_of, sign_in, sign_in_available
from tests.conftest import LiveServer
from tests.helpers import PASSWORD, UNIT, Client, typed

pytestmark = pytest.mark.browser


async def see_offer_counting_down(page: Page, cid: str, name: str) -> Locator:
    """The offer card shows the citizen's name and a countdown that goes down; the offer is announced."""
    card = offer_card(page, cid)
    await expect(card).to_be_visible()
    await expect(card.get_by_role("heading")).to_have_text(f"Chat from {name}")
    countdown = card.get_by_test_id("offer-countdown")
    await expect(countdown).to_be_visible()
    await expect(countdown).to_have_text(re.compile(r"^\d+$"))
    first = int(await countdown.inner_text())
    assert first > 1, f"the offer should start with time to accept, not {first}s"
    await expect(countdown).not_to_have_text(str(first), timeout=2_500 * UNIT)
    assert int(await countdown.inner_text()) < first, "the countdown went up instead of down"
    await expect(page.locator("#announcer")).to_contain_text(f"New chat offer from {name}")
    return card


async def citizen_message(citizen: Client, panel: Locator, text: str) -> None:
    await citizen.send({"type": "message", "id": uuid.uuid4().hex, "text": text})
    await expect(panel.locator('[data-testid="message"][data-from="citizen"]').last).to_contain_text(text)


async def test_agent_takes_two_chats_side_by_side_and_wraps_one_up(
    server: LiveServer, db: asyncpg.Pool, page: Page, artifacts: Path
) -> None:
    await sign_in_available(page)
    ann, queued = await server.citizen("general", "Ann")
    ann_id = queued["conversation_id"]
    card = await see_offer_counting_down(page, ann_id, "Ann")
    await page.screenshot(path=artifacts / "console-offer.png", full_page=True)

    accept = card.get_by_test_id("offer-accept")
    await expect(accept).to_be_focused()  # the offer moved keyboard focus to Accept
    await page.keyboard.press("Enter")
    ann_panel = panel_of(page, ann_id)
    await expect(ann_panel).to_be_visible()
    await expect(card).to_have_count(0)
    await ann.expect(typed("chat.agent_joined", agent_name="Alex Morgan"))
    await expect(ann_panel.get_by_test_id("message-input")).to_be_focused()

    await citizen_message(ann, ann_panel, "My bins were not collected")
    await page.keyboard.type("Sorry to hear that, Ann. Which street?")
    await page.keyboard.press("Enter")
    await ann.expect(typed("message", text="Sorry to hear that, Ann. Which street?", **{"from": "agent"}))
    await expect(ann_panel.locator('[data-testid="message"][data-from="agent"]')).to_contain_text("Which street?")
    await expect(ann_panel.get_by_test_id("message-input")).to_have_value("")

    bob, queued_b = await server.citizen("general", "Bob")
    bob_id = queued_b["conversation_id"]
    await expect(offer_card(page, bob_id)).to_be_visible()
    await offer_card(page, bob_id).get_by_test_id("offer-accept").click()
    bob_panel = panel_of(page, bob_id)
    await expect(bob_panel).to_be_visible()
    await citizen_message(bob, bob_panel, "Hello from Bob")
    await expect(page.get_by_test_id("conversation")).to_have_count(2)
    await expect(ann_panel).to_be_in_viewport()
    await expect(bob_panel).to_be_in_viewport()
    left, right = await ann_panel.bounding_box(), await bob_panel.bounding_box()
    assert left and right and left["y"] == right["y"] and left["x"] + left["width"] <= right["x"], (left, right)
    await expect(page.locator("#load-text")).to_contain_text("Chats: 2 of 3")
    await page.screenshot(path=artifacts / "console-two-chats.png", full_page=True)

    await wrap_up_as_resolved(page, ann_panel, ann, artifacts)
    await expect(ann_panel).to_have_count(0)
    await expect(bob_panel).to_be_visible()
    await expect(page.locator("#load-text")).to_contain_text("Chats: 1 of 3")
    row = await db.fetchrow("SELECT state, ended_by, disposition FROM conversations WHERE id = $1", uuid.UUID(ann_id))
    assert dict(row) == {"state": "closed", "ended_by": "agent", "disposition": "resolved"}


async def wrap_up_as_resolved(page: Page, panel: Locator, citizen: Client, artifacts: Path) -> None:
    """End chat, see the wrap-up form (with no outcome chosen for you), choose Resolved, finish."""
    await panel.get_by_test_id("end-chat").click()
    wrapup = panel.locator('form[data-testid="wrapup"]')
    await expect(wrapup).to_be_visible()
    await expect(panel.get_by_test_id("conversation-status")).to_have_text("Chat ended by you.")
    await expect(panel.get_by_test_id("message-input")).to_be_hidden()
    await citizen.expect(typed("chat.ended", by="agent"))
    disposition = panel.locator('select[data-testid="disposition"]')
    await expect(disposition).to_have_value("")
    await panel.get_by_test_id("wrapup-done").click()
    await expect(wrapup.get_by_role("alert")).to_have_text("Choose the outcome of the chat.")
    await expect(panel).to_be_visible()
    await disposition.select_option(label="Resolved")
    await panel.get_by_test_id("notes").fill("Missed collection reported")
    await page.screenshot(path=artifacts / "console-wrapup.png", full_page=True)
    await panel.get_by_test_id("wrapup-done").click()
    await expect(page.locator("#announcer")).to_contain_text("Wrap-up saved.")


async def test_a_wrong_password_shows_an_error_and_no_console(server: LiveServer, page: Page) -> None:
    await sign_in(page, "/console/", "agent1", PASSWORD + "-wrong")
    error = page.locator("#login-error")
    await expect(error).to_be_visible()
    await expect(error).to_have_text("Wrong username or password.")
    await expect(page.locator("main#console")).to_be_hidden()
    await expect(page.locator("#agent-name")).to_be_hidden()


async def test_a_declined_offer_goes_and_the_citizen_stays_queued(
    server: LiveServer, db: asyncpg.Pool, page: Page
) -> None:
    await sign_in_available(page)
    citizen, queued = await server.citizen("general", "Ann")
    cid = queued["conversation_id"]
    card = offer_card(page, cid)
    await expect(card).to_be_visible()
    await card.get_by_test_id("offer-reject").click()
    await expect(card).to_have_count(0)
    await expect(page.locator("#offers-empty")).to_be_visible()
    await expect(page.locator("#polite-announcer")).to_contain_text("You declined the chat from Ann.")
    await expect(page.get_by_test_id("conversation")).to_have_count(0)
    await expect(page.locator("#load-text")).to_contain_text("Chats: 0 of 3")

    assert await citizen.maybe(lambda f: f["type"] in ("chat.ended", "chat.agent_joined"), timeout=1) is None
    assert await server.services.router_store.waiting("general") == [cid]
    assert await db.fetchval("SELECT state FROM conversations WHERE id = $1", uuid.UUID(cid)) == "queued"
    assert await db.fetchval("SELECT outcome FROM offers WHERE conversation_id = $1", uuid.UUID(cid)) == "rejected"
    await expect(card).to_have_count(0)  # not offered straight back to the agent who declined it


async def test_reloading_during_wrap_up_keeps_the_wrap_up_form(server: LiveServer, page: Page) -> None:
    await sign_in_available(page)
    citizen, queued = await server.citizen("general", "Ann")
    cid = queued["conversation_id"]
    await offer_card(page, cid).get_by_test_id("offer-accept").click()
    panel = panel_of(page, cid)
    await expect(panel).to_be_visible()
    await citizen.send({"type": "chat.end"})
    await expect(panel.locator('form[data-testid="wrapup"]')).to_be_visible()

    await page.reload()
    await expect(panel.locator('form[data-testid="wrapup"]')).to_be_visible()
    await expect(panel.get_by_test_id("conversation-status")).to_have_text("Chat ended.")
    await expect(panel.get_by_test_id("message-input")).to_be_hidden()
    await expect(panel.get_by_test_id("transfer")).to_be_hidden()
    await panel.locator('select[data-testid="disposition"]').select_option(label="No action needed")
    await panel.get_by_test_id("wrapup-done").click()
    await expect(panel).to_have_count(0)
    await expect(page.locator("#announcer")).to_contain_text("Wrap-up saved.")
