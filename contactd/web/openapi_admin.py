"""The OpenAPI paths of the admin API for routing settings (``contactd.web.admin``), merged into
``contactd.web.openapi.OPENAPI``."""

from __future__ import annotations

from typing import Any

from router.model import CHANNELS
from router.policy import STRATEGIES

ERROR = {"$ref": "#/components/schemas/Error"}
USER = {"$ref": "#/components/schemas/User"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _in_path(name: str, schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": schema}]


def _refusals(*, body: bool = True, roles: bool = True, missing: str | None = None) -> dict[str, Any]:
    """The error answers of a staff endpoint: 400 if it takes a ``body``, 401, 403 if only some ``roles``
    may call it, 404 if what the path names may be ``missing``."""
    out = {"401": _json(ERROR, "Not signed in")}
    if body:
        out["400"] = _json(ERROR, "Invalid body: the message says what is wrong, and nothing was changed")
    if roles:
        out["403"] = _json(ERROR, "Signed in without the role needed")
    if missing:
        out["404"] = _json(ERROR, missing)
    return dict(sorted(out.items()))


ADVISER_ID = _in_path("id", {"type": "integer", "description": "An adviser's user id (role agent)"})
PROFILE = {"$ref": "#/components/schemas/RoutingProfile"}
QUEUE_NAME = _in_path("name", {"type": "string", "description": "An active queue's name"})
CAPACITY = {"type": "integer", "minimum": 0, "maximum": 50}
ROUTING_PROFILE = {
    "type": "object",
    "description": "An adviser's routing profile as routing takes it now, and the settings behind it.",
    "properties": {
        "agent": USER,
        "queues": {"type": "array", "items": {"type": "string"}, "description": "Queues they serve, first first"},
        "levels": {"type": "object", "additionalProperties": {"type": "integer"}, "description": "Level per queue"},
        "capacity": {
            "type": "object",
            "properties": {ch: dict(CAPACITY) for ch in CHANNELS},
            "description": "Most contacts at once per channel, the deployment's defaults filled in",
        },
        "voice_exclusive": {"type": "boolean", "description": "While on a call, no other work"},
        "capacity_overrides": {"type": "object", "description": "The channels set for them (others: default)"},
        "queue_order": {"type": "array", "items": {"type": "string"}, "description": "Their queue ranks as set"},
        "short_of": {"type": "object", "description": "Queues they fall short of by this many levels"},
    },
}
ROUTING_CHANGE = {
    "type": "object",
    "description": "Any of the three; nothing changes unless all are valid.",
    "additionalProperties": False,
    "properties": {
        "capacity": {
            "type": "object",
            "additionalProperties": False,
            "properties": {ch: {**CAPACITY, "type": ["integer", "null"]} for ch in CHANNELS},
            "description": "Per channel; null removes the override (the deployment default applies)",
        },
        "voice_exclusive": {"type": "boolean"},
        "queue_order": {
            "type": "array",
            "items": {"type": "string"},
            "maxItems": 100,
            "uniqueItems": True,
            "description": "Active queue names, first first; replaces their ranks (empty: clears them)",
        },
    },
}
CLOCK = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "examples": ["09:00"]}
PERIOD = {
    "type": "object",
    "required": ["day", "opens", "closes"],
    "properties": {
        "day": {"type": "integer", "minimum": 0, "maximum": 6, "description": "0 Monday ... 6 Sunday"},
        "opens": CLOCK,
        "closes": {**CLOCK, "description": "After opens; periods of one day must not overlap"},
    },
}
HOURS = {
    "type": "object",
    "properties": {
        "timezone": {"type": "string", "description": "IANA time zone", "examples": ["Europe/London"]},
        "observes_holidays": {"type": "boolean", "description": "Closed on the holidays (POST /api/holidays)"},
        "weekly": {
            "type": "array",
            "items": PERIOD,
            "maxItems": 70,
            "description": "Opening periods in local time; none: open at all times. Sent, replaces every period",
        },
    },
}
QUEUE_CHANGE = {
    "type": "object",
    "description": "Any of them; nothing changes unless all are valid.",
    "properties": {
        "strategy": {"type": "string", "enum": list(STRATEGIES)},
        "escalation": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["after_s"],
                "properties": {
                    "after_s": {"type": "number", "minimum": 0},
                    "raise_priority": {"type": "integer", "minimum": 0},
                    "overflow": {"type": "array", "items": {"type": "string"}},
                    "relax_level": {"type": "integer", "minimum": 0, "maximum": 4},
                },
            },
            "description": "Replaces the queue's escalation steps",
        },
        "previous_agent": {
            "type": "object",
            "properties": {
                "days": {"type": "integer", "minimum": 0, "maximum": 365},
                "wait_s": {"type": "integer", "minimum": 0, "maximum": 600},
            },
            "description": "Returning citizens try the adviser they spoke to within days, for wait_s seconds",
        },
        "hours": {**HOURS, "description": "Any of the three keys"},
        "recording": {
            "type": "object",
            "properties": {"days": {"type": "integer", "minimum": 0, "maximum": 3650}},
            "description": "Days call recordings are kept (0: calls are not recorded)",
        },
        "service_level_s": {
            "type": "object",
            "properties": {ch: {"type": "integer", "minimum": 1, "maximum": 604800} for ch in CHANNELS},
            "additionalProperties": False,
            "description": "The queue's own service level thresholds (seconds) by channel; the rest use the defaults",
        },
    },
}
HOLIDAY_LIST = {
    "type": "array",
    "minItems": 1,
    "maxItems": 500,
    "items": {
        "type": "object",
        "required": ["date", "name"],
        "properties": {
            "date": {"type": "string", "format": "date"},
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
        },
    },
}
HOLIDAYS = {"type": "object", "required": ["days"], "properties": {"days": HOLIDAY_LIST}}
ADMIN_PATHS: dict[str, Any] = {
    "/api/agents/{id}/skills": {
        "put": {
            "summary": "Replace an adviser's skills (admin); their next offer uses them",
            "security": [{"session": []}],
            "parameters": ADVISER_ID,
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["skills"],
                    "properties": {
                        "skills": {
                            "type": "object",
                            "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 5},
                        }
                    },
                }
            ),
            "responses": {
                "200": _json({"type": "object"}, "The skills as set"),
                **_refusals(missing="No such adviser"),
            },
        }
    },
    "/api/agents/{id}/routing": {
        "get": {
            "summary": "An adviser's routing profile (supervisors and admins)",
            "security": [{"session": []}],
            "parameters": ADVISER_ID,
            "responses": {"200": _json(PROFILE, "The profile"), **_refusals(body=False, missing="No such adviser")},
        },
        "put": {
            "summary": "Change an adviser's capacity, voice rule and queue order (admin)",
            "description": "Applied in one transaction; takes effect at their next offer. Unknown queue names are"
            " named in the 400 answer.",
            "security": [{"session": []}],
            "parameters": ADVISER_ID,
            "requestBody": _body(ROUTING_CHANGE),
            "responses": {"200": _json(PROFILE, "The profile now"), **_refusals(missing="No such adviser")},
        },
    },
    "/api/queues/{name}": {
        "patch": {
            "summary": "Change how a queue routes and when it is open (admin)",
            "description": "Every node re-reads the queue's settings at once.",
            "security": [{"session": []}],
            "parameters": QUEUE_NAME,
            "requestBody": _body(QUEUE_CHANGE),
            "responses": {
                "200": _json(
                    {"type": "object", "properties": {"name": {"type": "string"}}, "allOf": [QUEUE_CHANGE]},
                    "The change, with the queue's hours as now set if they changed",
                ),
                **_refusals(missing="No such queue"),
            },
        }
    },
    "/api/queues/{name}/hours": {
        "get": {
            "summary": "A queue's opening hours as set (staff)",
            "security": [{"session": []}],
            "parameters": QUEUE_NAME,
            "responses": {
                "200": _json(
                    {"type": "object", "properties": {"name": {"type": "string"}}, "allOf": [HOURS]}, "The hours"
                ),
                **_refusals(body=False, roles=False, missing="No such queue"),
            },
        }
    },
    "/api/holidays": {
        "post": {
            "summary": "Add or rename closure days (admin)",
            "description": "Queues that observe holidays are closed on them (as `contactd holidays` imports).",
            "security": [{"session": []}],
            "requestBody": _body(HOLIDAYS),
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"imported": {"type": "integer"}, "days": HOLIDAY_LIST},
                    },
                    "How many were imported, and which",
                ),
                **_refusals(),
            },
        }
    },
}
