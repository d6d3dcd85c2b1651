"""The chat page's "Rather not wait? We can call you back" in a real browser: a waiting chat becomes a call back."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Locator, Page, WebSocket, expect

from tests.browser.test_chat_page import start_chat, transcript_lines
from tests.conftest import LiveServer
from tests.helpers import typed

pytestmark = pytest.mark.browser

OFFER = "Rather not wait? We can call you back"
HINT = "A UK landline or mobile number. You keep your place in the queue."
BAD_NUMBER = (
    "Error: Enter a UK landline or mobile number, like 01632 960 001 or 07700 900 982."
    " We cannot call numbers abroad, or premium or special rate numbers."
)
CONFIRMATION = "Thank you. We will call you on +44 7700 900456 when it is your turn. You can close this page."
TOKEN = "contactd.chat.resume_token"  # the page's sessionStorage key


def frames_sent(page: Page) -> list[str]:
    """The type of every frame the page sends on its WebSockets from now on."""
    sent: list[str] = []

    def opened(ws: WebSocket) -> None:
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)["type"]))

    page.on("websocket", opened)
    return sent


async def the_chat(server: LiveServer, db: asyncpg.Pool) -> dict[str, object]:
    """The one conversation of this test's department: its channel and the number to call back."""
    rows = await db.fetch(
        "SELECT channel, callback_number FROM conversations WHERE tenant_id = $1", server.settings.tenant
    )
    assert len(rows) == 1, rows
    return dict(rows[0])


def number_field(page: Page, label: str = "Your phone number") -> Locator:
    return page.get_by_label(label, exact=True)


async def test_a_waiting_citizen_is_called_back_instead_and_the_chat_ends_on_the_page(
    server: LiveServer, db: asyncpg.Pool, page: Page, artifacts: Path
) -> None:
    sent = frames_sent(page)
    await start_chat(page)  # nobody is signed in, so the chat waits
    await expect(page.locator("#queue-status")).to_have_text("You are number 1 in the queue.")
    field = number_field(page)
    await expect(field).to_be_hidden()  # a disclosure, closed until asked for
    await page.get_by_text(OFFER).focus()
    await page.keyboard.press("Enter")
    await expect(field).to_be_visible()
    for name, value in {"type": "tel", "autocomplete": "tel", "inputmode": "tel"}.items():
        await expect(field).to_have_attribute(name, value)
    await expect(field).to_have_accessible_description(HINT)

    await field.fill("09011 234567")  # premium rate: the server will not ring it
    await page.get_by_role("button", name="Call me back").click()
    await expect(page.locator("#callback-number-error")).to_have_text(BAD_NUMBER)
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(field).to_have_accessible_description(f"{HINT} {BAD_NUMBER}")
    await expect(field).to_be_focused()
    await expect(page.locator("#callback-number-group")).to_have_class("form-group form-group--error")
    await page.screenshot(path=artifacts / "chat-callback-error.png", full_page=True)
    assert await the_chat(server, db) == {"channel": "chat", "callback_number": None}

    await field.fill("07700 900456")
    await field.press("Enter")
    confirmation = page.locator("#ended-message")
    await expect(confirmation).to_have_text(CONFIRMATION)
    await expect(confirmation).to_be_focused()
    await page.screenshot(path=artifacts / "chat-callback-accepted.png", full_page=True)
    for gone in ("#message-form", "#message-input", "#callback", "#queue-status"):
        await expect(page.locator(gone)).to_be_hidden()
    await expect(page.get_by_role("button", name="Start a new chat")).to_be_visible()
    assert sent.count("callback.request") == 2, sent
    assert await the_chat(server, db) == {"channel": "voice", "callback_number": "+447700900456"}
    assert await page.evaluate("key => sessionStorage.getItem(key)", TOKEN) is None

    await page.reload()
    await expect(page.locator("#start-section")).to_be_visible()
    await expect(page.locator("#chat-section")).to_be_hidden()
    assert "chat.resume" not in sent, sent


async def test_the_offer_goes_once_an_adviser_is_about_to_answer(server: LiveServer, page: Page) -> None:
    await start_chat(page)
    agent = await server.agent("agent1")
    offer = await agent.expect(typed("offer"))  # offered to Alex, not yet accepted
    await page.get_by_text(OFFER).click()
    await number_field(page).fill("07700 900456")
    await page.get_by_role("button", name="Call me back").click()
    await expect(page.locator("#callback-notice")).to_have_text(
        "An adviser is about to answer your chat, so we will not call you back. Please stay on this page."
    )
    await expect(page.get_by_role("button", name="Call me back")).not_to_have_attribute("aria-disabled", "true")

    await agent.send({"type": "offer.accept", "conversation_id": offer["conversation_id"]})
    await expect(transcript_lines(page, "system")).to_have_text(["Alex Morgan has joined the chat"])
    await expect(page.locator("#callback")).to_be_hidden()
    await expect(page.locator("#message-input")).to_be_focused()  # focus was in the form that went
    await expect(page.locator("#message-form")).to_be_visible()


async def test_the_welsh_page_offers_the_call_back_in_welsh(
    server: LiveServer, db: asyncpg.Pool, page: Page, artifacts: Path
) -> None:
    await page.goto("/chat/?lang=cy")
    await page.locator("#queue").select_option("general")
    await page.locator("#name").fill("Ann Page")
    await page.locator("#start-button").click()
    await expect(page.locator("#queue-status")).to_have_text("Rydych yn rhif 1 yn y ciw.")
    await page.get_by_text("Ddim eisiau aros? Gallwn eich ffonio\u2019n \u00f4l").click()
    field = number_field(page, "Eich rhif ffôn")
    await expect(field).to_have_accessible_description(
        "Rhif llinell dir neu ffôn symudol yn y DU. Byddwch yn cadw eich lle yn y ciw."
    )
    button = page.get_by_role("button", name="Ffoniwch fi\u2019n \u00f4l")
    await button.click()
    await expect(page.locator("#callback-number-error")).to_have_text("Gwall: Rhowch eich rhif ffôn")
    await field.fill("+33 1 23 45 67 89")  # abroad
    await button.click()
    await expect(page.locator("#callback-number-error")).to_have_text(
        "Gwall: Rhowch rif llinell dir neu ffôn symudol yn y DU, fel 01632 960 001 neu 07700 900 982."
        " Ni allwn ffonio rhifau dramor, na rhifau cyfradd premiwm neu gyfradd arbennig."
    )
    await page.screenshot(path=artifacts / "chat-callback-error-cy.png", full_page=True)

    await field.fill("07700 900456")
    await button.click()
    await expect(page.locator("#ended-message")).to_have_text(
        "Diolch. Byddwn yn eich ffonio ar +44 7700 900456 pan ddaw eich tro. Gallwch gau\u2019r dudalen hon."
    )
    assert await the_chat(server, db) == {"channel": "voice", "callback_number": "+447700900456"}
    await page.locator("#language-toggle").click()
    await expect(page.locator("#ended-message")).to_have_text(CONFIRMATION)

    await page.get_by_role("button", name="Start a new chat").click()
    await expect(page.locator("#start-heading")).to_be_focused()
    await expect(page.locator("#chat-section")).to_be_hidden()
    await expect(page.locator("#start-button")).to_have_text("Start chat")
