"""What a waiting caller is told, and when: their place in the queue and the expected wait, in English
or Welsh, from prompts spoken once by espeak-ng (``tools/make_prompts.py``) and kept as μ-law files.

``announcement`` is pure: it picks the prompts; ``load`` reads them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

NUMBERS = range(1, 21)
PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "position": "You are number",
        "in_queue": "in the queue.",
        "many_ahead": "There are more than twenty callers ahead of you.",
        "wait": "Your expected wait is about",
        "minutes": "minutes.",
        "one_minute": "Your expected wait is about one minute.",
        "under_minute": "Your expected wait is under a minute.",
        "wait_long": "Your expected wait is more than twenty minutes.",
        "thanks": "Thank you for holding. An adviser will be with you as soon as possible.",
        "callback_offer": "To hang up and be called back on this number when it is your turn, press 1.",
        "recording_notice": "Calls to this line are recorded for quality and training."
        " We pause the recording while you give any card details.",
        "callback_confirm": "Thank you. We will call you back on this number when it is your turn. Goodbye.",
        **{f"n{n}": str(n) for n in NUMBERS},
    },
    "cy": {
        "position": "Rydych chi'n rhif",
        "in_queue": "yn y ciw.",
        "many_ahead": "Mae mwy nag ugain o alwyr o'ch blaen chi.",
        "wait": "Eich amser aros disgwyliedig yw tua",
        "minutes": "munud.",
        "one_minute": "Eich amser aros disgwyliedig yw tua un munud.",
        "under_minute": "Eich amser aros disgwyliedig yw llai na munud.",
        "wait_long": "Eich amser aros disgwyliedig yw mwy nag ugain munud.",
        "thanks": "Diolch am aros. Bydd ymgynghorydd gyda chi cyn gynted â phosibl.",
        "callback_offer": "I roi'r ffôn i lawr a chael galwad yn ôl ar y rhif hwn pan ddaw eich tro, pwyswch 1.",
        "recording_notice": "Mae galwadau i'r llinell hon yn cael eu recordio at ddibenion ansawdd a hyfforddiant."
        " Rydym yn oedi'r recordio tra byddwch yn rhoi manylion cerdyn.",
        "callback_confirm": "Diolch. Byddwn yn eich ffonio'n ôl ar y rhif hwn pan ddaw eich tro. Hwyl fawr.",
        **{f"n{n}": str(n) for n in NUMBERS},
    },
}


def announcement(language: str, position: int, wait_s: int | None, callback: bool = False) -> list[str]:
    """The prompts, in order, that tell a caller at ``position`` (1-based) of their expected wait
    (``None``: no honest estimate, as when nobody serving the queue is available: not said), and,
    with ``callback``, how to be called back instead of waiting."""
    names = ["position", f"n{position}", "in_queue"] if position in NUMBERS else ["many_ahead"]
    if wait_s is not None:
        minutes = round(wait_s / 60)
        if wait_s < 45:
            names.append("under_minute")
        elif minutes <= 1:
            names.append("one_minute")
        elif minutes <= 20:
            names += ["wait", f"n{minutes}", "minutes"]
        else:
            names.append("wait_long")
    return [*names, *(["callback_offer"] if callback else []), "thanks"]


@cache
def load(language: str, name: str) -> bytes:
    """One prompt as μ-law at 8 kHz."""
    return resources.files("channels.voice.prompts").joinpath(language, f"{name}.ulaw").read_bytes()
