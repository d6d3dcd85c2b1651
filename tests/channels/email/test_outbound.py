"""Mail out, through a local relay (aiosmtpd): the acknowledgement with its case reference, the adviser's
threaded reply, a reply that finds its case by reference, a relay outage, a refusal, a loop that never starts."""

from __future__ import annotations

import re
import smtplib
import uuid

import asyncpg
import httpx
import pytest

from tests.channels.email.mailer import TO, conversations, mail, send
from tests.channels.email.relay import Relay, relay, server
from tests.conftest import LiveServer
from tests.helpers import Client, login, typed

__all__ = ["relay", "server"]  # fixtures, from tests.channels.email.relay

REFERENCE = re.compile(r"\[Ref: (CD-[0-9A-Z]{6})\]")


async def take_mail(server: LiveServer, db: asyncpg.Pool, agent: Client) -> str:
    [row] = [r for r in await conversations(db, server) if r["state"] in ("queued", "offered")]
    await agent.take(str(row["id"]))
    return str(row["id"])


async def test_the_citizen_is_acknowledged_with_a_case_reference_in_english_and_welsh(
    server: LiveServer, relay: Relay, db: asyncpg.Pool
) -> None:
    await relay.start()
    await send(server, mail(Message_ID="<claim-1@example.org>"))
    [(sender, to, ack)] = await relay.wait(1)
    assert (sender, to) == (TO, ["sian@example.org"])
    found = REFERENCE.search(str(ack["Subject"]))
    # Never the citizen's own subject: a forged sender cannot have us mail their words to someone.
    assert found and str(ack["Subject"]) == f"We have your message / Rydym wedi cael eich neges [Ref: {found[1]}]"
    reference = found.group(1)
    assert await db.fetchval("SELECT reference FROM conversations WHERE tenant_id = $1", server.settings.tenant) == (
        reference
    )
    body = ack.get_content()
    assert f"Your case reference is {reference}" in body and f"Cyfeirnod eich achos yw {reference}" in body
    assert ack["Auto-Submitted"] == "auto-replied" and ack["In-Reply-To"] == "<claim-1@example.org>"
    await send(server, mail(Message_ID="<claim-1@example.org>"))  # sent again: no second acknowledgement
    await send(server, mail(subject="Out of office", Auto_Submitted="auto-replied", In_Reply_To=ack["Message-ID"]))
    agent = await server.agent("agent2")
    assert await agent.maybe(typed("offer"), 0.5) is not None
    assert len(relay.mails) == 1  # the out-of-office answer to our acknowledgement starts no loop


async def test_an_advisers_reply_is_threaded_and_the_citizens_answer_comes_back_to_it(
    server: LiveServer, relay: Relay, db: asyncpg.Pool
) -> None:
    await relay.start()
    await send(server, mail(Message_ID="<claim-2@example.org>"))
    agent = await server.agent("agent2")
    cid = await take_mail(server, db, agent)
    agent.rewind()
    reference = (await agent.expect(typed("conversation.assigned", conversation_id=cid)))["reference"]
    await agent.send({"type": "message", "conversation_id": cid, "id": "r1", "text": "We have paid it today."})
    echo = await agent.expect(typed("message", id="r1"))
    assert echo["subject"] == f"Re: My claim [Ref: {reference}]" and echo["status"] == "queued"  # as mailed
    assert (await agent.expect(typed("message.status", id="r1", status="sent")))["conversation_id"] == cid
    ack, reply = [m for _, _, m in await relay.wait(2)]
    assert reply["To"] == "sian@example.org" and reply["From"] == TO
    assert reply["Subject"] == f"Re: My claim [Ref: {REFERENCE.search(str(ack['Subject']))[1]}]"  # type: ignore[index]
    assert reply["In-Reply-To"] == "<claim-2@example.org>"
    assert "<claim-2@example.org>" in reply["References"] and ack["Message-ID"] in reply["References"]
    assert reply.get_content().strip() == "We have paid it today."
    assert "Auto-Submitted" not in reply

    # The citizen answers our reply from a mail program that keeps the headers.
    await send(server, mail(subject=f"Re: {reply['Subject']}", body="Thank you!", In_Reply_To=reply["Message-ID"]))
    answer = await agent.expect(typed("message", conversation_id=cid, **{"from": "citizen"}))
    assert answer["text"] == "Thank you!"
    # The adviser's console keeps the reply's subject and how far it got, after a reload too.
    again = await server.agent("agent2", status=None)
    assigned = await again.expect(typed("conversation.assigned", conversation_id=cid))
    mine = next(m for m in assigned["transcript"] if m["id"] == "r1")
    assert mine["status"] == "sent" and mine["subject"] == reply["Subject"]
    await again.close()


async def test_an_answer_with_only_the_reference_in_its_subject_finds_its_case_from_the_same_sender_only(
    server: LiveServer, relay: Relay, db: asyncpg.Pool
) -> None:
    await relay.start()
    await send(server, mail(Message_ID="<claim-3@example.org>"))
    [(_, _, ack)] = await relay.wait(1)
    reference = REFERENCE.search(str(ack["Subject"])).group(1)  # type: ignore[union-attr]
    await send(server, mail(subject=f"About case {reference.lower()}", body="My new address is ..."))
    [row] = await conversations(db, server)
    count = "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'citizen'"
    assert await db.fetchval(count, row["id"]) == 2
    # Someone else quoting the reference does not see into, or write into, that case: a new one.
    other = mail(subject=f"Re: My claim [Ref: {reference}]", body="I am not Siân")
    other.replace_header("From", "mallory@example.net")
    await send(server, other, sender="mallory@example.net")
    rows = await conversations(db, server)
    assert len(rows) == 2 and await db.fetchval(count, row["id"]) == 2


async def test_a_relay_outage_delays_the_reply_and_it_goes_once_the_relay_is_back(
    server: LiveServer, relay: Relay, db: asyncpg.Pool
) -> None:
    await send(server, mail(Message_ID="<claim-4@example.org>"))  # the relay is down
    agent = await server.agent("agent2")
    cid = await take_mail(server, db, agent)
    await agent.send({"type": "message", "conversation_id": cid, "id": "r1", "text": "Your claim is paid."})
    await agent.expect(typed("message.status", id="r1", status="queued"))
    await agent.expect(typed("message.status", id="r1", status="retrying"))
    state = await db.fetch("SELECT state, attempts, last_error FROM mail_outbox WHERE conversation_id = $1", cid)
    assert [r["state"] for r in state] == ["queued", "queued"] and all(r["last_error"] for r in state)

    await relay.start()
    await agent.expect(typed("message.status", id="r1", status="sent"), timeout=10)
    mails = await relay.wait(2)
    await agent.maybe(typed("never"), 1.0)  # time for a duplicate to show, were there one
    assert sorted(str(m["Subject"]).startswith("Re: My claim") for _, _, m in mails) == [False, True]
    assert len(relay.mails) == 2 and len(relay.with_header("In-Reply-To", "<claim-4@example.org>")) == 2
    unsent = "SELECT count(*) FROM mail_outbox WHERE conversation_id = $1 AND state <> 'sent'"
    assert await db.fetchval(unsent, uuid.UUID(cid)) == 0


async def test_a_reply_the_relay_refuses_for_good_is_shown_failed_and_not_tried_again(
    server: LiveServer, relay: Relay, db: asyncpg.Pool
) -> None:
    await relay.start()
    await send(server, mail(Message_ID="<claim-5@example.org>"))
    await relay.wait(1)
    relay.refuse = "550 5.1.1 Mailbox unavailable"
    agent = await server.agent("agent2")
    cid = await take_mail(server, db, agent)
    await agent.send({"type": "message", "conversation_id": cid, "id": "r1", "text": "Hello"})
    await agent.expect(typed("message.status", id="r1", status="failed"))
    row = await db.fetchrow(
        "SELECT state, attempts, last_error FROM mail_outbox WHERE conversation_id = $1 AND message_id IS NOT NULL"
        " AND state <> 'sent'",
        uuid.UUID(cid),
    )
    assert row["state"] == "failed" and row["attempts"] == 1 and "550" in row["last_error"]


async def test_an_admin_sets_up_an_address_with_its_own_acknowledgement_and_can_take_it_away(
    server: LiveServer, relay: Relay, db: asyncpg.Pool
) -> None:
    await relay.start()
    address = "parking@demo.contactd.local"
    body = {"queue": "council-tax", "acknowledgement": {"en": "Parking team: your reference is {reference}.", "cy": ""}}
    async with httpx.AsyncClient(base_url=server.base) as web:
        web.headers["Cookie"] = await login(server.base, "agent1")
        assert (await web.put(f"/api/mailboxes/{address}", json=body)).status_code == 403
        web.headers["Cookie"] = await login(server.base, "admin")
        assert (await web.put("/api/mailboxes/not-an-address", json=body)).status_code == 400
        assert (await web.put(f"/api/mailboxes/{address}", json={"queue": "nope"})).status_code == 404
        assert (
            await web.put(f"/api/mailboxes/{address}", json={**body, "acknowledgement": {"en": 5}})
        ).status_code == 400
        assert (await web.put(f"/api/mailboxes/{address}", json=body)).status_code == 200
        listed = (await web.get("/api/mailboxes")).json()["mailboxes"]
        assert {"address": address, "queue": "council-tax"}.items() <= next(
            m for m in listed if m["address"] == address
        ).items()

        await send(server, mail(subject="Ticket"), to=address)
        [(sender, _, ack)] = await relay.wait(1)
        reference = REFERENCE.search(str(ack["Subject"])).group(1)  # type: ignore[union-attr]
        assert sender == address and ack.get_content().strip() == f"Parking team: your reference is {reference}."
        [row] = await conversations(db, server)
        assert row["queue"] == "council-tax"

        assert (await web.delete(f"/api/mailboxes/{address}")).status_code == 204
        assert (await web.delete(f"/api/mailboxes/{address}")).status_code == 404
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        await send(server, mail(subject="Again"), to=address)
    audited = await db.fetch(
        "SELECT type FROM events WHERE tenant_id = $1 AND type LIKE 'mailbox.%' ORDER BY id", server.settings.tenant
    )
    assert [r["type"] for r in audited] == ["mailbox.changed", "mailbox.removed"]
