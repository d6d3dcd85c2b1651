"""The agent console when time runs out: wrap-up time limit, missed offers, offers withdrawn on going away."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Page, expect

from tests.browser.pages import offer_card, panel_of, sign_in_available
from tests.conftest import LiveServer, make_settings
from tests.helpers import UNIT, typed

pytestmark = pytest.mark.browser


@pytest.fixture
async def server(
    server_urls: tuple[str, str], department: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[LiveServer]:
    """Like the shared server, with the settings a test asks for (indirect parametrisation)."""
    overrides = getattr(request, "param", {})
    live = await LiveServer(make_settings(server_urls, department, tmp_path, **overrides)).start()
    yield live
    await live.stop()


@pytest.mark.parametrize("server", [{"wrapup_s": 2.0 * UNIT}], indirect=True)
async def test_wrap_up_left_too_long_closes_the_chat_without_an_outcome(
    server: LiveServer, db: asyncpg.Pool, page: Page
) -> None:
    await sign_in_available(page)
    citizen, queued = await server.citizen("general", "Ann")
    cid = queued["conversation_id"]
    await offer_card(page, cid).get_by_test_id("offer-accept").click()
    panel = panel_of(page, cid)
    await expect(panel).to_be_visible()
    await citizen.send({"type": "chat.end"})
    await expect(panel.locator('form[data-testid="wrapup"]')).to_be_visible()
    await expect(panel.get_by_test_id("disposition")).to_be_focused()

    await expect(panel).to_have_count(0, timeout=6_000 * UNIT)
    await expect(page.locator("#announcer")).to_contain_text(
        "Wrap-up time ended; the chat was closed without an outcome."
    )
    await expect(page.locator("#load-text")).to_contain_text("Chats: 0 of 3")
    await expect(page.locator("#conversations-heading")).to_be_focused()  # focus was in the panel that went
    row = await db.fetchrow("SELECT state, disposition FROM conversations WHERE id = $1", uuid.UUID(cid))
    assert dict(row) == {"state": "closed", "disposition": None}


@pytest.mark.parametrize("server", [{"offer_timeout_s": 1.0 * UNIT}], indirect=True)
async def test_missing_offers_sets_the_agent_away_and_says_why(server: LiveServer, page: Page) -> None:
    await sign_in_available(page)
    for name in ("Ann", "Bob", "Cai"):
        await server.citizen("general", name)
    await expect(page.locator("#status-text")).to_have_text("Away (missed offers)", timeout=10_000 * UNIT)
    await expect(page.locator("#console-error-box")).to_be_visible()
    await expect(page.locator("#console-error")).to_have_attribute("role", "alert")
    await expect(page.locator("#console-error")).to_contain_text("You missed several chat offers in a row")
    await expect(page.locator("#status-select")).to_have_value("away")

    await page.locator("#status-select").select_option("available")
    await expect(page.locator("#status-text")).to_have_text("Available")
    await expect(page.locator("#console-error-box")).to_be_hidden()


async def test_going_away_withdraws_an_offer_and_says_so(server: LiveServer, page: Page) -> None:
    await sign_in_available(page)
    citizen, queued = await server.citizen("general", "Ann")
    card = offer_card(page, queued["conversation_id"])
    await expect(card).to_be_visible()
    await page.locator("#status-select").select_option("away")
    await expect(card).to_have_count(0)
    await expect(page.locator("#status-text")).to_have_text("Away")
    await expect(page.locator("#announcer")).to_contain_text(
        "The chat offer from Ann was withdrawn because you are no longer available."
    )
    await expect(page.locator("#offers-empty")).to_be_visible()
    assert await citizen.maybe(typed("chat.ended"), timeout=0.5) is None
