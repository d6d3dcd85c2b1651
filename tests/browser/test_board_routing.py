"""The queue board shows escalated waits, and a supervisor can read a conversation's routing receipt."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.pages import sign_in
from tests.conftest import LiveServer
from tests.helpers import login, typed

pytestmark = pytest.mark.browser

DASH = "\u2013"  # what the board shows for none or not known


async def open_board(page: Page) -> None:
    await sign_in(page, "/board/", "supervisor")
    await expect(page.locator("main#board")).to_be_visible()
    await expect(page.locator('tr[data-queue="benefits"]')).to_be_visible()


async def test_the_board_counts_waiting_citizens_by_escalation_step(server: LiveServer, page: Page) -> None:
    async with httpx.AsyncClient(base_url=server.base) as c:
        r = await c.patch(
            "/api/queues/benefits",
            json={"escalation": [{"after_s": 1, "raise_priority": 10}]},
            headers={"Cookie": await login(server.base, "admin")},
        )
        assert r.status_code == 200, r.text
    await open_board(page)
    benefits = page.locator('tr[data-queue="benefits"] td[data-field="escalated"]')
    await expect(page.locator("#queues-table thead th", has_text="Escalated")).to_be_visible()
    await expect(benefits).to_have_text(DASH)

    await server.citizen("benefits", "Bo")  # nobody serving benefits is signed in
    await expect(page.locator('tr[data-queue="benefits"] td[data-field="waiting"]')).to_have_text("1")
    await expect(benefits).to_have_text("1 at step 1")
    await expect(page.locator('tr[data-queue="general"] td[data-field="escalated"]')).to_have_text(DASH)


async def test_a_supervisor_reads_why_a_citizen_waited_and_why_this_adviser(
    server: LiveServer, page: Page, artifacts: Path
) -> None:
    away = await server.agent("agent2", status="away")
    _, queued = await server.citizen("council-tax", "Ann")  # agent1 and agent3 serve it; neither is signed in
    cid = queued["conversation_id"]
    decliner = await server.agent("agent3")
    await decliner.expect(typed("offer", conversation_id=cid))
    await decliner.send({"type": "offer.reject", "conversation_id": cid})
    taker = await server.agent("agent1")
    await taker.take(cid)
    del away

    await open_board(page)
    await expect(page.get_by_role("heading", name="Routing receipts", level=2)).to_be_visible()
    field = page.get_by_label("Conversation reference")
    await expect(field).to_have_id("receipt-id")
    await field.focus()
    await page.keyboard.type(cid)
    await page.keyboard.press("Tab")
    await expect(page.locator("#receipt-button")).to_be_focused()
    await expect(page.locator("#receipt-button")).to_have_text("Show receipt")
    await page.keyboard.press("Enter")

    receipt = page.locator("#receipt")
    await expect(page.locator("#receipt-heading")).to_be_focused()
    await expect(receipt.locator('[data-field="queue"]')).to_have_text("Council Tax")
    await expect(receipt.locator('[data-field="state"]')).to_have_text("With an adviser")
    await expect(receipt.locator('[data-field="waited"]')).to_have_text(re.compile(r"^\d+:\d\d$"))
    decisions = receipt.locator('[data-testid="receipt-decision"]')
    await expect(decisions).to_have_count(3)
    await expect(decisions.locator('[data-field="summary"]')).to_have_text(
        [
            "Waited: nobody serving council-tax was signed in.",
            re.compile(r"^Offered to Chris Patel by the longest-idle rule"),
            "Offered to Alex Morgan by the longest-idle rule, first of 1 eligible; 1 passed over (reasons listed).",
        ]
    )
    outcomes = decisions.locator('[data-field="outcome"]')
    await expect(outcomes.nth(0)).to_have_text(DASH)
    await expect(outcomes.nth(1)).to_have_attribute("data-outcome", "rejected")
    await expect(outcomes.nth(1)).to_contain_text("Rejected")
    await expect(outcomes.nth(2)).to_have_attribute("data-outcome", "accepted")
    await expect(outcomes.nth(2)).to_contain_text("Accepted")

    # The advisers passed over are behind a disclosure, opened from the keyboard.
    accepted = decisions.nth(2)
    skipped = accepted.locator('[data-testid="receipt-skipped"]')
    await expect(skipped).to_be_hidden()
    await accepted.locator("details summary").focus()
    await page.keyboard.press("Enter")
    await expect(skipped).to_have_count(1)
    await expect(skipped).to_be_visible()
    await expect(skipped.locator('[data-field="name"]')).to_have_text("Chris Patel")
    await expect(skipped.locator('[data-field="reason"]')).to_have_text("declined or missed this contact")
    await expect(decisions.nth(0).locator("details")).to_have_count(0)

    timeline = receipt.locator('[data-testid="receipt-event"]')
    await expect(timeline.first).to_have_attribute("data-type", "conversation.arrived")
    await expect(timeline.nth(1)).to_have_attribute("data-type", "routing.waiting")
    await expect(receipt.locator('[data-testid="receipt-event"][data-type="offer.accepted"]')).to_contain_text(
        "Alex Morgan"
    )
    await expect(page.locator("#receipt-error")).to_be_empty()
    await page.screenshot(path=artifacts / "board-receipt.png", full_page=True)

    # An unknown reference says so, and the previous receipt goes.
    await field.fill(str(uuid.uuid4()))
    await field.press("Enter")
    error = page.locator("#receipt-error")
    await expect(error).to_have_text("No conversation with that reference.")
    await expect(error).to_have_attribute("role", "alert")
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(receipt).to_be_hidden()
