"""Ports chosen for our servers (the embedded Redis and PostgreSQL, the demo's mail, the tests' stand-ins) are
never ones the kernel could hand to an outgoing connection before the server binds them."""

from __future__ import annotations

import socket

from contactd.embedded import EPHEMERAL, free_port


def test_a_free_port_is_below_the_ephemeral_range_and_can_be_bound() -> None:
    low, _high = (int(x) for x in EPHEMERAL.read_text().split())
    ports = {free_port() for _ in range(200)}
    assert all(1024 <= p < low for p in ports), sorted(p for p in ports if not 1024 <= p < low)
    assert len(ports) > 150, "ports are spread, so two servers asking at once rarely get the same one"
    for port in list(ports)[:20]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_outgoing_connections_never_take_such_a_port() -> None:
    """What the choice is for: 200 outgoing connections' local ports all fall in the ephemeral range."""
    low, high = (int(x) for x in EPHEMERAL.read_text().split())
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(256)
        clients = [socket.create_connection(server.getsockname()) for _ in range(200)]
        try:
            assert all(low <= c.getsockname()[1] <= high for c in clients)
        finally:
            for c in clients:
                c.close()
