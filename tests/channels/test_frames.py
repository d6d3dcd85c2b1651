"""Frame validation is pure: every bad frame gets a stable code a client can act on."""

from __future__ import annotations

import pytest

from channels.chat.protocol import CITIZEN_FRAMES
from channels.frames import FrameError, parse_frame
from contactd.console_protocol import AGENT_FRAMES


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('{"text": "no type"}', "missing_field"),
        ('{"type": "chat.nonsense"}', "unknown_type"),
        ('{"type": "chat.start", "name": "Ann"}', "missing_field"),
        ('{"type": "chat.start", "queue": 7, "name": "Ann"}', "wrong_type"),
        ('{"type": "chat.start", "queue": "general", "name": "   "}', "bad_value"),
        ('{"type": "chat.start", "queue": "general", "name": "Ann", "language": "fr"}', "bad_value"),
        ('{"type": "chat.start", "queue": "general", "name": "Ann", "citizen_key": "too-short"}', "bad_value"),
        ('{"type": "message", "id": "m1", "text": "' + "x" * 4001 + '"}', "too_long"),
        ('{"type": "message", "id": true, "text": "hi"}', "wrong_type"),
    ],
)
def test_bad_citizen_frames_get_a_code(raw: str | bytes, code: str) -> None:
    with pytest.raises(FrameError) as e:
        parse_frame(raw, CITIZEN_FRAMES)
    assert e.value.code == code
    assert e.value.message


def test_an_error_names_the_frame_id_so_the_client_can_match_it() -> None:
    with pytest.raises(FrameError) as e:
        parse_frame('{"type": "message", "id": "m-9", "text": ""}', CITIZEN_FRAMES)
    assert (e.value.code, e.value.frame_id) == ("bad_value", "m-9")


def test_good_frames_pass_unchanged() -> None:
    kind, frame = parse_frame(
        '{"type": "chat.start", "queue": "welsh", "name": "Siân", "language": "cy"}', CITIZEN_FRAMES
    )
    assert kind == "chat.start" and frame["name"] == "Siân"
    kind, frame = parse_frame('{"type": "agent.status", "status": "away", "reason": "lunch"}', AGENT_FRAMES)
    assert (kind, frame["reason"]) == ("agent.status", "lunch")


def test_agent_status_must_be_one_of_the_three() -> None:
    with pytest.raises(FrameError) as e:
        parse_frame('{"type": "agent.status", "status": "sleeping"}', AGENT_FRAMES)
    assert e.value.code == "bad_value"
