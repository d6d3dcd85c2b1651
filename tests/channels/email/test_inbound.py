"""Mail in, with smtplib against contactd's own SMTP server: accepted, refused, too big, sent twice,
automatic mail, 8-bit and encoded headers, HTML-only and malformed messages."""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage

import asyncpg
import pytest

from tests.channels.email.mailer import TO, conversations, mail, send
from tests.conftest import LiveServer
from tests.helpers import typed


async def test_a_citizens_mail_becomes_a_contact_in_the_addresss_queue_once(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    msg = mail(Message_ID="<claim-1@example.org>")
    await send(server, msg)
    await send(server, msg)  # the same message again (a retry): one contact
    [row] = await conversations(db, server)
    assert (row["channel"], row["queue"], row["state"]) == ("email", "benefits", "queued")
    agent = await server.agent("agent2")  # serves benefits
    assigned = await agent.take(str(row["id"]))
    assert assigned["channel"] == "email"
    first, ack = assigned["transcript"]
    assert (first["subject"], first["text"]) == ("My claim", "Please call me about my claim.")
    assert ack["from"] == "system" and re.fullmatch(
        r"Acknowledgement sent \(case reference CD-[0-9A-Z]{6}\)\.", ack["text"]
    )
    citizen = await db.fetchrow(
        "SELECT z.email FROM conversations c JOIN citizens z ON z.id = c.citizen_id WHERE c.id = $1", row["id"]
    )
    assert citizen["email"] == "sian@example.org"


async def test_mail_for_an_address_we_do_not_have_is_refused(server: LiveServer, db: asyncpg.Pool) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        await send(server, mail(), to="nobody@demo.contactd.local")
    assert e.value.recipients["nobody@demo.contactd.local"][0] == 550
    assert await conversations(db, server) == []


async def test_a_message_over_the_size_limit_is_refused(server: LiveServer, db: asyncpg.Pool) -> None:
    with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused, smtplib.SMTPServerDisconnected)) as e:
        await send(server, mail(body="x" * (11 * 1024 * 1024)))
    assert "552" in str(e.value) or getattr(e.value, "smtp_code", 0) == 552
    assert await conversations(db, server) == []


async def test_automatic_mail_never_makes_a_contact(server: LiveServer, db: asyncpg.Pool) -> None:
    await send(server, mail(subject="Out of office", Auto_Submitted="auto-replied"))
    await send(server, mail(subject="Delivery failure"), sender="")  # a bounce: null sender
    assert await conversations(db, server) == []


async def test_encoded_headers_html_only_and_malformed_mail(server: LiveServer, db: asyncpg.Pool) -> None:
    html = EmailMessage()
    html["From"], html["To"], html["Subject"] = "sian@example.org", TO, "=?utf-8?q?Cais_am_fudd-dal_=C5=B5?="
    html.set_content("<p>Helo, <b>diolch</b><script>alert(1)</script></p>", subtype="html")
    await send(server, html)
    await send(
        server, b"From: bob@example.org\r\nSubject: broken\r\nContent-Type: multipart/mixed\r\n\r\nno boundary\r\n"
    )
    rows = await db.fetch(
        "SELECT m.subject, m.body FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        " WHERE c.tenant_id = $1 AND m.sender = 'citizen' ORDER BY m.id",
        server.settings.tenant,
    )
    assert rows[0]["subject"] == "Cais am fudd-dal ŵ"
    assert "diolch" in rows[0]["body"] and "alert" not in rows[0]["body"] and "<" not in rows[0]["body"]
    assert len(rows) == 2 and rows[1]["subject"] == "broken"  # kept, though its MIME is broken
    agent = await server.agent("agent2")
    await agent.expect(typed("offer", channel="email"))


async def test_a_reply_joins_its_conversation_and_reopens_it_once_closed(server: LiveServer, db: asyncpg.Pool) -> None:
    await send(server, mail(Message_ID="<first@example.org>"))
    [row] = await conversations(db, server)
    cid = str(row["id"])
    agent = await server.agent("agent2")
    await agent.take(cid)
    await send(
        server,
        mail(
            subject="Re: My claim",
            body="One more thing.",
            Message_ID="<second@example.org>",
            In_Reply_To="<first@example.org>",
            References="<first@example.org>",
        ),
    )
    reply = await agent.expect(typed("message", conversation_id=cid))
    assert (reply["subject"], reply["text"]) == ("Re: My claim", "One more thing.")
    await agent.send({"type": "conversation.end", "conversation_id": cid})
    await agent.expect(typed("conversation.ended", conversation_id=cid))
    await agent.send({"type": "wrapup.done", "conversation_id": cid, "disposition": "resolved"})
    await agent.expect(typed("conversation.closed", conversation_id=cid))

    await send(
        server,
        mail(
            subject="Re: My claim",
            body="It happened again.",
            Message_ID="<third@example.org>",
            References="<first@example.org> <second@example.org>",
        ),
    )
    rows = await conversations(db, server)
    assert [(str(r["id"]), r["state"]) for r in rows] in ([(cid, "queued")], [(cid, "offered")])  # reopened, not new
    await agent.expect(typed("offer", conversation_id=cid))
    count = await db.fetchval(
        "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'citizen'", row["id"]
    )
    assert count == 3


async def test_8bit_bodies_in_utf8_and_latin1_are_read_as_written(server: LiveServer, db: asyncpg.Pool) -> None:
    utf8 = (
        "From: Siân Evans <sian@example.org>\r\nTo: benefits@demo.contactd.local\r\nSubject: Treth y cyngor\r\n"
        "Message-ID: <eight-1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nMae'r bil yn anghywir: £120, nid £210. Diolch — Siân\r\n"
    ).encode()
    latin1 = (
        "From: bob@example.org\r\nTo: benefits@demo.contactd.local\r\nSubject: Rent\r\n"
        "Message-ID: <eight-2@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nI owe £5 café money\r\n"
    ).encode("latin-1")
    await send(server, utf8)
    await send(server, latin1, sender="bob@example.org")
    bodies = await db.fetch(
        "SELECT m.body FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        " WHERE c.tenant_id = $1 AND m.sender = 'citizen' ORDER BY m.id",
        server.settings.tenant,
    )
    assert [r["body"] for r in bodies] == [
        "Mae'r bil yn anghywir: £120, nid £210. Diolch — Siân",
        "I owe £5 café money",
    ]
