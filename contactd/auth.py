"""Staff sign-in: argon2id password hashes, server-side sessions in a cookie, and Origin checks."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.websockets import WebSocket

from contactd.settings import Settings
from contactd.staff import Staff, User

COOKIE = "contactd_session"


class Passwords:
    """argon2id hashing (argon2-cffi's RFC 9106 low-memory profile: 64 MiB and tens of ms per hash).

    ``check`` and ``make`` run in worker threads (argon2-cffi releases the GIL),
    at most two at a time so that a burst of sign-ins costs bounded memory.
    """

    def __init__(self) -> None:
        self.hasher = PasswordHasher()
        self._slots = asyncio.Semaphore(2)
        # Verifying against a real hash when the user is unknown keeps the
        # answer's timing from telling which usernames exist.
        self._dummy = self.hasher.hash("not a real password")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            return self.hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)

    async def check(self, stored: str | None, password: str) -> bool:
        async with self._slots:
            return await asyncio.to_thread(self.verify, stored, password)

    async def make(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self.hash, password)


async def authenticate(staff: Staff, passwords: Passwords, username: str, password: str) -> User | None:
    """The user if the password is theirs, else None (same work either way).

    argon2 is deliberately slow; it runs off the event loop so that sign-ins never stall live chats.
    """
    user = await staff.user_by_username(username)
    if not await passwords.check(user.password_hash if user else None, password):
        return None
    assert user is not None
    if passwords.needs_rehash(user.password_hash):
        await staff.set_password_hash(user.id, await passwords.make(password))
    return user


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=12 * 3600,
        httponly=True,
        samesite="strict",
        path="/",
        secure=settings.public_url.startswith("https://"),
    )


async def current_user(conn: HTTPConnection, staff: Staff) -> User | None:
    """The signed-in user of a request or WebSocket upgrade, or None."""
    token = conn.cookies.get(COOKIE)
    if not token or len(token) > 100:
        return None
    return await staff.session_user(token)


CLOSE_UNAUTHORISED = 4401
CLOSE_FORBIDDEN = 4403


async def staff_socket_user(ws: WebSocket, settings: Settings, staff: Staff, roles: tuple[str, ...]) -> User | None:
    """The signed-in user behind a staff WebSocket upgrade, or None after refusing it (HTTP 403).

    Refused: a foreign Origin, no valid session, or a role not in ``roles``.
    """
    user = await current_user(ws, staff) if origin_allowed(ws, settings) else None
    if user is None or user.role not in roles:
        await ws.close(CLOSE_FORBIDDEN if user else CLOSE_UNAUTHORISED, "not allowed")
        return None
    return user


def origin_allowed(conn: HTTPConnection, settings: Settings) -> bool:
    """Is the browser page behind this upgrade one of ours?

    Browsers always send ``Origin`` on WebSocket upgrades, and a page cannot
    forge it: allow our public URL, the configured extra origins, and the
    origin of the host the client itself addressed (same origin).
    """
    origin = conn.headers.get("origin", "").rstrip("/")
    if not origin:
        return False
    if origin == settings.public_origin or origin in settings.allowed_origins:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == conn.headers.get("host", "")
