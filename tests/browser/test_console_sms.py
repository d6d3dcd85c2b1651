"""Text (SMS) conversations in the console, in a real browser: a citizen texts in through a signed
Twilio webhook, an adviser accepts and replies in the console, which counts the texts a reply takes and
shows how far each reply got; STOP is honoured; every panel lists the citizen's earlier contacts."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.pages import HeldFrames, assert_accessible, panel_of, sign_in_available
from tests.channels.twilio_api import TwilioApi, api, server
from tests.channels.voice.twilio import TwilioStandIn, call_sid
from tests.conftest import LiveServer
from tests.helpers import UNIT

__all__ = ["api", "server"]  # fixtures, from tests.channels.twilio_api
pytestmark = pytest.mark.browser

CITIZEN, DEPARTMENT = "+447700900777", "+441632960000"
STOPPED = "Not sent: this citizen texted STOP. They get no texts until they text START."
# 161 characters of plain GSM-7: one more than a single text holds.
LONG = (
    "Your bin collection day is changing from Monday to Tuesday from 1 April. Please put your bins out "
    "by 7am on the new day. Garden waste stays on Friday. Thank you."
)


def text(body: str) -> dict[str, str]:
    """A text from the citizen, as Twilio posts it."""
    return {"MessageSid": "SM" + secrets.token_hex(16), "From": CITIZEN, "To": DEPARTMENT, "Body": body}


async def texts_sent(api: TwilioApi, count: int) -> list[dict[str, Any]]:
    """What the Twilio stand-in was asked to send, once it holds at least ``count`` texts."""
    deadline = time.monotonic() + 5 * UNIT
    while len(api.texts) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert len(api.texts) >= count, f"expected {count} texts sent, got {api.texts}"
    return api.texts


async def accept_text(page: Page, twilio: TwilioStandIn, body: str) -> Locator:
    """The citizen texts in; the adviser accepts the offer in the console. The conversation's panel."""
    assert (await twilio.post("/twilio/sms", text(body))).status_code == 200
    card = page.get_by_test_id("offer")
    await expect(card).to_have_count(1)
    await expect(card.get_by_role("heading")).to_contain_text(CITIZEN)
    cid = await card.get_attribute("data-conversation-id")
    assert cid
    await card.get_by_test_id("offer-accept").click()
    panel = panel_of(page, cid)
    await expect(panel.get_by_role("heading", name=CITIZEN)).to_be_visible()
    await expect(panel.locator('[data-testid="message"][data-from="citizen"]').last).to_have_text(re.compile(body))
    return panel


def reply(panel: Locator, body: str) -> Locator:
    return panel.locator('[data-testid="message"][data-from="agent"]', has_text=body)


async def test_the_reply_box_counts_texts_and_each_reply_shows_its_delivery(
    server: LiveServer, api: TwilioApi, page: Page, artifacts: Path
) -> None:
    twilio, statuses = TwilioStandIn(server), HeldFrames("message.status")
    await statuses.route(page)
    await sign_in_available(page)
    panel = await accept_text(page, twilio, "Hello, is my bin day changing?")
    await assert_accessible(page, "with a text conversation open")
    box, count = panel.get_by_test_id("message-input"), panel.get_by_test_id("sms-count")
    live = panel.get_by_test_id("sms-count-live")
    await expect(count).to_have_text("No characters yet. One text holds 160 characters.")
    count_id = await count.get_attribute("id")
    assert count_id and count_id in (await box.get_attribute("aria-describedby") or "").split()

    await box.press_sequentially("Yes, from Monday.")
    await expect(count).to_have_text("17 characters, 1 text")
    await expect(live).to_have_text("")  # one text, as ever: nothing is read out while typing
    assert len(LONG) == 161
    await box.fill(LONG)
    await expect(count).to_have_text("161 characters, 2 texts (long texts cost more)")
    await expect(live).to_have_text("161 characters, 2 texts (long texts cost more)")
    await box.press("!")  # still two texts: the live region does not change on every keystroke
    await expect(count).to_have_text("162 characters, 2 texts (long texts cost more)")
    await expect(live).to_have_text("161 characters, 2 texts (long texts cost more)")
    await box.fill("Diolch, fe wnawn ni ffonio chi ddydd Llun ŵ")
    await expect(count).to_have_text(
        "43 characters, 1 text. Because of “ŵ”, each text holds 70 characters instead of 160."
    )

    statuses.holding = True  # until the console hears that Twilio took it, the reply is on its way
    await box.fill("Yes, from Monday.")
    await box.press("Enter")
    first = reply(panel, "Yes, from Monday.")
    await expect(first.get_by_test_id("message-delivery")).to_have_text("Sending…")
    [sent] = await texts_sent(api, 1)
    assert (sent["To"], sent["Body"]) == (CITIZEN, "Yes, from Monday.")
    statuses.release()
    await expect(first.get_by_test_id("message-delivery")).to_have_text("Sent to their phone")
    await expect(count).to_have_text("No characters yet. One text holds 160 characters.")
    await twilio.post("/twilio/sms/status", {"MessageSid": sent["Sid"], "MessageStatus": "delivered"})
    await expect(first.get_by_test_id("message-delivery")).to_have_text("Delivered")
    await twilio.post("/twilio/sms/status", {"MessageSid": sent["Sid"], "MessageStatus": "sent"})  # late: ignored

    await box.fill("Is there anything else?")
    await box.press("Enter")
    second = (await texts_sent(api, 2))[1]
    await twilio.post("/twilio/sms/status", {"MessageSid": second["Sid"], "MessageStatus": "undelivered"})
    failed = reply(panel, "Is there anything else?").get_by_test_id("message-delivery")
    await expect(failed).to_have_text("Not delivered. Try sending it again, or contact them another way.")
    await expect(failed).to_have_attribute("data-tone", "failed")
    await expect(page.locator("#announcer")).to_contain_text(f"Your text to {CITIZEN} was not delivered.")
    await expect(first.get_by_test_id("message-delivery")).to_have_text("Delivered")

    await twilio.post("/twilio/sms", text("STOP"))
    await expect(panel.locator('[data-testid="message"][data-from="system"]')).to_contain_text("texted STOP")
    await box.fill("We will write to you instead.")
    await box.press("Enter")
    stopped = reply(panel, "We will write to you instead.").get_by_test_id("message-delivery")
    await expect(stopped).to_have_text(STOPPED)
    await expect(page.locator("#announcer")).to_contain_text(f"Not sent: {CITIZEN} texted STOP.")
    assert len(api.texts) == 2  # the server decided before the console heard: nothing more went to Twilio
    await box.fill("Diolch yn fawr iawn, bydd y lori'n dod ddydd Mawrth ŵ")
    await panel.screenshot(path=artifacts / "console-sms.png")
    await assert_accessible(page, "with replies delivered, failed and not sent (STOP)")


async def test_the_panel_lists_the_citizens_earlier_contacts(server: LiveServer, page: Page, artifacts: Path) -> None:
    twilio = TwilioStandIn(server)
    await sign_in_available(page)
    first = await accept_text(page, twilio, "First question")
    await expect(first.get_by_test_id("history")).to_have_count(0)  # never contacted us before
    await first.get_by_test_id("end-chat").click()
    await expect(first.get_by_test_id("wrapup")).to_be_visible()
    await assert_accessible(page, "in a text conversation's wrap-up")
    await first.locator('select[data-testid="disposition"]').select_option(label="Resolved")
    await first.get_by_test_id("wrapup-done").click()
    await expect(first).to_have_count(0)

    panel = await accept_text(page, twilio, "Second question")
    history = panel.get_by_test_id("history")
    await expect(history.locator("summary")).to_have_text("Earlier contacts (1)")
    await expect(history).to_have_attribute("open", "")
    earlier = history.get_by_test_id("history-item")
    await expect(earlier).to_have_count(1)
    when = r"\d{1,2} [A-Z][a-z]{2,3} \d{4}, \d{2}:\d{2}"  # en-GB: "3 Mar 2026, 14:05" ("Sept" in September)
    await expect(earlier).to_have_text(re.compile(rf"^Text {when} · General enquiries · Closed · Alex Morgan$"))

    for _ in range(3):  # the same citizen rings three times: more than a few earlier contacts fold away
        call = {"CallSid": call_sid(), "From": CITIZEN, "To": DEPARTMENT}
        assert (await twilio.post("/twilio/voice", call)).status_code == 200
    await page.reload()  # the server sends the conversation again, with the history as it is now
    await expect(history.locator("summary")).to_have_text("Earlier contacts (4)")
    await expect(history).not_to_have_attribute("open", "")
    await expect(earlier.first).to_be_hidden()
    await history.locator("summary").click()
    await expect(earlier).to_have_count(4)
    await expect(earlier.first).to_have_text(re.compile(rf"^Call {when} · "))
    await expect(earlier.last).to_have_text(re.compile(r"^Text .* · Closed · Alex Morgan$"))
    await panel.screenshot(path=artifacts / "console-earlier-contacts.png")
    await assert_accessible(page, "with a text conversation's earlier contacts listed")


COUNTS = """async () => {
  const { textSegments } = await import('/console/texting.js');
  const cases = {
    gsm160: 'a'.repeat(160), gsm161: 'a'.repeat(161), gsm306: 'a'.repeat(306), gsm307: 'a'.repeat(307),
    euro80: '€'.repeat(80), euro81: '€'.repeat(81),
    escapeNotSplit: 'a'.repeat(152) + '€' + 'a'.repeat(152),
    ucs70: 'ŵ'.repeat(70), ucs71: 'ŵ'.repeat(71), ucs134: 'ŵ'.repeat(134), ucs135: 'ŵ'.repeat(135),
    emoji35: '😀'.repeat(35), emoji36: '😀'.repeat(36),
    pairNotSplit: 'a'.repeat(66) + '😀' + 'a'.repeat(66),
    empty: '',
  };
  return Object.fromEntries(Object.entries(cases).map(([k, v]) => [k, textSegments(v)]));
}"""


async def test_texts_are_counted_as_carriers_split_them(server: LiveServer, page: Page) -> None:
    """GSM-7: 160 septets, then 153 a part, an escaped character never split; UCS-2: 70 UTF-16 code
    units, then 67, a surrogate pair never split (3GPP TS 23.038, 23.040)."""
    await page.goto("/console/")
    got = await page.evaluate(COUNTS)
    segments = {k: v["segments"] for k, v in got.items()}
    assert segments == {
        "gsm160": 1, "gsm161": 2, "gsm306": 2, "gsm307": 3, "euro80": 1, "euro81": 2,
        "escapeNotSplit": 3, "ucs70": 1, "ucs71": 2, "ucs134": 2, "ucs135": 3,
        "emoji35": 1, "emoji36": 2, "pairNotSplit": 3, "empty": 0,
    }  # fmt: skip
    assert {k for k, v in got.items() if v["encoding"] == "UCS-2"} == {
        "ucs70", "ucs71", "ucs134", "ucs135", "emoji35", "emoji36", "pairNotSplit"
    }  # fmt: skip
    assert (got["emoji36"]["characters"], got["emoji36"]["special"]) == (36, "😀")


ORDER = """async () => {
  const { laterDelivery } = await import('/console/texting.js');
  return [
    laterDelivery(undefined, 'queued'), laterDelivery('pending', 'queued'), laterDelivery('delivered', 'sent'),
    laterDelivery('sending', 'queued'), laterDelivery('sent', 'undelivered'), laterDelivery('queued', 'made-up'),
  ];
}"""


async def test_a_reply_status_never_goes_back(server: LiveServer, page: Page) -> None:
    """Twilio's callbacks, and the console's frames, may cross: the furthest status stays."""
    await page.goto("/console/")
    assert await page.evaluate(ORDER) == ["queued", "queued", "delivered", "sending", "undelivered", "queued"]
