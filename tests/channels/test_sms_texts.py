"""SMS as plain functions: keywords, segments, status order."""

from __future__ import annotations

import pytest

from channels.sms.texts import further, keyword, segments


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("STOP", "stop"),
        (" stop ", "stop"),
        ("Unsubscribe", "stop"),
        ("START", "start"),
        ("stop sending me bills", None),
        ("Hello", None),
    ],
)
def test_only_a_whole_keyword_opts_out_or_in(body: str, said: str | None) -> None:
    assert keyword(body) == said


def test_segments_follow_the_encoding_a_phone_uses() -> None:
    assert segments("a" * 160) == (1, "GSM-7")
    assert segments("a" * 161) == (2, "GSM-7")
    assert segments("€" * 80) == (1, "GSM-7")  # two septets each: 160
    assert segments("Diolch, byddwn yn eich ffonio ŵ") == (1, "UCS-2")
    assert segments("ŵ" * 71) == (2, "UCS-2")
    assert segments("a" * 152 + "€" + "a" * 10) == (2, "GSM-7")  # the escape fits the first part whole
    assert segments("a" * 153 + "€" + "a" * 152) == (3, "GSM-7")  # 307 septets, but "€" may not split


def test_a_late_status_never_takes_a_text_backwards() -> None:
    assert further(None, "queued") and further("sent", "delivered")
    assert not further("delivered", "sent") and not further("failed", "queued")
