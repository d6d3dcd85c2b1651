"""Web chat: the citizen's WebSocket protocol (``/ws/chat``)."""
