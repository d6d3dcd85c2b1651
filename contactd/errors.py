"""One exception tree for the contactd service (STYLE 10).

Edges translate these in one place: HTTP handlers to statuses, WebSocket
handlers to ``error`` frames or close codes.
"""

from __future__ import annotations


class ContactdError(Exception):
    """Base of every error contactd raises on purpose."""


class ConfigError(ContactdError, ValueError):
    """A setting is missing or invalid; the message names it in one line."""


class EmbeddedServerError(ContactdError, RuntimeError):
    """An embedded Redis or PostgreSQL server could not be started."""


class NotFound(ContactdError, LookupError):
    """The thing asked for does not exist (or is not visible to the caller)."""


class Forbidden(ContactdError, PermissionError):
    """The caller is known but may not do this."""


class Conflict(ContactdError, ValueError):
    """The request is well formed but the current state does not allow it."""


class Unavailable(ContactdError, RuntimeError):
    """A part of the service takes no more work now: it is shutting down, or its backlog is full."""
