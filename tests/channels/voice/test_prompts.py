"""What a waiting caller is told: their place and expected wait, in their language, from local prompts."""

from __future__ import annotations

import pytest

from channels.voice.prompts import PHRASES, announcement, load


@pytest.mark.parametrize(
    ("position", "wait_s", "said"),
    [
        (3, 300, ["position", "n3", "in_queue", "wait", "n5", "minutes", "thanks"]),
        (1, 20, ["position", "n1", "in_queue", "under_minute", "thanks"]),
        (2, 75, ["position", "n2", "in_queue", "one_minute", "thanks"]),
        (20, 1500, ["position", "n20", "in_queue", "wait_long", "thanks"]),
        (21, None, ["many_ahead", "thanks"]),  # no honest estimate (nobody available): none is given
    ],
)
def test_the_caller_hears_their_place_and_wait(position: int, wait_s: int | None, said: list[str]) -> None:
    assert announcement("en", position, wait_s) == said
    assert announcement("cy", position, wait_s) == said  # the same prompts, spoken in Welsh


def test_a_phone_caller_is_told_how_to_be_called_back_before_the_thanks() -> None:
    assert announcement("en", 4, None, callback=True) == ["position", "n4", "in_queue", "callback_offer", "thanks"]


def test_every_prompt_exists_in_both_languages_as_telephone_audio() -> None:
    assert PHRASES["en"].keys() == PHRASES["cy"].keys()
    for language, phrases in PHRASES.items():
        for name in phrases:
            audio = load(language, name)
            assert 0.2 * 8000 < len(audio) < 12 * 8000, (language, name)  # 0.2-12 s of 8 kHz μ-law
    assert load("en", "n3") != load("cy", "n3")
