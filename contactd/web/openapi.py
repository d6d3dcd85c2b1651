"""The OpenAPI 3.1 document of the JSON API (the WebSocket protocols are in docs/protocol.md)."""

from __future__ import annotations

from typing import Any

from contactd import __version__
from contactd.web.openapi_admin import ADMIN_PATHS, ROUTING_PROFILE
from contactd.web.openapi_mail import MAIL_PATHS


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
USER = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "role": {"type": "string", "enum": ["agent", "supervisor", "admin"]},
    },
    "required": ["id", "name", "role"],
}
MESSAGE = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "from": {"type": "string", "enum": ["citizen", "agent", "system"]},
        "text": {"type": "string"},
        "at": {"type": "string", "format": "date-time"},
        "subject": {"type": "string", "description": "An email's subject"},
        "status": {"type": "string", "description": "How far an adviser's text or email got"},
        "attachments": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "type": {"type": "string"},
                    "size": {"type": "integer"},
                    "url": {"type": "string", "description": "GET it signed in: /api/attachments/{id}"},
                },
            },
        },
    },
}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "contactd",
        "version": __version__,
        "description": "JSON API of contactd. WebSocket protocols: docs/protocol.md.",
    },
    "components": {
        "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "contactd_session"}},
        "schemas": {"Error": ERROR, "User": USER, "Message": MESSAGE, "RoutingProfile": ROUTING_PROFILE},
    },
    "paths": {
        "/healthz": {"get": {"summary": "The process runs", "responses": {"200": {"description": "Alive"}}}},
        "/readyz": {
            "get": {
                "summary": "Redis and PostgreSQL answer",
                "responses": {
                    "200": {"description": "Ready"},
                    "503": _json(
                        {
                            "type": "object",
                            "properties": {
                                "failed": {
                                    "type": "array",
                                    "items": {"type": "string", "enum": ["redis", "postgresql"]},
                                }
                            },
                        },
                        "Which dependency failed",
                    ),
                },
            }
        },
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "Text format"}}}},
        "/api/login": {
            "post": {
                "summary": "Sign in",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["username", "password"],
                                "properties": {
                                    "username": {"type": "string"},
                                    "password": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"user": USER}}, "Signed in; sets the session cookie"
                    ),
                    "400": _json(ERROR, "Not a JSON object with username and password"),
                    "401": _json(ERROR, "Wrong username or password"),
                },
            }
        },
        "/api/logout": {"post": {"summary": "End the session", "responses": {"200": {"description": "Signed out"}}}},
        "/api/me": {
            "get": {
                "summary": "The signed-in user",
                "security": [{"session": []}],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "user": USER,
                                "dispositions": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                        "The user",
                    ),
                    "401": _json(ERROR, "Not signed in"),
                },
            }
        },
        "/api/agents": {
            "get": {
                "summary": "Advisers and their status (for transfers)",
                "security": [{"session": []}],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "agents": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "id": {"type": "integer"},
                                            "name": {"type": "string"},
                                            "status": {"type": "string"},
                                        },
                                    },
                                }
                            },
                        },
                        "Advisers",
                    ),
                    "401": _json(ERROR, "Not signed in"),
                },
            }
        },
        "/api/queues": {
            "get": {
                "summary": "Topics a citizen can choose",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "queues": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "name": {"type": "string"},
                                            "display_name": {"type": "string"},
                                            "display_name_cy": {"type": ["string", "null"]},
                                        },
                                    },
                                }
                            },
                        },
                        "Queues",
                    )
                },
            }
        },
        "/api/conversations/{id}/routing": {
            "get": {
                "summary": "The routing receipt: why the citizen waited, and why this agent",
                "description": "Every decision with its rule, the agents ranked, the agents skipped and why, and how"
                " each offer ended; plus the routing timeline. Same access as the conversation.",
                "security": [{"session": []}],
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "waited_s": {"type": ["number", "null"]},
                                "decisions": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "kind": {"type": "string", "enum": ["offered", "waiting"]},
                                            "rule": {"type": "string"},
                                            "chosen": {"type": ["object", "null"]},
                                            "step": {"type": "integer", "description": "Escalation step reached"},
                                            "ranked": {"type": "array", "description": "First 10 eligible, best first"},
                                            "eligible": {"type": "integer", "description": "Eligible agents, all told"},
                                            "skipped": {"type": "array", "description": "Passed over, with the reason"},
                                            "unlisted": {"type": "integer", "description": "Not free, not named"},
                                            "outcome": {"type": ["string", "null"]},
                                        },
                                    },
                                },
                                "timeline": {"type": "array"},
                            },
                        },
                        "The receipt",
                    ),
                    "401": _json(ERROR, "Not signed in"),
                    "404": _json(ERROR, "No such conversation, or not yours"),
                },
            }
        },
        "/api/conversations/{id}": {
            "get": {
                "summary": "A conversation with its transcript and events",
                "description": "Supervisors and admins see any; an agent only those assigned to them.",
                "security": [{"session": []}],
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "format": "uuid"},
                    }
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string"},
                                "channel": {"type": "string"},
                                "queue": {"type": "string"},
                                "state": {"type": "string"},
                                "transcript": {"type": "array", "items": MESSAGE},
                                "events": {"type": "array", "items": {"type": "object"}},
                            },
                        },
                        "The conversation",
                    ),
                    "401": _json(ERROR, "Not signed in"),
                    "404": _json(ERROR, "No such conversation, or not yours"),
                },
            }
        },
        **ADMIN_PATHS,
        **MAIL_PATHS,
    },
}
