"""Exceptions of the router package (STYLE 10)."""

from __future__ import annotations


class RouterError(Exception):
    """Base of every error the router raises on purpose."""


class StaleState(RouterError, RuntimeError):
    """Redis no longer matches what a decision was based on; decide again."""


class NotYours(RouterError, PermissionError):
    """An agent acted on an offer or conversation that is not theirs."""
