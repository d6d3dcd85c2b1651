"""The queue board in a real browser follows routing changes within a second."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.pages import seconds_until, sign_in
from tests.conftest import LiveServer
from tests.helpers import UNIT, typed

pytestmark = pytest.mark.browser

BENEFITS_WAITING = 'tr[data-queue="benefits"] td[data-field="waiting"]'


def text_is(selector: str, text: str) -> str:
    """A JS expression: the element's text is ``text``."""
    return f"document.querySelector({json.dumps(selector)})?.textContent.trim() === {json.dumps(text)}"


def agent_status_is(name: str, status: str) -> str:
    """A JS expression: the agents table row named ``name`` shows ``status``."""
    return (
        "[...document.querySelectorAll('#agents-table tr[data-agent-id]')].some((row) =>"
        f" row.querySelector('[data-field=name]')?.textContent === {json.dumps(name)} &&"
        f" row.querySelector('[data-field=status]')?.textContent.trim() === {json.dumps(status)})"
    )


async def test_board_shows_a_waiting_citizen_and_an_available_agent_within_a_second(
    server: LiveServer, page: Page, artifacts: Path
) -> None:
    await sign_in(page, "/board/", "supervisor")
    await expect(page.locator("main#board")).to_be_visible()
    await expect(page.locator("#user-name")).to_have_text("Sam Taylor")
    waiting = page.locator(BENEFITS_WAITING)
    await expect(waiting).to_have_text("0")
    await expect(page.locator("#board-updated")).to_have_text(re.compile(r"^Updated \d\d:\d\d:\d\d$"))

    joined = time.monotonic()
    citizen, _ = await server.citizen("benefits", "Ann")
    took = await seconds_until(page, text_is(BENEFITS_WAITING, "1"), joined, limit_s=3)
    assert took < 1.0 * UNIT, f"the benefits row showed 1 waiting {took:.2f}s after the citizen joined"
    await expect(waiting).to_have_text("1")
    await citizen.send({"type": "chat.end"})
    await citizen.expect(typed("chat.ended"))
    await expect(waiting).to_have_text("0")

    bethan = page.locator("#agents-table tr[data-agent-id]", has_text="Bethan Jones")
    await expect(bethan.locator('[data-field="status"]')).to_have_text("Offline")
    agent2 = await server.agent("agent2", status=None)
    went_available = time.monotonic()
    await agent2.send({"type": "agent.status", "status": "available"})
    took = await seconds_until(page, agent_status_is("Bethan Jones", "Available"), went_available, limit_s=3)
    assert took < 1.0 * UNIT, f"Bethan Jones showed as available {took:.2f}s after she set it"
    await expect(bethan.locator('[data-field="status"]')).to_have_text("Available")
    await page.screenshot(path=artifacts / "board.png", full_page=True)


async def test_an_available_agent_with_no_chats_shows_zero_chats(server: LiveServer, page: Page) -> None:
    await sign_in(page, "/board/", "supervisor")
    await expect(page.locator("main#board")).to_be_visible()
    await server.agent("agent2")
    bethan = page.locator("#agents-table tr[data-agent-id]", has_text="Bethan Jones")
    await expect(bethan.locator('[data-field="status"]')).to_have_text("Available")
    await expect(bethan.locator('[data-field="load"]')).to_have_text("0", timeout=2_000 * UNIT)


async def test_an_agent_on_the_board_is_told_it_is_for_supervisors(server: LiveServer, page: Page) -> None:
    await sign_in(page, "/board/", "agent1")
    await expect(page.locator("#forbidden-view")).to_be_visible()
    await expect(page.locator("#board-forbidden")).to_have_text("The queue board is for supervisors.")
    await expect(page.locator("main#board")).to_be_hidden()
    await expect(page.locator("#queues-table")).to_be_hidden()
