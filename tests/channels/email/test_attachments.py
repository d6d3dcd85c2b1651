"""A citizen's files: kept within the size and type limits, listed for the adviser, downloaded only by staff
who may see them; and the limit on how much mail one address may send."""

from __future__ import annotations

import asyncio
import smtplib

import asyncpg
import httpx
import pytest

from channels.email.inbound import PER_SENDER
from tests.channels.email.mailer import conversations, mail, send
from tests.conftest import LiveServer
from tests.helpers import login

PDF = b"%PDF-1.4\n" + b"0" * 2000 + b"\n%%EOF\n"


async def test_files_within_the_limits_are_kept_and_the_adviser_is_told_of_the_others(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    msg = mail(subject="Evidence", body="My payslip is attached.")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="payslip.pdf")
    msg.add_attachment(b"MZ\x90\x00", maintype="application", subtype="octet-stream", filename="invoice.exe")
    msg.add_attachment(b"<script>", maintype="text", subtype="html", filename="page.html")
    msg.add_attachment(b"\xff\xd8" + b"0" * (6 * 1024 * 1024), maintype="image", subtype="jpeg", filename="big.jpg")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="../../etc/passwd.pdf")
    await send(server, msg)
    [row] = await conversations(db, server)

    agent = await server.agent("agent2")
    assigned = await agent.take(str(row["id"]))
    first = assigned["transcript"][0]
    assert [(a["name"], a["type"], a["size"]) for a in first["attachments"]] == [
        ("payslip.pdf", "application/pdf", len(PDF)),
        ("passwd.pdf", "application/pdf", len(PDF)),  # no path: just the file's own name
    ]
    assert "invoice.exe: a kind of file we do not accept" in first["text"]
    assert "page.html: a kind of file we do not accept" in first["text"]
    assert "big.jpg: larger than 5 MB" in first["text"]

    url = first["attachments"][0]["url"]
    async with httpx.AsyncClient(base_url=server.base) as web:
        assert (await web.get(url)).status_code == 401  # not signed in
        web.headers["Cookie"] = await login(server.base, "agent1")
        assert (await web.get(url)).status_code == 404  # another adviser: there is no such file for them
        web.headers["Cookie"] = await login(server.base, "agent2")
        got = await web.get(url)
        assert got.status_code == 200 and got.content == PDF
        assert got.headers["content-disposition"] == "attachment; filename*=UTF-8''payslip.pdf"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert (await web.get("/api/attachments/999999999")).status_code == 404
        assert (await web.get("/api/attachments/not-a-number")).status_code == 404
        web.headers["Cookie"] = await login(server.base, "supervisor")
        assert (await web.get(url)).status_code == 200
    opened = await db.fetchval(
        "SELECT count(*) FROM events WHERE conversation_id = $1 AND type = 'attachment.opened'", row["id"]
    )
    assert opened == 2


async def test_one_address_sending_too_much_is_told_to_try_later_and_others_still_get_through(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    def only_mail_from(times: int) -> None:  # what a stranger could do to block Siân: no message, no count
        with smtplib.SMTP("127.0.0.1", server.settings.smtp_port or 0, timeout=10) as smtp:
            for _ in range(times):
                smtp.mail("sian@example.org")
                smtp.rset()

    await asyncio.to_thread(only_mail_from, PER_SENDER + 5)
    for n in range(PER_SENDER):
        await send(server, mail(subject=f"Loop {n}", Message_ID=f"<loop-{n}@example.org>"))
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await send(server, mail(subject="One too many", Message_ID="<loop-x@example.org>"))
    assert refused.value.smtp_code == 451  # temporary: a person's mail server tries again later
    other = mail(subject="Hello")
    other.replace_header("From", "gareth@example.org")
    await send(server, other, sender="gareth@example.org")
    assert len(await conversations(db, server)) == PER_SENDER + 1


async def test_files_nested_as_apple_mail_sends_them_are_kept(server: LiveServer, db: asyncpg.Pool) -> None:
    msg = mail(subject="Photo of the letter", body="See attached.")
    msg.add_alternative("<p>See attached.</p>", subtype="html")
    html = msg.get_payload()[1]  # type: ignore[index]
    html.make_mixed()  # alternative → (plain, mixed → (html, file)), as Apple Mail writes it
    html.add_attachment(PDF, maintype="application", subtype="pdf", filename="letter.pdf")
    await send(server, msg)
    [row] = await conversations(db, server)
    files = await db.fetch("SELECT filename, size FROM attachments WHERE conversation_id = $1", row["id"])
    assert [(f["filename"], f["size"]) for f in files] == [("letter.pdf", len(PDF))]


async def test_headers_the_parser_cannot_read_still_make_a_contact(server: LiveServer, db: asyncpg.Pool) -> None:
    raw = (
        b"From: sian@example.org\r\nTo: benefits@demo.contactd.local\r\nSubject: odd\r\nMessage-ID: <\r\n"
        b"In-Reply-To: <@>\r\n\r\nHello\r\n"
    )
    await send(server, raw)  # accepted (250), not a 500 that would bounce the citizen's mail
    [row] = await conversations(db, server)
    assert row["state"] == "queued"
