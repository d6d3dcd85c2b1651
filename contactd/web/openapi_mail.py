"""The OpenAPI paths for mail, citizen records and reports (``contactd.web.mail``, ``.citizens``,
``.reports``), merged into ``contactd.web.openapi.OPENAPI``."""

from __future__ import annotations

from typing import Any

from contactd.web.openapi_admin import ERROR, _body, _in_path, _json, _refusals

ACK = {
    "type": ["string", "null"],
    "maxLength": 4000,
    "description": "null or left out: the built-in text; empty: none in this language."
    " {reference} stands for the case reference.",
}
ACKS = {"type": "object", "properties": {"en": ACK, "cy": ACK}}
MAILBOX = {
    "type": "object",
    "properties": {
        "address": {"type": "string", "format": "email"},
        "queue": {"type": "string"},
        "acknowledgement": ACKS,
    },
}
CITIZEN_ID = _in_path("id", {"type": "string", "format": "uuid", "description": "A citizen record's id"})
CITIZEN = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "language": {"type": "string"},
        "merged_into": {"type": ["string", "null"]},
        "phones": {"type": "array", "items": {"type": "string"}},
        "emails": {"type": "array", "items": {"type": "string"}},
        "conversations": {"type": "array", "items": {"type": "object"}, "description": "Latest first"},
    },
}
PERIOD = [
    {"name": "from", "in": "query", "required": True, "schema": {"type": "string", "format": "date-time"}},
    {"name": "to", "in": "query", "required": True, "schema": {"type": "string", "format": "date-time"}},
]
FIGURES = {
    "type": "object",
    "description": "docs/metrics.md",
    "properties": {
        k: {"type": ["number", "null"]}
        for k in (
            "offered answered abandoned abandonment_pct service_level_pct asa_s aht_s avg_wait_s p90_wait_s max_wait_s"
        ).split()
    },
}
ADDRESS = _in_path("address", {"type": "string", "format": "email", "description": "One of our addresses"})

MAIL_PATHS: dict[str, Any] = {
    "/api/attachments/{id}": {
        "get": {
            "summary": "A file a citizen sent, as a download",
            "description": "The conversation's adviser, advisers now serving the same citizen, supervisors"
            " and admins. Each download is audited (`attachment.opened`).",
            "security": [{"session": []}],
            "parameters": _in_path("id", {"type": "integer"}),
            "responses": {
                "200": {"description": "The file (Content-Disposition: attachment)"},
                "401": _json(ERROR, "Not signed in"),
                "404": _json(ERROR, "No such file, or not one this user may see"),
            },
        }
    },
    "/api/mailboxes": {
        "get": {
            "summary": "The addresses we take mail for, and their queues (admin)",
            "security": [{"session": []}],
            "responses": {
                "200": _json(
                    {"type": "object", "properties": {"mailboxes": {"type": "array", "items": MAILBOX}}},
                    "The addresses",
                ),
                **_refusals(body=False),
            },
        }
    },
    "/api/mailboxes/{address}": {
        "put": {
            "summary": "Take mail for an address into a queue, with its acknowledgement (admin; audited)",
            "security": [{"session": []}],
            "parameters": ADDRESS,
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["queue"],
                    "properties": {
                        "queue": {"type": "string"},
                        "acknowledgement": ACKS,
                    },
                }
            ),
            "responses": {"200": _json(MAILBOX, "The address as set"), **_refusals(missing="No such queue")},
        },
        "delete": {
            "summary": "Take no more mail for an address (admin; audited): it gets 550 from now",
            "security": [{"session": []}],
            "parameters": ADDRESS,
            "responses": {"204": {"description": "Removed"}, **_refusals(body=False, missing="No such address")},
        },
    },
    "/api/citizens": {
        "get": {
            "summary": "The citizen record a number or address leads to (supervisor, admin)",
            "security": [{"session": []}],
            "parameters": [
                {
                    "name": "phone",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "E.164, e.g. +447700900123",
                },
                {"name": "email", "in": "query", "schema": {"type": "string", "format": "email"}},
            ],
            "responses": {
                "200": _json({"type": "object", "properties": {"citizen": CITIZEN}}, "The record"),
                **_refusals(missing="No citizen has that number or address"),
            },
        }
    },
    "/api/citizens/{id}": {
        "get": {
            "summary": "A citizen record and its timeline (supervisor, admin)",
            "security": [{"session": []}],
            "parameters": CITIZEN_ID,
            "responses": {
                "200": _json({"type": "object", "properties": {"citizen": CITIZEN}}, "The record"),
                **_refusals(body=False, missing="No such citizen"),
            },
        }
    },
    "/api/citizens/{id}/merge": {
        "post": {
            "summary": "Merge another record into this one: one person (supervisor, admin; audited)",
            "description": "The other record's conversations, numbers and addresses move here; it points here.",
            "security": [{"session": []}],
            "parameters": CITIZEN_ID,
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["from"],
                    "properties": {"from": {"type": "string", "format": "uuid"}, "reason": {"type": "string"}},
                }
            ),
            "responses": {
                "200": _json(
                    {"type": "object", "properties": {"citizen": CITIZEN, "moved": {"type": "integer"}}}, "Merged"
                ),
                "409": _json(ERROR, "A record cannot be merged into itself"),
                **_refusals(missing="No such citizen, or it was merged already"),
            },
        }
    },
    "/api/citizens/{id}/split": {
        "post": {
            "summary": "Split conversations (and numbers, addresses) off to a new record (supervisor, admin; audited)",
            "security": [{"session": []}],
            "parameters": CITIZEN_ID,
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["conversations"],
                    "properties": {
                        "conversations": {"type": "array", "items": {"type": "string", "format": "uuid"}},
                        "phones": {"type": "array", "items": {"type": "string"}},
                        "emails": {"type": "array", "items": {"type": "string"}},
                    },
                }
            ),
            "responses": {
                "200": _json({"type": "object", "properties": {"citizen": CITIZEN}}, "The new record"),
                "409": _json(ERROR, "Not this record's conversations, or all of them"),
                **_refusals(missing="No such citizen"),
            },
        }
    },
    "/api/reports/queues": {
        "get": {
            "summary": "Queue figures per interval, queue and channel, as JSON or CSV (supervisor, admin)",
            "description": "docs/metrics.md defines each figure. Contacts count in the interval they joined a queue.",
            "security": [{"session": []}],
            "parameters": [
                *PERIOD,
                {"name": "interval", "in": "query", "schema": {"enum": ["15m", "1h", "1d"], "default": "1h"}},
                {"name": "queue", "in": "query", "schema": {"type": "string"}},
                {"name": "channel", "in": "query", "schema": {"enum": ["voice", "chat", "sms", "email"]}},
                {"name": "format", "in": "query", "schema": {"enum": ["json", "csv"], "default": "json"}},
            ],
            "responses": {
                "200": {
                    "description": "The rows",
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"rows": {"type": "array", "items": FIGURES}}}
                        },
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **_refusals(body=False),
            },
        }
    },
    "/api/reports/fairness": {
        "get": {
            "summary": "Waits, service level and abandonment by language and by channel (supervisor, admin)",
            "security": [{"session": []}],
            "parameters": PERIOD,
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "language": {"type": "array", "items": FIGURES},
                            "channel": {"type": "array", "items": FIGURES},
                        },
                    },
                    "The figures by group",
                ),
                **_refusals(body=False),
            },
        }
    },
    "/api/agents/{id}/status": {
        "post": {
            "summary": "Set an adviser away, offline or available (supervisor, admin; audited with who did it)",
            "description": "Away or offline withdraws their offers at once. Available only while they have the"
            " console open.",
            "security": [{"session": []}],
            "parameters": _in_path("id", {"type": "integer", "description": "An adviser's user id"}),
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["status"],
                    "properties": {
                        "status": {"enum": ["available", "away", "offline"]},
                        "reason": {"type": "string", "maxLength": 80},
                    },
                }
            ),
            "responses": {
                "200": _json({"type": "object"}, "Set"),
                "409": _json(ERROR, "Available asked for an adviser with no console open"),
                **_refusals(missing="No such adviser"),
            },
        }
    },
    "/api/conversations/{id}/steer": {
        "post": {
            "summary": "Move a waiting contact to another queue or change its priority (supervisor, admin; audited)",
            "description": "It keeps its arrival time; its escalation starts again in the new queue.",
            "security": [{"session": []}],
            "parameters": _in_path("id", {"type": "string", "format": "uuid"}),
            "requestBody": _body(
                {
                    "type": "object",
                    "properties": {
                        "queue": {"type": "string"},
                        "priority": {"type": "integer", "minimum": 0, "maximum": 999},
                    },
                }
            ),
            "responses": {
                "200": _json({"type": "object"}, "Moved"),
                "409": _json(ERROR, "No longer waiting (being offered or answered)"),
                **_refusals(missing="No such conversation"),
            },
        }
    },
    "/api/queues/{name}/waiting": {
        "get": {
            "summary": "Who waits in a queue, in the order they will be served (supervisor, admin)",
            "security": [{"session": []}],
            "parameters": [
                *_in_path("name", {"type": "string"}),
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "queue": {"type": "string"},
                            "total": {"type": "integer"},
                            "contacts": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "conversation_id": {"type": "string", "format": "uuid"},
                                        "channel": {"type": "string"},
                                        "name": {"type": "string"},
                                        "language": {"type": "string"},
                                        "priority": {"type": "integer"},
                                        "step": {"type": "integer"},
                                        "waited_s": {"type": "integer"},
                                        "position": {"type": "integer"},
                                    },
                                },
                            },
                        },
                    },
                    "The first ``limit`` (default 50) of those waiting, and how many wait in all",
                ),
                **_refusals(missing="No such queue"),
            },
        }
    },
    "/api/reports/agents/{id}/timeline": {
        "get": {
            "summary": "An adviser's states over up to 31 days, and the contacts they had (supervisor, admin)",
            "security": [{"session": []}],
            "parameters": [*_in_path("id", {"type": "integer"}), *PERIOD],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "states": {
                                "type": "array",
                                "items": {"type": "object", "description": "status, reason, from, to"},
                            },
                            "contacts": {
                                "type": "array",
                                "items": {"type": "object", "description": "conversation_id, channel, from, to"},
                            },
                        },
                    },
                    "The timeline",
                ),
                **_refusals(body=False, missing="No such adviser"),
            },
        }
    },
}
