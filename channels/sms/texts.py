"""Text messages, as plain functions: opt-out keywords, how many segments a text takes, and which
delivery status is further along (Twilio's status callbacks may come out of order)."""

from __future__ import annotations

STOP = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START = frozenset({"START", "UNSTOP", "YES"})
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€")  # two septets each
STATUS_ORDER = {"accepted": 0, "queued": 1, "sending": 2, "sent": 3, "delivered": 4, "undelivered": 4, "failed": 4}


def keyword(body: str) -> str | None:
    """``stop`` or ``start`` when the whole text is an opt-out or opt-in keyword (any case, spaces ignored)."""
    word = body.strip().upper()
    return "stop" if word in STOP else "start" if word in START else None


def segments(text: str) -> tuple[int, str]:
    """(segments, encoding) of a text: GSM-7 fits 160 characters in one and 153 per part when split;
    anything else (Welsh ŵ and ŷ included) is UCS-2: 70, then 67 per part. A character is never split
    across parts (an escaped GSM-7 character or a UTF-16 surrogate pair moves whole to the next)."""
    if all(c in GSM7 or c in GSM7_EXTENDED for c in text):
        costs, single, part, encoding = [2 if c in GSM7_EXTENDED else 1 for c in text], 160, 153, "GSM-7"
    else:
        costs, single, part, encoding = [len(c.encode("utf-16-le")) // 2 for c in text], 70, 67, "UCS-2"
    if sum(costs) <= single:
        return 1, encoding
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part:
            parts, used = parts + 1, 0
        used += cost
    return parts, encoding


def further(old: str | None, new: str) -> bool:
    """Is ``new`` a status further along than ``old`` (so it replaces it)?"""
    return STATUS_ORDER.get(new, -1) > STATUS_ORDER.get(old or "", -1)
