"""Which numbers a citizen may be called back on: UK numbers the department may ring, nothing else."""

from __future__ import annotations

import pytest

from channels.voice.numbers import uk_number


@pytest.mark.parametrize(
    ("given", "number"),
    [
        ("07700 900123", "+447700900123"),
        ("+44 7700 900123", "+447700900123"),
        ("+44 (0)20 7946 0018", "+442079460018"),
        ("0044 113 496 0000", "+441134960000"),
        ("029-2018-0000", "+442920180000"),
        ("0300 123 4567", "+443001234567"),
        ("09011 234567", None),  # premium rate
        ("0870 123 4567", None),  # special rate
        ("070 1234 5678", None),  # personal numbers
        ("+33 1 23 45 67 89", None),  # not in the UK
        ("999", None),
        ("call me", None),
        ("", None),
    ],
)
def test_only_uk_numbers_the_department_may_ring_are_taken(given: str, number: str | None) -> None:
    assert uk_number(given) == number
