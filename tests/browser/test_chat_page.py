"""The citizen chat page in a real browser, with a protocol-level agent on the other side."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Locator, Page, expect

from tests.conftest import LiveServer
from tests.contactd.test_hours import close_benefits_today
from tests.helpers import Client, typed

pytestmark = pytest.mark.browser


async def start_chat(page: Page, name: str = "Ann Page", topic: str = "General enquiries") -> None:
    await page.goto("/chat/")
    await page.locator("#queue").select_option(label=topic)
    await page.locator("#name").fill(name)
    await page.locator("#start-button").click()
    await expect(page.locator("#chat-section")).to_be_visible()


def transcript_lines(page: Page, sender: str) -> Locator:
    return page.locator(f'#transcript [data-testid="message"][data-from="{sender}"]')


async def agent_takes_chat(server: LiveServer, name: str) -> tuple[Client, str]:
    """agent1 signs in (protocol level), gets the citizen's offer and accepts it."""
    agent = await server.agent("agent1")
    offer = await agent.expect(typed("offer"))
    assert offer["citizen"]["name"] == name and offer["queue"] == "general"
    cid = offer["conversation_id"]
    await agent.send({"type": "offer.accept", "conversation_id": cid})
    await agent.expect(typed("conversation.assigned", conversation_id=cid))
    return agent, cid


async def reply(page: Page, text: str) -> None:
    """The citizen types in the message box and presses Enter."""
    await page.locator("#message-input").fill(text)
    await page.locator("#message-input").press("Enter")


async def test_citizen_waits_chats_with_an_agent_and_is_told_it_ended(
    server: LiveServer, page: Page, artifacts: Path
) -> None:
    await start_chat(page)
    await expect(page.locator("#queue-status")).to_have_text("You are number 1 in the queue.")

    agent, cid = await agent_takes_chat(server, "Ann Page")
    await expect(transcript_lines(page, "system")).to_have_text(["Alex Morgan has joined the chat"])
    await expect(page.locator("#queue-status")).to_be_hidden()
    await agent.send({"type": "message", "conversation_id": cid, "id": "a1", "text": "Hello Ann, how can I help?"})
    await expect(transcript_lines(page, "agent")).to_have_count(1)
    await expect(transcript_lines(page, "agent")).to_contain_text("Hello Ann, how can I help?")
    await expect(transcript_lines(page, "agent")).to_contain_text("Alex Morgan")

    await reply(page, "I would like to pay my council tax")
    sent = await agent.expect(typed("message", conversation_id=cid, **{"from": "citizen"}))
    assert sent["text"] == "I would like to pay my council tax"
    await expect(transcript_lines(page, "citizen")).to_contain_text("I would like to pay my council tax")
    await expect(page.locator("#message-input")).to_have_value("")
    await page.screenshot(path=artifacts / "chat-page.png", full_page=True)

    await agent.send({"type": "conversation.end", "conversation_id": cid})
    await expect(page.locator("#ended-message")).to_have_text("The chat has ended. The adviser ended the chat.")
    await expect(page.locator("#message-form")).to_be_hidden()
    await expect(page.locator("#new-chat-button")).to_be_visible()


async def test_language_toggle_switches_the_page_to_welsh(server: LiveServer, page: Page) -> None:
    await page.goto("/chat/")
    await expect(page.locator("#start-button")).to_have_text("Start chat")
    await page.locator("#language-toggle").click()
    lang = await page.locator("html").get_attribute("lang")
    assert lang is not None and lang.startswith("cy"), lang
    await expect(page.locator("#start-button")).to_have_text("Dechrau sgwrs")
    await expect(page.locator("#page-heading")).to_have_text("Sgwrsio â ni")
    await expect(page.locator("#language-toggle")).to_have_text("English")
    await expect(page.locator("#queue option[value=general]")).to_have_text("Ymholiadau cyffredinol")
    await expect(page.locator("#language")).to_have_value("cy")


async def test_reloading_mid_chat_brings_the_transcript_back(server: LiveServer, page: Page) -> None:
    await start_chat(page)
    agent, cid = await agent_takes_chat(server, "Ann Page")
    await agent.send({"type": "message", "conversation_id": cid, "id": "a1", "text": "What is your address?"})
    await expect(transcript_lines(page, "agent")).to_contain_text("What is your address?")
    await reply(page, "1 High Street")
    await agent.expect(typed("message", conversation_id=cid, text="1 High Street"))
    await expect(transcript_lines(page, "citizen")).to_contain_text("1 High Street")

    await page.reload()
    await expect(page.locator("#chat-section")).to_be_visible()
    await expect(page.locator("#start-section")).to_be_hidden()
    lines = page.locator('#transcript [data-testid="message"]')
    await expect(lines).to_have_count(3)
    await expect(lines.nth(0)).to_have_attribute("data-from", "system")
    await expect(lines.nth(0)).to_contain_text("Alex Morgan has joined the chat")
    await expect(lines.nth(1)).to_have_attribute("data-from", "agent")
    await expect(lines.nth(1)).to_contain_text("What is your address?")
    await expect(lines.nth(2)).to_have_attribute("data-from", "citizen")
    await expect(lines.nth(2)).to_contain_text("1 High Street")

    await reply(page, "Still here after the reload")
    await agent.expect(typed("message", conversation_id=cid, text="Still here after the reload"))


async def test_citizen_is_told_of_a_transfer_and_sees_the_next_adviser_join(
    server: LiveServer, db: asyncpg.Pool, page: Page
) -> None:
    await start_chat(page)
    alex, cid = await agent_takes_chat(server, "Ann Page")
    await alex.send({"type": "message", "conversation_id": cid, "id": "a1", "text": "Bethan knows about this."})
    await expect(transcript_lines(page, "agent")).to_contain_text("Alex Morgan")
    await expect(page.locator("#queue-status")).to_be_hidden()

    # Bethan is away, so the chat waits for her (named) and the page can show its place in the queue.
    bethan = await server.agent("agent2", status="away")
    bethan_id = await db.fetchval(
        "SELECT id FROM users WHERE tenant_id = $1 AND username = 'agent2'", server.settings.tenant
    )
    await alex.send({"type": "transfer", "conversation_id": cid, "agent_id": bethan_id, "reason": "her case"})
    await expect(transcript_lines(page, "system")).to_have_text(
        ["Alex Morgan has joined the chat", "You are being transferred to another adviser"]
    )
    await expect(page.locator("#queue-status")).to_have_text(re.compile(r"^You are number 1 in the queue\."))
    await expect(page.locator("#message-input")).to_be_visible()

    await bethan.send({"type": "agent.status", "status": "available"})
    offer = await bethan.expect(typed("offer", conversation_id=cid))
    assert offer["transferred"]["by"] == "Alex Morgan"
    await bethan.send({"type": "offer.accept", "conversation_id": cid})
    await expect(transcript_lines(page, "system")).to_have_text(
        [
            "Alex Morgan has joined the chat",
            "You are being transferred to another adviser",
            "Bethan Jones has joined the chat",
        ]
    )
    await expect(page.locator("#queue-status")).to_be_hidden()
    await bethan.send({"type": "message", "conversation_id": cid, "id": "b1", "text": "Hello Ann, I am Bethan."})
    await expect(transcript_lines(page, "agent").last).to_contain_text("Bethan Jones")
    await expect(transcript_lines(page, "agent").first).to_contain_text("Alex Morgan")  # still Alex's message

    await page.locator("#language-toggle").click()
    await expect(transcript_lines(page, "system").nth(1)).to_have_text(
        "Rydych yn cael eich trosglwyddo i ymgynghorydd arall"
    )
    await expect(transcript_lines(page, "agent").first).to_contain_text("Alex Morgan")


async def test_a_chat_in_a_closed_topic_is_told_when_it_opens(server: LiveServer, page: Page, db: asyncpg.Pool) -> None:
    await close_benefits_today(server, db)
    await page.goto("/chat/")
    await page.locator("#queue").select_option(label="Benefits")
    await page.locator("#name").fill("Ann Page")
    await page.locator("#start-button").click()
    # The server's own words, which say when the topic opens; the citizen is back at the form.
    await expect(page.get_by_text(re.compile("Sorry, we are closed at the moment. We open again on"))).to_be_visible()
    await expect(page.locator("#start-button")).to_be_enabled()
    await expect(page.locator("#chat-section")).to_be_hidden()
