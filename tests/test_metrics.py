"""/metrics moves as a headless kiosk and console go through a call; health probes; request ids in logs."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from server.logging_setup import JsonFormatter
from signaling.client import RequestFailed
from signaling.protocol.messages import (
    CallMedia,
    OfferAccept,
    SessionEnd,
    StatusSet,
    TicketCancel,
    TicketCreate,
)
from signaling.protocol.version import SUBPROTOCOL
from tests.support import Env, eventually

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(env: Env) -> Samples:
    """As the IT account would (``/metrics`` is not public: tests/test_edge_web.py)."""
    token = await env.issued_token("it")
    async with httpx.AsyncClient(base_url=env.url) as http:
        r = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(r.text) for s in fam.samples}


async def scrape_until(env: Env, ready: Callable[[Samples], bool]) -> Samples:
    """Presence is counted just after the welcome frame: scrape again until the figures are the expected ones."""

    async def settled() -> Samples | None:
        m = await scrape(env)
        return m if ready(m) else None

    return await eventually(settled, what="metrics reach the expected figures")


def v(m: Samples, name: str, **labels: str) -> float:
    return m.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(after: Samples, before: Samples, name: str, **labels: str) -> float:
    return v(after, name, **labels) - v(before, name, **labels)


async def test_metrics_follow_a_call(env: Env) -> None:
    m0 = await scrape(env)
    staff, s_in = await env.staff_client("takahashi")
    kiosk, _ = await env.kiosk_client("bihoro")
    m1 = await scrape_until(env, lambda m: delta(m, m0, "madoguchi_connected", kind="kiosk") == 1
                            and delta(m, m0, "madoguchi_connected", kind="staff") == 1)
    assert delta(m1, m0, "madoguchi_connected", kind="staff") == 1
    assert delta(m1, m0, "madoguchi_connected", kind="kiosk") == 1

    await staff.request(StatusSet(status="available"))
    ticket = (await kiosk.request(TicketCreate(service_code="employment")))["ticket_id"]
    await s_in.next("offer", ticket_id=ticket)
    m2 = await scrape(env)
    assert delta(m2, m1, "madoguchi_tickets_total", service="employment") == 1
    assert delta(m2, m1, "madoguchi_offers_total") == 1
    assert v(m2, "madoguchi_tickets_waiting", service="employment") == 1  # offered is still queued
    assert delta(m2, m1, "madoguchi_signaling_messages_total", type="ticket.create") == 1
    assert delta(m2, m1, "madoguchi_signaling_messages_total", type="status.set") == 1

    sid = (await staff.request(OfferAccept(ticket_id=ticket)))["session_id"]
    m3 = await scrape(env)
    assert delta(m3, m2, "madoguchi_accepts_total") == 1
    assert v(m3, "madoguchi_tickets_waiting", service="employment") == 0

    await kiosk.request(CallMedia(session_id=sid, state="connected", setup_ms=350.0))
    await staff.request(CallMedia(session_id=sid, state="connected", setup_ms=360.0))  # counted once per call
    m4 = await scrape(env)
    assert delta(m4, m3, "madoguchi_call_setup_seconds_count") == 1
    assert delta(m4, m3, "madoguchi_call_setup_seconds_sum") > 0
    assert delta(m4, m3, "madoguchi_signaling_messages_total", type="call.media") == 2

    await kiosk.request(SessionEnd(session_id=sid))
    m5 = await scrape(env)
    assert delta(m5, m4, "madoguchi_session_duration_seconds_count") == 1
    assert delta(m5, m4, "madoguchi_signaling_messages_total", type="session.end") == 1

    # errors by code: an unknown ticket, a cancelled one, a service nobody is on duty for
    with pytest.raises(RequestFailed) as err:
        await staff.request(OfferAccept(ticket_id=987654))
    assert err.value.code == "conflict"  # takahashi is in wrap-up
    second, _ = await env.kiosk_client("bihoro")
    await scrape_until(env, lambda m: delta(m, m5, "madoguchi_connected", kind="kiosk") == 1)
    waiting = (await second.request(TicketCreate(service_code="employment")))["ticket_id"]  # takahashi on duty
    await second.request(TicketCancel(ticket_id=waiting))
    with pytest.raises(RequestFailed) as err:
        await second.request(TicketCreate(service_code="guardianship"))
    assert err.value.code == "no_specialist"
    with pytest.raises(RequestFailed) as err:
        await second.request(TicketCancel(ticket_id=987654))
    assert err.value.code == "not_found"
    m6 = await scrape(env)
    assert delta(m6, m5, "madoguchi_signaling_errors_total", code="conflict") == 1
    assert delta(m6, m5, "madoguchi_signaling_errors_total", code="no_specialist") == 1
    assert delta(m6, m5, "madoguchi_signaling_errors_total", code="not_found") == 1
    assert delta(m6, m5, "madoguchi_abandons_total", reason="cancelled") == 1
    assert delta(m6, m5, "madoguchi_no_specialist_total") == 1
    assert delta(m6, m5, "madoguchi_tickets_total", service="employment") == 1
    assert delta(m6, m5, "madoguchi_connected", kind="kiosk") == 1

    await second.close()
    await kiosk.close()
    await staff.close()
    m7 = await scrape_until(env, lambda m: all(delta(m, m0, "madoguchi_connected", kind=k) == 0
                                               for k in ("kiosk", "staff")))
    assert v(m7, "madoguchi_connected", kind="kiosk") == v(m0, "madoguchi_connected", kind="kiosk")
    assert v(m7, "madoguchi_connected", kind="staff") == v(m0, "madoguchi_connected", kind="staff")


async def test_health_probes(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.url) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"


async def test_request_ids(sqlite_env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env = sqlite_env
    caplog.set_level(logging.INFO, logger="madoguchi.http")
    async with httpx.AsyncClient(base_url=env.url) as http:
        given = await http.post("/api/auth/login", json={"username": "it", "password": "nope"},
                                headers={"X-Request-ID": "req-42.abc"})
        assert given.status_code == 401 and given.headers["x-request-id"] == "req-42.abc"
        made = await http.get("/healthz")
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
        hostile = await http.get("/healthz", headers={"X-Request-ID": "x\" injected=1 " + "a" * 80})
        assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"])  # replaced, never echoed
    lines = [r for r in caplog.records if r.name == "madoguchi.http"]
    login = [r for r in lines if "/api/auth/login" in r.getMessage()]
    assert len(login) == 1 and login[0].request_id == "req-42.abc"  # type: ignore[attr-defined]
    assert "POST /api/auth/login 401" in login[0].getMessage()
    out = json.loads(JsonFormatter().format(login[0]))
    assert out["request_id"] == "req-42.abc" and out["logger"] == "madoguchi.http"
    # outside a request there is no id, and an explicit extra still wins
    plain = logging.getLogger("madoguchi.test").makeRecord("madoguchi.test", logging.INFO, __file__, 1, "m", (), None)
    assert not hasattr(plain, "request_id")
    assert "request_id" not in json.loads(JsonFormatter().format(plain))
    logging.getLogger("madoguchi.test").warning("x", extra={"request_id": "mine"})
    assert caplog.records[-1].request_id == "mine"  # type: ignore[attr-defined]
    # the WebSocket upgrade answers with the connection's id too
    async with websockets.connect(env.server.ws_url, subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
                                  additional_headers={"X-Request-ID": "ws-7"}) as ws:
        assert ws.response is not None and ws.response.headers["X-Request-ID"] == "ws-7"
