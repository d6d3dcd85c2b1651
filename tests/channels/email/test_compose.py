"""The pure parts of mail: references, subjects, threads, acknowledgements, file limits, retries."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import aiosmtplib

from channels.email.compose import (
    MAX_REFERENCES,
    Outgoing,
    acknowledgement_text,
    attachment_refusal,
    compose,
    new_reference,
    reference_in,
    reply_subject,
    safe_filename,
    thread_ids,
)
from channels.email.outbound import GIVE_UP_S, Relay, backoff_s, outcome, refusal


def test_a_reference_is_found_however_the_citizen_writes_it() -> None:
    ref = new_reference()
    assert reference_in(f"Re: My claim [Ref: {ref}]") == ref
    assert reference_in(f"about {ref.lower()} please") == ref
    assert reference_in("CD-ILOU12") is None  # letters a reference never has
    assert reference_in("ABCD-123456") is None
    assert len({new_reference() for _ in range(1000)}) == 1000


def test_a_reply_subject_keeps_one_re_and_one_reference() -> None:
    assert reply_subject("My claim", "CD-AAAAAA") == "Re: My claim [Ref: CD-AAAAAA]"
    assert reply_subject("RE: Re: Fwd: My claim [Ref: CD-AAAAAA]", "CD-AAAAAA") == "Re: My claim [Ref: CD-AAAAAA]"
    assert reply_subject("", "CD-AAAAAA") == "Re: your message [Ref: CD-AAAAAA]"


def test_references_name_the_first_message_and_the_latest() -> None:
    ids = [f"<{n}@x>" for n in range(50)]
    kept = thread_ids([*ids, "<3@x>", ""])
    assert len(kept) == MAX_REFERENCES and kept[0] == "<0@x>" and kept[-1] == "<49@x>"


def test_a_composed_reply_is_threaded_and_says_when_it_is_automatic() -> None:
    out = Outgoing("benefits@council.gov.uk", "sian@example.org", "Re: x", "Diolch — paid.", "<a@b>", ["<a@b>"])
    header_id, raw = compose(out, datetime(2026, 11, 29, tzinfo=UTC), automatic=True)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Message-ID"] == header_id and header_id.endswith("@council.gov.uk>")
    assert (msg["In-Reply-To"], msg["References"], msg["Auto-Submitted"]) == ("<a@b>", "<a@b>", "auto-replied")
    assert msg.get_content().strip() == "Diolch — paid."


def test_the_acknowledgement_is_bilingual_unless_the_mailbox_says_otherwise() -> None:
    both = acknowledgement_text("CD-AAAAAA", None, None, "en")
    assert both is not None and both.index("Your case reference") < both.index("Cyfeirnod eich achos")
    welsh_first = acknowledgement_text("CD-AAAAAA", None, None, "cy")
    assert welsh_first is not None and welsh_first.index("Cyfeirnod") < welsh_first.index("Your case")
    assert acknowledgement_text("CD-AAAAAA", "Ref {reference}", "", "en") == "Ref CD-AAAAAA"
    assert acknowledgement_text("CD-AAAAAA", "", "", "en") is None
    assert acknowledgement_text("CD-AAAAAA", "{0.__class__}", "", "en") == "{0.__class__}"  # not a format string


def test_files_are_kept_only_within_the_limits() -> None:
    assert attachment_refusal("a.pdf", "application/pdf", 1000, 0) is None
    assert attachment_refusal("a.PDF", "Application/PDF", 1000, 0) is None
    assert attachment_refusal("a.exe", "application/pdf", 1000, 0) == "a kind of file we do not accept"
    assert attachment_refusal("a.zip", "application/zip", 1000, 0) == "a kind of file we do not accept"
    assert attachment_refusal("a.pdf", "application/pdf", 6 * 2**20, 0) == "larger than 5 MB"
    assert attachment_refusal("a.pdf", "application/pdf", 1000, 10) == "more than 10 files"
    assert safe_filename('C:\\Users\\x\\..\\evil".pdf') == "evil.pdf"
    assert safe_filename(None) == "attachment"


def test_retries_back_off_and_stop() -> None:
    assert [backoff_s(n) for n in (1, 2, 3)] == [15.0, 30.0, 60.0] and backoff_s(30) == 1800.0
    assert outcome(None, 1, 0) == ("sent", 0.0)
    assert outcome(451, 1, 0) == ("queued", 15.0)
    assert outcome(0, 2, 0) == ("queued", 30.0)  # the relay never answered
    assert outcome(550, 1, 0) == ("failed", 0.0)
    assert outcome(451, 40, GIVE_UP_S) == ("failed", 0.0)


def test_the_relay_url_names_host_port_and_credentials_and_hides_the_password() -> None:
    relay = Relay.from_url("smtps://mailer:p%40ss@relay.gov.uk")
    assert (relay.host, relay.port, relay.username, relay.password, relay.tls) == (
        "relay.gov.uk",
        465,
        "mailer",
        "p@ss",
        True,
    )
    assert "p@ss" not in repr(relay)
    assert Relay.from_url("smtp://127.0.0.1:2525").port == 2525


def test_only_a_refusal_of_the_mail_itself_is_final() -> None:
    one = aiosmtplib.SMTPRecipientRefused(550, "No such user", "sian@example.org")
    assert refusal(aiosmtplib.SMTPRecipientsRefused([one])) == 550
    assert refusal(aiosmtplib.SMTPDataError(554, "Rejected as spam")) == 554
    assert outcome(refusal(aiosmtplib.SMTPAuthenticationError(535, "Bad password")), 1, 0) == ("queued", 15.0)
    assert refusal(aiosmtplib.SMTPSenderRefused(550, "Not our sender", "benefits@x")) == 0  # our set-up: waits
    assert refusal(ConnectionRefusedError()) == 0


def test_header_text_stays_on_one_line() -> None:
    assert reply_subject("Help\r\nBcc: everyone@example.org", "CD-AAAAAA") == (
        "Re: Help Bcc: everyone@example.org [Ref: CD-AAAAAA]"
    )
    assert reply_subject("Claim\u2028update", "") == "Re: Claim update"  # an old case with no reference
    out = Outgoing("b@council.gov.uk", "s@example.org", "Claim\nupdate", "x", None, [])
    _, raw = compose(out, datetime(2026, 11, 29, tzinfo=UTC))
    assert b"Subject: Claim update\n" in raw
