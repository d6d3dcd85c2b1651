"""The OpenAPI paths for mail and citizens (``contactd.web.mail``, ``contactd.web.citizens``), merged into
``contactd.web.openapi.OPENAPI``."""

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
}
