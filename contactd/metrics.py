"""Prometheus metrics, in a registry owned by the app (no module-level state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    """Every metric contactd exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Gauge(
            "contactd_websocket_connections",
            "Open WebSocket connections on this node",
            ["endpoint"],
            registry=r,
        )
        self.queue_depth = Gauge("contactd_queue_waiting", "Contacts waiting per queue", ["queue"], registry=r)
        self.contacts = Counter("contactd_contacts", "Contacts received", ["channel", "queue"], registry=r)
        self.offers = Counter("contactd_offers", "Offers made to agents", registry=r)
        self.accepts = Counter("contactd_offer_accepts", "Offers accepted", registry=r)
        self.timeouts = Counter("contactd_offer_timeouts", "Offers that timed out", registry=r)
        self.abandoned = Counter(
            "contactd_abandoned", "Contacts abandoned before an agent answered", ["channel"], registry=r
        )
        self.bad_frames = Counter(
            "contactd_bad_frames", "Frames refused with an error", ["endpoint", "code"], registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
