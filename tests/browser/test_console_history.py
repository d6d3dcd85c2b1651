"""The console names every channel and shows the citizen's timeline, in a real browser: text and email
offers say what they are, the status bar counts the adviser's work on each channel, a chat citizen who
proves their mobile brings their earlier texts into the adviser's panel at once, and an earlier contact
opens read-only in place (or says it can no longer be seen). Each state is checked with axe-core."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from contactd.embedded import free_port
from tests.browser.pages import HeldFrames, assert_accessible, offer_card, panel_of, sign_in_available
from tests.channels.email.mailer import mail, send
from tests.channels.twilio_api import NUMBER, SID, TOKEN, TwilioApi, api
from tests.channels.voice.twilio import TwilioStandIn
from tests.conftest import LiveServer, make_settings
from tests.helpers import UNIT, login, typed

__all__ = ["api"]  # a fixture, from tests.channels.twilio_api
pytestmark = pytest.mark.browser

MOBILE, OTHER, DEPARTMENT = "+447700900777", "+447700900999", "+441632960000"
WHEN = r"\d{1,2} [A-Z][a-z]{2,3} \d{4}, \d{2}:\d{2}"  # en-GB: "3 Mar 2026, 14:05" ("Sept" in September)
GONE = "You can no longer see this conversation."


@pytest.fixture
async def server(
    server_urls: tuple[str, str], department: str, tmp_path: Path, api: TwilioApi
) -> AsyncIterator[LiveServer]:
    """contactd with Twilio's API at the stand-in, taking mail on its own SMTP port."""
    settings = make_settings(
        server_urls,
        department,
        tmp_path,
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
        twilio_api_url=f"http://127.0.0.1:{api.port}",
        twilio_number=NUMBER,
        smtp_port=free_port(),
    )
    live = await LiveServer(settings).start()
    yield live
    await live.stop()


def text(body: str, number: str = MOBILE) -> dict[str, str]:
    """A text from the citizen, as Twilio posts it."""
    return {"MessageSid": "SM" + secrets.token_hex(16), "From": number, "To": DEPARTMENT, "Body": body}


async def code_texted(api: TwilioApi, count: int) -> str:
    """The verification code in the ``count``th text sent, once the Twilio stand-in has it."""
    deadline = time.monotonic() + 5 * UNIT
    while len(api.texts) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    found = re.search(r"\b(\d{6})\b", api.texts[count - 1]["Body"]) if len(api.texts) >= count else None
    assert found, api.texts
    return found.group(1)


async def answered_by_bethan(server: LiveServer, db: asyncpg.Pool, number: str, body: str, answer: str) -> str:
    """Before Alex signs in: ``number`` texts ``body``, Bethan (agent2) answers and closes it. Its id."""
    bethan = await server.agent("agent2")
    assert (await TwilioStandIn(server).post("/twilio/sms", text(body, number))).status_code == 200
    offer = await bethan.expect(typed("offer", channel="sms"))
    cid = offer["conversation_id"]
    await bethan.send({"type": "offer.accept", "conversation_id": cid})
    await bethan.expect(typed("conversation.assigned", conversation_id=cid))
    await bethan.send({"type": "message", "conversation_id": cid, "id": secrets.token_hex(8), "text": answer})
    await bethan.expect(typed("message", conversation_id=cid, text=answer))
    await bethan.send({"type": "conversation.end", "conversation_id": cid})
    await bethan.send({"type": "wrapup.done", "conversation_id": cid, "disposition": "resolved"})
    await bethan.expect(typed("conversation.closed", conversation_id=cid))
    await bethan.send({"type": "agent.status", "status": "offline"})  # so the next contacts go to Alex
    await bethan.expect(typed("agent.state", status="offline"))
    await bethan.ws.close()
    assert await db.fetchval("SELECT channel FROM conversations WHERE id = $1::uuid", cid) == "sms"
    return str(cid)


async def accept(page: Page, heading: str) -> Locator:
    """Alex accepts the one offer, whose heading is ``heading``. The conversation's panel."""
    card = page.get_by_test_id("offer")
    await expect(card).to_have_count(1)
    await expect(card.get_by_role("heading")).to_have_text(heading)
    cid = await card.get_attribute("data-conversation-id")
    assert cid
    await card.get_by_test_id("offer-accept").click()
    panel = panel_of(page, cid)
    await expect(panel).to_be_visible()
    return panel


def earlier(panel: Locator, channel: str = "text message") -> Locator:
    """The Show (or Hide) button of the panel's earlier contact on ``channel``."""
    return panel.get_by_role("button", name=re.compile(rf"^(Show|Hide) {channel}, {WHEN}$"))


async def test_text_and_email_offers_say_what_they_are_and_the_status_bar_counts_each_channel(
    server: LiveServer, page: Page, artifacts: Path
) -> None:
    await sign_in_available(page)
    load = page.get_by_test_id("load")
    counts = ["Chats: 0 of 3", "Texts: 0 of 5", "Emails: 0 of 5", "Calls: 0 of 1"]
    await expect(load.get_by_role("listitem")).to_have_text(counts)
    # Read out as a list, one channel an item: the dots between them are for the eye only.
    await expect(load).to_match_aria_snapshot("- list:\n" + "".join(f"  - listitem: {json.dumps(c)}\n" for c in counts))

    assert (await TwilioStandIn(server).post("/twilio/sms", text("Is my bin day changing?"))).status_code == 200
    card = page.get_by_test_id("offer")
    await expect(card.get_by_role("heading")).to_have_text(f"Text message from {MOBILE}")
    await expect(card.get_by_role("button", name=f"Accept text from {MOBILE}", exact=True)).to_have_text("Accept text")
    await expect(card.get_by_role("button", name=f"Decline text from {MOBILE}", exact=True)).to_have_text(
        "Decline text"
    )
    await expect(card.locator("dl")).to_contain_text("ChannelText message")
    await expect(page.locator("#announcer")).to_contain_text(f"New text offer from {MOBILE}, queue General enquiries.")
    await expect(page).to_have_title(re.compile(r"^\(1\) New offer \W Agent console"))
    await assert_accessible(page, "with a text offer")
    texted = await accept(page, f"Text message from {MOBILE}")
    counts[1] = "Texts: 1 of 5"
    await expect(load.get_by_role("listitem")).to_have_text(counts)

    await send(server, mail(subject="My claim"))
    card = page.get_by_test_id("offer")
    sender = "sian@example.org"
    await expect(card.get_by_role("heading")).to_have_text(f"Email from {sender}")
    await expect(card.get_by_role("button", name=f"Accept email from {sender}", exact=True)).to_have_text(
        "Accept email"
    )
    await expect(card.locator("dl")).to_contain_text("ChannelEmail")
    await expect(page.locator("#announcer")).to_contain_text(f"New email offer from {sender}")
    await page.screenshot(path=artifacts / "console-channels.png", full_page=True)
    await assert_accessible(page, "with an email offer and a text open")
    cid = await card.get_attribute("data-conversation-id")
    await card.get_by_test_id("offer-accept").click()
    await expect(offer_card(page, cid or "")).to_have_count(0)
    counts[2] = "Emails: 1 of 5"
    await expect(load.get_by_role("listitem")).to_have_text(counts)
    await expect(texted).to_be_visible()


async def test_a_chat_citizen_who_proves_their_mobile_brings_their_texts_into_the_panel_live(
    server: LiveServer, api: TwilioApi, db: asyncpg.Pool, page: Page, artifacts: Path
) -> None:
    texted = await answered_by_bethan(server, db, MOBILE, "Is my bin day changing?", "Yes, from Monday.")
    await sign_in_available(page)
    citizen, _ = await server.citizen("general", name="Ann Page")
    panel = await accept(page, "Chat from Ann Page")
    history = panel.get_by_test_id("history")
    await expect(history).to_have_count(0)  # a stranger, so far
    await citizen.send({"type": "message", "id": "m-1", "text": "Can I link my phone?"})
    await expect(panel.get_by_test_id("message")).to_have_text(re.compile("Can I link my phone"))

    await citizen.send({"type": "verify.start", "phone": "07700 900777"})
    await citizen.expect(typed("verify.sent"))
    await citizen.send({"type": "verify.check", "code": await code_texted(api, 2)})
    await citizen.expect(typed("verify.done"))

    await expect(history.locator("summary")).to_have_text("Earlier contacts (1)")  # without a reload
    await expect(history).to_have_attribute("open", "")
    await expect(page.locator("#polite-announcer")).to_contain_text("Earlier contacts updated for Ann Page.")
    line = history.get_by_test_id("history-item")
    await expect(line).to_have_text(re.compile(rf"^Text {WHEN} · General enquiries · Closed · Bethan Jones$"))
    await expect(line).to_have_attribute("data-channel", "sms")
    await expect(panel.locator(f'[data-history-id="{texted}"]')).to_have_count(1)

    show = earlier(panel)
    await expect(show).to_have_text("Show")
    await expect(show).to_have_attribute("aria-expanded", "false")
    await show.click()
    await expect(show).to_have_text("Hide")
    await expect(show).to_have_attribute("aria-expanded", "true")
    messages = history.get_by_test_id("history-message")
    await expect(messages).to_have_count(2)
    theirs, ours = messages.first, messages.last
    await expect(theirs).to_have_attribute("data-from", "citizen")
    await expect(theirs.locator(".message__sender")).to_have_text(MOBILE)
    await expect(theirs.locator(".message__text")).to_have_text("Is my bin day changing?")
    await expect(theirs.locator("time")).to_have_text(re.compile(r"^\d{2}:\d{2}$"))
    await expect(ours).to_have_attribute("data-from", "agent")
    await expect(ours.locator(".message__sender")).to_have_text("Bethan Jones")
    await expect(ours.locator(".message__text")).to_have_text("Yes, from Monday.")
    await expect(panel.get_by_test_id("message")).to_have_count(1)  # the chat's own transcript is as it was
    await expect(panel.get_by_role("list", name=re.compile(rf"^Messages of the text message, {WHEN}$"))).to_be_visible()
    await panel.screenshot(path=artifacts / "console-earlier-contact-open.png")
    await assert_accessible(page, "with an earlier text opened in a chat")

    await show.press("Enter")  # the keyboard closes it again
    await expect(show).to_have_text("Show")
    await expect(messages.first).to_be_hidden()
    await expect(show).to_be_focused()
    await citizen.ws.close()


async def citizen_id(web: httpx.AsyncClient, phone: str) -> str:
    found = await web.get("/api/citizens", params={"phone": phone})
    assert found.status_code == 200, found.text
    return str(found.json()["citizen"]["id"])


async def test_a_merge_keeps_the_list_as_it_was_and_a_contact_split_off_cannot_be_opened(
    server: LiveServer, db: asyncpg.Pool, page: Page
) -> None:
    await answered_by_bethan(server, db, MOBILE, "Is my bin day changing?", "Yes, from Monday.")
    other = await answered_by_bethan(server, db, OTHER, "New phone, same me", "Thanks, noted.")
    async with httpx.AsyncClient(base_url=server.base) as web:  # not kept waiting for Bethan, who has gone
        web.headers["Cookie"] = await login(server.base, "admin")
        changed = await web.patch("/api/queues/general", json={"previous_agent": {"days": 0}})
        assert changed.status_code == 200, changed.text
    held = HeldFrames("conversation.history")
    await held.route(page)
    await sign_in_available(page)
    assert (await TwilioStandIn(server).post("/twilio/sms", text("Any news?"))).status_code == 200
    panel = await accept(page, f"Text message from {MOBILE}")
    history = panel.get_by_test_id("history")
    summary = history.locator("summary")
    await expect(summary).to_have_text("Earlier contacts (1)")
    await earlier(panel).click()  # opened, then the list folded away
    await expect(history.get_by_test_id("history-message")).to_have_count(2)
    await summary.click()
    await expect(history).not_to_have_attribute("open", "")

    async with httpx.AsyncClient(base_url=server.base) as web:
        web.headers["Cookie"] = await login(server.base, "supervisor")
        one, two = await citizen_id(web, MOBILE), await citizen_id(web, OTHER)
        merged = await web.post(f"/api/citizens/{one}/merge", json={"from": two, "reason": "same person"})
        assert merged.status_code == 200, merged.text
        await expect(summary).to_have_text("Earlier contacts (2)")
        await expect(page.locator("#polite-announcer")).to_contain_text(f"Earlier contacts updated for {MOBILE}.")
        await expect(history).not_to_have_attribute("open", "")  # still folded, as the adviser left it
        await summary.click()
        await expect(earlier(panel)).to_have_count(2)
        mine = panel.locator(f'[data-history-id]:not([data-history-id="{other}"])')
        await expect(earlier(mine)).to_have_text("Hide")  # the contact that was open is open again
        await expect(mine.get_by_test_id("history-message")).to_have_count(2)

        held.holding = True  # the console has not yet heard of the split when the adviser opens the contact
        split = await web.post(f"/api/citizens/{one}/split", json={"conversations": [other], "phones": [OTHER]})
        assert split.status_code == 200, split.text
    theirs = panel.locator(f'[data-history-id="{other}"]')
    await earlier(theirs).click()
    await expect(theirs.get_by_test_id("history-error")).to_have_text(GONE)
    await expect(theirs.get_by_test_id("history-message")).to_have_count(0)
    await expect(page.locator("#polite-announcer")).to_contain_text(GONE)
    await assert_accessible(page, "with an earlier contact that can no longer be seen")
    held.release()
    await expect(summary).to_have_text("Earlier contacts (1)")
    await expect(theirs).to_have_count(0)


async def test_an_earlier_email_opens_with_its_subject_and_files(
    server: LiveServer, db: asyncpg.Pool, page: Page
) -> None:
    """The earlier contact of a citizen who mailed, then mailed again: their subject, and their file as a download."""
    pdf = b"%PDF-1.4\n" + b"0" * 2000 + b"\n%%EOF\n"
    first = mail(subject="My claim", body="Here is my payslip.")
    first.add_attachment(pdf, maintype="application", subtype="pdf", filename="payslip.pdf")
    await send(server, first)
    await sign_in_available(page)
    panel = await accept(page, "Email from sian@example.org")
    await panel.get_by_test_id("end-chat").click()
    await panel.locator('select[data-testid="disposition"]').select_option(label="Resolved")
    await panel.get_by_test_id("wrapup-done").click()
    await expect(panel).to_have_count(0)

    await send(server, mail(subject="My claim again", body="Did you get it?"))
    panel = await accept(page, "Email from sian@example.org")
    show = earlier(panel, "email")
    await show.click()
    theirs = panel.get_by_test_id("history-message").and_(panel.locator('[data-from="citizen"]'))
    await expect(theirs.get_by_role("heading", name="My claim", exact=True)).to_be_visible()
    await expect(theirs.locator(".message__text")).to_have_text("Here is my payslip.")
    link = theirs.get_by_role("link", name="payslip.pdf (PDF, 2 KB)", exact=True)
    assert re.fullmatch(r"/api/attachments/\d+", await link.get_attribute("href") or "")
    await expect(link).to_have_attribute("download", "payslip.pdf")
    async with page.expect_download() as downloading:
        await link.click()
    download = await downloading.value
    assert Path(await download.path()).read_bytes() == pdf
    await assert_accessible(page, "with an earlier email opened")
