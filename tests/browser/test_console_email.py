"""Email conversations in the console, in a real browser: a citizen's mail arrives over SMTP with a quoted
earlier message and a PDF; the adviser accepts it and sees its subject, the case reference, the quoted text
folded away and the file as a download; replies with an edited subject and closes, and the local relay gets
the threaded reply; a relay outage shows the reply retrying until it is sent."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Locator, Page, expect

from channels.email.compose import reply_subject
from tests.browser.pages import assert_accessible, sign_in_available
from tests.channels.email.mailer import TO, mail, send
from tests.channels.email.relay import Relay, relay, server
from tests.conftest import LiveServer
from tests.helpers import UNIT

__all__ = ["relay", "server"]  # fixtures, from tests.channels.email.relay

pytestmark = pytest.mark.browser

CITIZEN = "sian@example.org"  # the citizen's name in the console is their address
PDF = b"%PDF-1.4\n" + b"0" * 2000 + b"\n%%EOF\n"
REFERENCE = re.compile(r"\[Ref: (CD-[0-9A-Z]{6})\]")
QUOTED = (
    "On Mon, 2 Mar 2026 at 09:00, Benefits team <benefits@demo.contactd.local> wrote:\n> Please send us your payslip."
)


async def acknowledged(db: asyncpg.Pool, server: LiveServer) -> str:
    """The id of the tenant's one email conversation, once its acknowledgement is recorded (it names the reference)."""
    deadline = time.monotonic() + 5 * UNIT
    while time.monotonic() < deadline:
        cid = await db.fetchval(
            "SELECT c.id::text FROM conversations c JOIN messages m ON m.conversation_id = c.id"
            " WHERE c.tenant_id = $1 AND m.sender = 'system'",
            server.settings.tenant,
        )
        if cid:
            return str(cid)
        await asyncio.sleep(0.02)
    raise AssertionError("the citizen's mail was not acknowledged")


async def accept_by_keyboard(page: Page, cid: str) -> Locator:
    """The offer takes the focus; Enter accepts it and the focus goes to the reply. The panel."""
    accept = page.locator(f'[data-testid="offer"][data-conversation-id="{cid}"] [data-testid="offer-accept"]')
    await expect(accept).to_be_focused()
    await page.keyboard.press("Enter")
    panel = page.locator(f'[data-testid="conversation"][data-conversation-id="{cid}"]')
    await expect(panel.get_by_role("heading", name=CITIZEN, exact=True)).to_be_visible()
    await expect(panel.get_by_label(f"Reply to {CITIZEN}")).to_be_focused()
    return panel


def replies(panel: Locator) -> Locator:
    return panel.locator('[data-testid="message"][data-from="agent"]')


async def test_an_email_is_read_with_its_files_then_answered_and_closed(
    server: LiveServer, relay: Relay, db: asyncpg.Pool, page: Page, artifacts: Path
) -> None:
    await relay.start()
    await sign_in_available(page, "agent2", "Bethan Jones")
    msg = mail(body=f"Please call me about my claim.\n\n{QUOTED}", Message_ID="<claim-web@example.org>")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="payslip.pdf")
    await send(server, msg)
    [(_, _, ack)] = await relay.wait(1)
    reference = REFERENCE.search(str(ack["Subject"])).group(1)  # type: ignore[union-attr]
    panel = await accept_by_keyboard(page, await acknowledged(db, server))

    await expect(panel.get_by_test_id("case-reference")).to_have_text(f"Case reference: {reference}")
    theirs = panel.locator('[data-testid="message"][data-from="citizen"]')
    await expect(theirs.get_by_role("heading", name="My claim", exact=True)).to_be_visible()
    await expect(theirs.get_by_text("Please call me about my claim.")).to_be_visible()
    quoted, summary = theirs.get_by_text("> Please send us your payslip."), theirs.locator("summary")
    await expect(quoted).to_be_hidden()
    await expect(summary).to_have_text("Show quoted text")
    await summary.focus()
    await page.keyboard.press("Enter")  # a native <details>: the keyboard opens it
    await expect(quoted).to_be_visible()
    await expect(theirs.get_by_text(QUOTED.splitlines()[0])).to_be_visible()  # the attribution is kept too
    await expect(summary).to_have_text("Hide quoted text")
    await assert_accessible(page, "with an email open, its quoted text shown")
    await expect(panel.locator('[data-testid="message"][data-from="system"]')).to_have_text(
        re.compile(rf"Acknowledgement sent \(case reference {reference}\)\.")
    )

    link = theirs.get_by_role("link", name="payslip.pdf (PDF, 2 KB)", exact=True)
    assert re.fullmatch(r"/api/attachments/\d+", await link.get_attribute("href") or "")
    await expect(link).to_have_attribute("download", "payslip.pdf")
    await expect(panel.locator("img, iframe, object, embed")).to_have_count(0)  # nothing the citizen sent is shown
    async with page.expect_download() as downloading:
        await link.click()
    download = await downloading.value
    assert download.suggested_filename == "payslip.pdf"
    assert Path(await download.path()).read_bytes() == PDF

    # The reply, by keyboard: the subject (prefilled), Enter to the body, Enter for a new line, Send and close.
    subject = panel.get_by_label("Subject", exact=True)
    await expect(subject).to_have_value(f"Re: My claim [Ref: {reference}]")
    edited = f"Re: My claim — your payment date [Ref: {reference}]"
    body = panel.get_by_label(f"Reply to {CITIZEN}")
    await body.focus()
    await page.keyboard.press("Shift+Tab")
    await expect(subject).to_be_focused()
    await subject.fill(edited)
    await page.keyboard.press("Enter")  # in the subject: on to the body, nothing sent
    await expect(body).to_be_focused()
    await page.keyboard.type("We have paid it today.")
    await page.keyboard.press("Enter")  # in an email: a new line, nothing sent
    await page.keyboard.type("Bethan")
    await expect(body).to_have_value("We have paid it today.\nBethan")
    await expect(replies(panel)).to_have_count(0)
    await page.keyboard.press("Tab")
    await expect(panel.get_by_role("button", name="Send reply")).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(panel.get_by_role("button", name="Send and close")).to_be_focused()
    await page.keyboard.press("Enter")

    [_, (_, to, sent)] = await relay.wait(2)
    assert to == [CITIZEN] and sent["From"] == TO and sent["Subject"] == edited
    assert sent["In-Reply-To"] == "<claim-web@example.org>"
    assert "<claim-web@example.org>" in sent["References"] and ack["Message-ID"] in sent["References"]
    assert sent.get_content().replace("\r\n", "\n").strip() == "We have paid it today.\nBethan"  # SMTP's line ends
    mine = replies(panel)
    await expect(mine.get_by_role("heading", name=edited, exact=True)).to_be_visible()
    await expect(mine.get_by_test_id("message-delivery")).to_have_text("Sent")
    await expect(page.locator("#polite-announcer")).to_contain_text(f"Your reply to {CITIZEN} was sent.")
    await expect(panel.get_by_test_id("wrapup")).to_be_visible()
    await expect(panel.get_by_test_id("conversation-status")).to_have_text("Email ended by you.")
    await expect(panel.get_by_label("Outcome")).to_be_focused()
    await panel.screenshot(path=artifacts / "console-email.png")
    await assert_accessible(page, "in an email's wrap-up")
    await panel.get_by_label("Outcome").select_option(label="Resolved")
    await panel.get_by_test_id("wrapup-done").click()
    await expect(panel).to_have_count(0)
    assert len(relay.mails) == 2


async def test_a_reply_waiting_for_the_relay_shows_retrying_then_sent(
    server: LiveServer, relay: Relay, db: asyncpg.Pool, page: Page, artifacts: Path
) -> None:
    await sign_in_available(page, "agent2", "Bethan Jones")  # the relay is down
    hostile = 'Is it paid? <img src=x onerror="window.pwned = 1"> <b>Please</b>'
    await send(server, mail(body=hostile, Message_ID="<claim-down@example.org>"))
    panel = await accept_by_keyboard(page, await acknowledged(db, server))
    theirs = panel.locator('[data-testid="message"][data-from="citizen"]')
    await expect(theirs.locator(".message__text")).to_have_text(hostile)  # mail is text, never markup
    await expect(theirs.locator("summary")).to_have_count(0)  # nothing quoted, nothing folded
    shown = panel.get_by_test_id("case-reference")
    await expect(shown).to_have_text(re.compile(r"^Case reference: CD-[0-9A-Z]{6}$"))
    reference = (await shown.inner_text()).removeprefix("Case reference: ")
    await expect(panel.get_by_label("Subject", exact=True)).to_have_value(f"Re: My claim [Ref: {reference}]")

    await page.keyboard.type("Yes, it was paid on Monday.")
    await panel.get_by_role("button", name="Send reply").click()
    delivery = replies(panel).get_by_test_id("message-delivery")
    await expect(delivery).to_have_text("Retrying — the mail server is unreachable")
    await expect(delivery).to_have_attribute("aria-live", "off")  # told once through the polite announcer
    await expect(page.locator("#polite-announcer")).to_contain_text(
        f"Your reply to {CITIZEN} is waiting: the mail server is unreachable."
    )
    await expect(panel.get_by_label(f"Reply to {CITIZEN}")).to_have_value("")
    await panel.screenshot(path=artifacts / "console-email-retrying.png")
    await assert_accessible(page, "with a reply retrying")
    assert await page.evaluate("window.pwned") is None

    await relay.start()
    await expect(delivery).to_have_text("Sent", timeout=10_000 * UNIT)
    mails = await relay.wait(2)
    [sent] = [m for _, _, m in mails if "Auto-Submitted" not in m]
    assert sent["Subject"] == f"Re: My claim [Ref: {reference}]"
    assert sent.get_content().strip() == "Yes, it was paid on Monday."
    await expect(panel.get_by_test_id("wrapup")).to_be_hidden()  # Send reply leaves the email open

    await page.reload()  # the server sends the conversation again: each reply keeps its subject and status
    again = replies(panel)
    await expect(again.get_by_role("heading", name=f"Re: My claim [Ref: {reference}]")).to_be_visible()
    await expect(again.get_by_test_id("message-delivery")).to_have_text("Sent")


SPLIT = """async (texts) => {
  const { splitQuoted } = await import('/console/email.js');
  return texts.map((text) => splitQuoted(text));
}"""


async def test_quoted_text_is_found_and_no_text_is_lost(server: LiveServer, page: Page) -> None:
    await page.goto("/console/")
    texts = [
        f"Thanks\n\n{QUOTED}\n> Thank you.\n",
        "Yes.\n> Did you get the form?\n\n> And the payslip?\nBoth sent.\n",
        "Diolch\n\nAr ddydd Llun, 2 Maw 2026 am 09:00, Tîm Budd-daliadau <b@x> ysgrifennodd:\nHen neges\n",
        "Fine\nOn Mon, 2 Mar 2026 at 09:00, Benefits team <\nbenefits@demo.contactd.local> wrote:\nOld\n",
        "Reply\r\n-----Original Message-----\r\nFrom: us\r\n",
        "No quotes here, on Monday they wrote to me.\n",
        "",
    ]
    got = await page.evaluate(SPLIT, texts)
    assert ["".join(part["text"] for part in parts) for parts in got] == texts
    assert [[(p["quoted"], p["text"].split("\n")[0]) for p in parts] for parts in got] == [
        [(False, "Thanks"), (True, QUOTED.splitlines()[0])],
        [(False, "Yes."), (True, "> Did you get the form?"), (False, "Both sent.")],
        [(False, "Diolch"), (True, "Ar ddydd Llun, 2 Maw 2026 am 09:00, Tîm Budd-daliadau <b@x> ysgrifennodd:")],
        [(False, "Fine"), (True, "On Mon, 2 Mar 2026 at 09:00, Benefits team <")],
        [(False, "Reply\r"), (True, "-----Original Message-----\r")],
        [(False, "No quotes here, on Monday they wrote to me.")],
        [],
    ]


SUBJECTS = """async (cases) => {
  const { replySubject } = await import('/console/email.js');
  return cases.map(([subject, reference]) => replySubject(subject, reference));
}"""


async def test_the_reply_subject_is_the_one_the_server_writes(server: LiveServer, page: Page) -> None:
    """The subject field is prefilled as channels/email/compose.reply_subject writes it, so what the
    adviser sees is what the citizen gets."""
    await page.goto("/console/")
    ref = "CD-7K3M9Q"
    subjects = ["My claim", "RE: Fwd: re: My claim", f"Re: My claim [Ref: {ref}]", "Ateb: Cais [ref cd-7k3m9q]", "  "]
    subjects += [f"[Ref:{ref}] Re: Council tax", "Re:", str(uuid.uuid4())]
    got = await page.evaluate(SUBJECTS, [[s, ref] for s in subjects])
    assert got == [reply_subject(s, ref) for s in subjects]
