"""Telephone numbers a citizen gives us to call back (pure).

Only UK numbers we may ring at the department's cost: geographic (01, 02), non-geographic 03 and
mobiles (07, but not 070 personal numbers or 076 pagers). Premium, special-rate and international
numbers are refused, so that a call back cannot be turned into toll fraud.
"""

from __future__ import annotations

import re

CALLABLE = re.compile(r"\+44(1\d{8,9}|2\d{9}|3\d{9}|7[1-57-9]\d{8})")


def uk_number(text: str) -> str | None:
    """The number in E.164 form (+44...), or None when it is not a UK number we may call back."""
    digits = re.sub(r"[\s\-().]", "", text)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0"):
        digits = "+44" + digits[1:]
    digits = digits.replace("+440", "+44", 1)  # "+44 (0)20 ..." as people write it
    return digits if CALLABLE.fullmatch(digits) else None
