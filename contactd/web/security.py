"""Security headers on every HTTP response (the pages load only their own scripts and styles)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    b"default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self';"
    b" script-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors "
)
COMMON = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]
# Departments embed the citizen chat in their own sites (widget.js); staff pages are never framed.
FRAMABLE = [*COMMON, (b"content-security-policy", CSP + b"*")]
NOT_FRAMABLE = [*COMMON, (b"content-security-policy", CSP + b"'none'"), (b"x-frame-options", b"DENY")]


class SecurityHeaders:
    """Pure ASGI middleware (it leaves WebSockets alone)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        extra = FRAMABLE if scope["path"].startswith("/chat") else NOT_FRAMABLE

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
