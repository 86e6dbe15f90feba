"""Prometheus metrics, one registry per app instance (tests run several apps in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connected = Gauge("madoguchi_connected", "Connected signaling clients", ["kind"], registry=r)
        self.waiting = Gauge("madoguchi_tickets_waiting", "Tickets waiting per service", ["service"], registry=r)
        self.tickets = Counter("madoguchi_tickets", "Tickets created", ["service"], registry=r)
        self.offers = Counter("madoguchi_offers", "Offers sent to specialists", registry=r)
        self.accepts = Counter("madoguchi_accepts", "Offers accepted", registry=r)
        self.abandons = Counter("madoguchi_abandons", "Tickets abandoned or cancelled", ["reason"], registry=r)
        self.no_specialist = Counter("madoguchi_no_specialist", "Requests with nobody on duty", registry=r)
        self.call_setup = Histogram(
            "madoguchi_call_setup_seconds", "Accept to media connected", registry=r,
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
        )
        self.session_duration = Histogram(
            "madoguchi_session_duration_seconds", "Accept to end of call", registry=r,
            buckets=(30, 60, 180, 300, 600, 900, 1800, 3600),
        )
        self.messages = Counter("madoguchi_signaling_messages", "Signaling messages", ["type"], registry=r)
        self.errors = Counter("madoguchi_signaling_errors", "Signaling errors", ["code"], registry=r)

    def count_message(self, typ: str, code: str | None) -> None:
        if code is None:
            self.messages.labels(typ).inc()
        else:
            self.errors.labels(code).inc()
