"""One citizen, one timeline, in a real browser: on the chat page a citizen links their chat to their
mobile with a code we text them; when they text us later, the adviser's console lists that chat among
the citizen's earlier contacts. And the chat page's form for it: its errors, its busy button, Welsh."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
import uuid
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import BrowserContext, Locator, Page, WebSocketRoute, expect

from tests.browser.pages import panel_of, sign_in_available
from tests.browser.test_chat_page import start_chat, transcript_lines
from tests.channels.twilio_api import TwilioApi, api, server
from tests.channels.voice.twilio import TwilioStandIn
from tests.conftest import LiveServer
from tests.helpers import UNIT

__all__ = ["api", "server"]  # fixtures, from tests.channels.twilio_api
pytestmark = pytest.mark.browser

MOBILE, DEPARTMENT = "+447700900321", "+441632960000"
OFFER = "Link this chat to your mobile number"
WHY = "so an adviser can see your earlier texts and calls to us"
PHONE_HINT = "A UK mobile number, starting 07."
SENT = "We\u2019ve texted a code to your mobile ending 321."
CODE_HINT = "The code is 6 digits."
LINKED = "Your chat is linked to your mobile ending 321."
NOT_MOBILE = "Error: Give a UK mobile number (07…) for us to text a code to."  # the server's words
WRONG = "Error: That code is not right; 4 tries left."


async def codes_texted(api: TwilioApi, count: int) -> list[str]:
    """The codes texted so far, once there are at least ``count``; each must have gone to MOBILE."""
    deadline = time.monotonic() + 5 * UNIT
    while len(api.texts) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert len(api.texts) >= count, f"expected {count} codes texted, got {api.texts}"
    assert {t["To"] for t in api.texts} == {MOBILE}, api.texts
    found = [re.search(r"\b(\d{6})\b", t["Body"]) for t in api.texts]
    assert all(found), api.texts
    return [f.group(1) for f in found if f]


def phone_field(page: Page, label: str = "Your mobile number") -> Locator:
    return page.get_by_label(label, exact=True)


def code_field(page: Page, label: str = "Code from the text") -> Locator:
    return page.get_by_label(label, exact=True)


async def console_page(context: BrowserContext) -> tuple[Page, list[str]]:
    """The adviser's console in a second tab, signed in and Available; its uncaught script errors."""
    console = await context.new_page()
    errors: list[str] = []
    console.on("pageerror", lambda error: errors.append(str(error)))
    await sign_in_available(console)
    return console, errors


async def accept_offer(console: Page, heading: str) -> tuple[str, Locator]:
    """The adviser accepts the one offer, whose heading says ``heading``. Its conversation id and panel."""
    card = console.get_by_test_id("offer")
    await expect(card).to_have_count(1)
    await expect(card.get_by_role("heading")).to_contain_text(heading)
    cid = await card.get_attribute("data-conversation-id")
    assert cid
    await card.get_by_test_id("offer-accept").click()
    panel = panel_of(console, cid)
    await expect(panel).to_be_visible()
    return cid, panel


async def wrap_up(panel: Locator) -> None:
    await panel.get_by_test_id("end-chat").click()
    await panel.locator('select[data-testid="disposition"]').select_option(label="Resolved")
    await panel.get_by_test_id("wrapup-done").click()
    await expect(panel).to_have_count(0)


async def test_a_citizen_who_chats_and_then_texts_shows_one_timeline_in_the_console(
    server: LiveServer, api: TwilioApi, db: asyncpg.Pool, context: BrowserContext, page: Page, artifacts: Path
) -> None:
    console, console_errors = await console_page(context)
    await start_chat(page)
    chat, chat_panel = await accept_offer(console, "Chat from Ann Page")
    await expect(transcript_lines(page, "system")).to_have_text(["Alex Morgan has joined the chat"])
    await expect(chat_panel.get_by_test_id("history")).to_have_count(0)  # a stranger, so far

    await page.get_by_text(OFFER, exact=True).click()
    await expect(page.locator("#verify")).to_contain_text(WHY)
    await phone_field(page).fill("07700 900321")
    await page.get_by_role("button", name="Text me a code").click()
    [code] = await codes_texted(api, 1)
    await expect(code_field(page)).to_be_focused()
    await page.reload()  # the page comes back where it was: the code is still to be typed
    await expect(page.locator("#verify-sent")).to_have_text(SENT)
    await code_field(page).fill(code)
    await code_field(page).press("Enter")
    linked = page.locator("#verify-done")
    await expect(linked).to_have_text(LINKED)
    await expect(linked).to_be_focused()  # the form that had focus has gone
    await expect(page.locator("#verify")).to_be_hidden()
    await page.screenshot(path=artifacts / "chat-verify-linked.png", full_page=True)
    await page.reload()  # still linked: the form is not offered again
    await expect(transcript_lines(page, "system")).to_have_text(["Alex Morgan has joined the chat"])
    await expect(linked).to_have_text(LINKED)
    await expect(page.locator("#verify")).to_be_hidden()

    await wrap_up(chat_panel)
    await expect(page.locator("#ended-message")).to_have_text("The chat has ended. The adviser ended the chat.")

    # Later the citizen texts from that number: the adviser sees the chat in the same timeline.
    sms = {"MessageSid": "SM" + secrets.token_hex(16), "From": MOBILE, "To": DEPARTMENT, "Body": "Any news?"}
    assert (await TwilioStandIn(server).post("/twilio/sms", sms)).status_code == 200
    texted, text_panel = await accept_offer(console, MOBILE)
    history = text_panel.get_by_test_id("history")
    await expect(history.locator("summary")).to_have_text("Earlier contacts (1)")
    earlier = history.get_by_test_id("history-item")
    await expect(earlier).to_have_count(1)
    await expect(earlier).to_have_attribute("data-channel", "chat")
    when = r"\d{1,2} [A-Z][a-z]{2,3} \d{4}, \d{2}:\d{2}"  # en-GB: "3 Mar 2026, 14:05"
    await expect(earlier).to_have_text(re.compile(rf"^Chat {when} · General enquiries · Closed · Alex Morgan$"))
    await text_panel.screenshot(path=artifacts / "console-timeline.png")
    records = await db.fetch(
        "SELECT DISTINCT citizen_id FROM conversations WHERE id = ANY($1::uuid[])", [uuid.UUID(chat), uuid.UUID(texted)]
    )
    assert len(records) == 1, records
    assert len(api.texts) == 1
    assert not console_errors, f"uncaught script errors in the console: {console_errors}"


class HeldAnswers:
    """The chat page's /ws/chat socket passed through as it is, except that verify.sent frames wait while
    ``holding`` (so a test sees the request in flight); and the type of every frame the page sent."""

    def __init__(self) -> None:
        self.holding = False
        self.held: list[str | bytes] = []
        self.sent: list[str] = []
        self.page_side: WebSocketRoute | None = None

    async def route(self, page: Page) -> None:
        await page.route_web_socket(re.compile(r"/ws/chat$"), self._connect)

    def _connect(self, page_side: WebSocketRoute) -> None:
        self.page_side = page_side
        server_side = page_side.connect_to_server()
        page_side.on_message(lambda message: self._from_page(server_side, message))
        server_side.on_message(self._from_server)

    def _from_page(self, server_side: WebSocketRoute, message: str | bytes) -> None:
        self.sent.append(json.loads(message)["type"])
        server_side.send(message)

    def _from_server(self, message: str | bytes) -> None:
        assert self.page_side is not None
        if self.holding and json.loads(message).get("type") == "verify.sent":
            self.held.append(message)
        else:
            self.page_side.send(message)

    def release(self) -> None:
        assert self.page_side is not None
        self.holding = False
        for message in self.held:
            self.page_side.send(message)
        self.held.clear()


async def test_the_form_explains_itself_shows_each_error_beside_its_field_and_waits_for_answers(
    server: LiveServer, api: TwilioApi, page: Page, artifacts: Path
) -> None:
    answers = HeldAnswers()
    await answers.route(page)
    await start_chat(page)  # nobody is signed in, so the chat waits: linking is offered already
    await expect(page.locator("#queue-status")).to_have_text("You are number 1 in the queue.")
    phone = phone_field(page)
    await expect(phone).to_be_hidden()  # a disclosure, closed until asked for
    await page.get_by_text(OFFER, exact=True).focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#verify")).to_contain_text(WHY)
    for name, value in {"type": "tel", "autocomplete": "tel", "inputmode": "tel"}.items():
        await expect(phone).to_have_attribute(name, value)
    await expect(phone).to_have_accessible_description(PHONE_HINT)

    send = page.get_by_role("button", name="Text me a code")
    await send.click()
    error = page.locator("#verify-phone-error")
    await expect(error).to_have_text("Error: Enter your mobile number")
    await expect(phone).to_be_focused()
    await phone.fill("01632 960 001")  # a landline: it cannot take a text
    await phone.press("Enter")
    await expect(error).to_have_text(NOT_MOBILE)
    await expect(error).to_have_attribute("role", "alert")
    await expect(phone).to_have_attribute("aria-invalid", "true")
    await expect(phone).to_have_accessible_description(f"{PHONE_HINT} {NOT_MOBILE}")
    await expect(phone).to_be_focused()
    await expect(page.locator("#verify-phone-group")).to_have_class("form-group form-group--error")
    await page.screenshot(path=artifacts / "chat-verify-not-mobile.png", full_page=True)
    assert api.texts == []

    answers.holding = True  # until the page hears the code went, the button says so and does nothing
    await phone.fill("07700 900321")
    await send.click()
    await expect(page.get_by_role("button", name="Sending…")).to_have_attribute("aria-disabled", "true")
    await codes_texted(api, 1)
    await expect(page.get_by_role("button", name="Sending…")).to_be_focused()
    await page.keyboard.press("Enter")  # again, and from the field: nothing more is sent
    await phone.press("Enter")
    assert answers.sent.count("verify.start") == 2, answers.sent  # the landline, the mobile once
    await expect(error).to_have_text("")  # the earlier error went with the new request
    answers.release()

    code = code_field(page)
    await expect(code).to_be_focused()
    for name, value in {"inputmode": "numeric", "autocomplete": "one-time-code"}.items():
        await expect(code).to_have_attribute(name, value)
    await expect(code).to_have_accessible_description(f"{SENT} {CODE_HINT}")
    await expect(page.locator("#verify-sent")).to_have_attribute("role", "status")
    await expect(phone).to_be_hidden()
    code_error = page.locator("#verify-code-error")
    await code.fill("12345")
    await code.press("Enter")
    await expect(code_error).to_have_text("Error: Enter the 6-digit code from the text")
    assert "verify.check" not in answers.sent  # a try is not spent on what cannot be a code
    [right] = await codes_texted(api, 1)
    await code.fill("000000" if right != "000000" else "111111")
    await page.get_by_role("button", name="Check code").click()
    await expect(code_error).to_have_text(WRONG)
    await expect(code).to_have_attribute("aria-invalid", "true")
    await expect(code).to_be_focused()
    await expect(code).to_have_accessible_description(f"{SENT} {CODE_HINT} {WRONG}")
    await page.screenshot(path=artifacts / "chat-verify-wrong-code.png", full_page=True)

    await page.locator("#language-toggle").click()  # the Welsh page uses its own words, the same count
    await expect(page.get_by_text("Cysylltu\u2019r sgwrs hon â\u2019ch rhif ffôn symudol")).to_be_visible()
    await expect(code_error).to_have_text("Gwall: Nid yw\u2019r cod hwnnw\u2019n gywir. Mae gennych 4 cynnig ar ôl.")
    await expect(page.get_by_role("button", name="Gwirio\u2019r cod")).to_be_visible()
    await page.screenshot(path=artifacts / "chat-verify-wrong-code-cy.png", full_page=True)
    await page.locator("#language-toggle").click()

    await page.get_by_role("button", name="Send a new code").click()
    await codes_texted(api, 2)
    await expect(page.locator("#verify-sent")).to_have_text(
        "We\u2019ve texted a new code to your mobile ending 321. Use the newest code."
    )
    await expect(code_error).to_have_text("")
    await expect(code).to_have_value("")
    await expect(code).to_be_focused()
    await page.get_by_role("button", name="Use a different number").click()
    await expect(phone).to_be_focused()
    await expect(phone).to_have_value("07700 900321")
    await expect(code).to_be_hidden()
    assert answers.sent.count("verify.check") == 1, answers.sent


async def test_a_welsh_citizen_links_their_chat_in_welsh(server: LiveServer, api: TwilioApi, page: Page) -> None:
    await page.goto("/chat/?lang=cy")
    await page.locator("#queue").select_option("general")
    await page.locator("#name").fill("Ann Page")
    await page.locator("#start-button").click()
    await expect(page.locator("#queue-status")).to_have_text("Rydych yn rhif 1 yn y ciw.")
    await page.get_by_text("Cysylltu\u2019r sgwrs hon â\u2019ch rhif ffôn symudol").click()
    phone = phone_field(page, "Eich rhif ffôn symudol")
    await expect(phone).to_have_accessible_description("Rhif ffôn symudol yn y DU, yn dechrau gydag 07.")
    await phone.fill("01632 960 001")
    await page.get_by_role("button", name="Anfon cod ataf").click()
    await expect(page.locator("#verify-phone-error")).to_have_text(
        "Gwall: Rhowch rif ffôn symudol yn y DU, yn dechrau gydag 07, fel 07700 900 982."
    )
    await phone.fill("07700 900321")
    await page.get_by_role("button", name="Anfon cod ataf").click()
    [code] = await codes_texted(api, 1)
    assert api.texts[0]["Body"].startswith("Eich cod yw")  # the chat's language
    await code_field(page, "Y cod o\u2019r neges destun").fill(code)
    await page.get_by_role("button", name="Gwirio\u2019r cod").click()
    linked = page.locator("#verify-done")
    await expect(linked).to_have_text(
        "Mae\u2019ch sgwrs wedi\u2019i chysylltu â\u2019ch ffôn symudol sy\u2019n gorffen â 321."
    )
    await page.locator("#language-toggle").click()
    await expect(linked).to_have_text(LINKED)
