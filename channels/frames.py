"""Validation of JSON WebSocket frames against small declarative schemas (pure; no I/O).

A bad frame raises :class:`FrameError` with a stable ``code`` that the edge
sends back as ``{"type":"error","code","message","id"?}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class FrameError(ValueError):
    """A frame that cannot be acted on; ``code`` is for programs, ``message`` for people."""

    def __init__(self, code: str, message: str, frame_id: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.frame_id = frame_id


@dataclass(frozen=True)
class Field:
    """One field of a frame: its JSON type and limits."""

    kind: type
    required: bool = True
    max_len: int = 200
    choices: tuple[str, ...] = ()
    min_len: int = 0


Schema = Mapping[str, Field]


def parse_frame(raw: str | bytes, schemas: Mapping[str, Schema]) -> tuple[str, dict[str, Any]]:
    """Decode and check one frame; returns (type, frame) or raises FrameError."""
    try:
        frame = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise FrameError("invalid_json", "The frame is not valid JSON.") from None
    if not isinstance(frame, dict):
        raise FrameError("invalid_frame", "A frame must be a JSON object with a type.")
    frame_id = frame.get("id") if isinstance(frame.get("id"), str | int) else None
    kind = frame.get("type")
    if not isinstance(kind, str):
        raise FrameError("missing_field", "The frame has no type.", frame_id)
    schema = schemas.get(kind)
    if schema is None:
        raise FrameError("unknown_type", f"Unknown frame type {kind[:40]!r}.", frame_id)
    for name, field in schema.items():
        check_field(frame, name, field, frame_id)
    return kind, frame


def check_field(frame: Mapping[str, Any], name: str, field: Field, frame_id: Any) -> None:
    """Raise FrameError if ``frame[name]`` breaks ``field``."""
    if name not in frame or frame[name] is None:
        if field.required:
            raise FrameError("missing_field", f"The field {name!r} is required.", frame_id)
        return
    value = frame[name]
    if not isinstance(value, field.kind) or (field.kind is int and isinstance(value, bool)):
        raise FrameError("wrong_type", f"The field {name!r} must be a {field.kind.__name__}.", frame_id)
    if isinstance(value, str):
        if len(value) > field.max_len:
            raise FrameError("too_long", f"The field {name!r} is longer than {field.max_len} characters.", frame_id)
        if len(value.strip()) < field.min_len:
            need = "must not be empty" if field.min_len <= 1 else f"must be at least {field.min_len} characters"
            raise FrameError("bad_value", f"The field {name!r} {need}.", frame_id)
        if field.choices and value not in field.choices:
            raise FrameError("bad_value", f"The field {name!r} must be one of {', '.join(field.choices)}.", frame_id)
