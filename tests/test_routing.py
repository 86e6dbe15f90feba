"""Queue and routing (DESIGN §4): the pure rules of ``server.queue.routing``, then the same rules through a
real server over real WebSockets.

Seed (server/db/seed.py): sato (kitami; disability, general; written, large_text), suzuki (kitami;
guardianship, general; written), takahashi (bihoro; employment, disability; sign_language, written),
tanaka (kitami supervisor; all services; written). Every seeded service is in the shared pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from server.auth import issue_token
from server.db.base import utcnow
from server.db.models import AuditEvent, Branch, CallSession, Kiosk, Staff, Ticket
from server.db.seed import HOURS_EN, HOURS_JA
from server.queue.clock import Clock, ManualClock
from server.queue.routing import (
    StaffView,
    TicketView,
    assign,
    could_ever_serve,
    eligible,
    match,
    queue_order,
    starts_written,
    tier,
    unmet_needs,
)
from signaling.client import RequestFailed, SignalingClient
from signaling.protocol.messages import (
    OfferAccept,
    OfferDecline,
    Ping,
    SessionEnd,
    StatusSet,
    TicketCancel,
    TicketCreate,
    TicketPriority,
    TransferRequest,
    WrapupDone,
)
from tests.support import Env, Inbox, make_settings, server_env

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DISABILITY, GUARDIANSHIP, EMPLOYMENT = 1, 2, 3
KITAMI, BIHORO, OKETO = 1, 2, 5


# ================================================================ pure rules


def tv(id: int, *, service: int = DISABILITY, muni: int = KITAMI, needs: tuple[str, ...] = (),
       priority: int = 0, at: float = 0.0, shared: bool = True, target: int | None = None,
       declined: tuple[int, ...] = (), language: str = "ja") -> TicketView:
    return TicketView(id=id, service_id=service, municipality_id=muni, needs=frozenset(needs),
                      priority=priority, arrival_at=T0 + timedelta(seconds=at), shared_service=shared,
                      target_staff_id=target, declined_by=frozenset(declined), language=language)


def sv(id: int, *, muni: int = KITAMI, skills: tuple[int, ...] = (DISABILITY,), caps: tuple[str, ...] = (),
       idle: float | None = 0.0) -> StaffView:
    return StaffView(id=id, municipality_id=muni, skills=frozenset(skills), capabilities=frozenset(caps),
                     idle_since=None if idle is None else T0 + timedelta(seconds=idle))


NOW = T0 + timedelta(seconds=60)


def ids(pairs: list[tuple[TicketView, StaffView]]) -> list[tuple[int, int]]:
    return [(t.id, s.id) for t, s in pairs]


class TestRoutingRules:
    def test_priority_first_then_arrival_then_id(self) -> None:
        tickets = [tv(1, at=5), tv(2, at=1), tv(3, at=9, priority=2), tv(4, at=1), tv(5, at=0, priority=-1)]
        assert [t.id for t in sorted(tickets, key=queue_order)] == [3, 2, 4, 1, 5]
        # one specialist: the high-priority ticket wins although it arrived last
        assert ids(assign(tickets, [sv(10)], NOW, 300)) == [(3, 10)]
        # two: then the earliest arrival (ties broken by id)
        assert ids(assign(tickets, [sv(10), sv(11, idle=1)], NOW, 300)) == [(3, 10), (2, 11)]

    def test_longest_idle_specialist_gets_it(self) -> None:
        staff = [sv(10, idle=30), sv(11, idle=5), sv(12, idle=20)]
        assert ids(assign([tv(1)], staff, NOW, 300)) == [(1, 11)]
        assert ids(assign([tv(1), tv(2, at=1), tv(3, at=2)], staff, NOW, 300)) == [(1, 11), (2, 12), (3, 10)]
        # equal idle time: the lower id, so the result never depends on list order
        assert ids(assign([tv(1)], [sv(12, idle=5), sv(11, idle=5)], NOW, 300)) == [(1, 11)]
        # no idle_since recorded counts as idle longest
        assert ids(assign([tv(1)], [sv(10, idle=5), sv(13, idle=None)], NOW, 300)) == [(1, 13)]

    def test_each_specialist_and_ticket_used_once(self) -> None:
        pairs = assign([tv(i, at=i) for i in range(1, 6)], [sv(10), sv(11, idle=1)], NOW, 300)
        assert ids(pairs) == [(1, 10), (2, 11)]
        assert assign([], [sv(10)], NOW, 300) == [] and assign([tv(1)], [], NOW, 300) == []

    def test_skill_needed(self) -> None:
        assert ids(assign([tv(1, service=GUARDIANSHIP)], [sv(10)], NOW, 300)) == []
        # a ticket nobody can serve does not block the ones behind it
        assert ids(assign([tv(1, service=GUARDIANSHIP), tv(2, at=1)], [sv(10)], NOW, 300)) == [(2, 10)]
        multi = sv(11, skills=(DISABILITY, GUARDIANSHIP), idle=50)
        pairs = assign([tv(1, service=GUARDIANSHIP), tv(2, at=1)], [sv(10), multi], NOW, 300)
        assert ids(pairs) == [(1, 11), (2, 10)]

    def test_needs_prefer_never_exclude(self) -> None:
        t = tv(1, needs=("sign_language", "written"))
        assert eligible(t, sv(10), NOW, 300)  # nobody has to have the needs (issue 12)
        assert match(t, sv(10, caps=("sign_language",))) > match(t, sv(11, caps=("written", "large_text")))
        staff = [sv(10, idle=0), sv(11, caps=("sign_language", "written"), idle=40)]
        assert ids(assign([t], staff, NOW, 300)) == [(1, 11)]  # the skilled one, although idle shorter
        assert ids(assign([t], [sv(10)], NOW, 300)) == [(1, 10)]  # nobody skilled: whoever can, at once
        assert ids(assign([tv(2)], staff, NOW, 300)) == [(2, 10)]  # no needs: the idle order
        # a required skill first, then the resident's language, then the other needs
        en = tv(3, needs=("large_text",), language="en")
        assert match(en, sv(10, caps=("large_text",))) < match(en, StaffView(
            id=11, municipality_id=KITAMI, skills=frozenset({DISABILITY}), capabilities=frozenset(),
            idle_since=None, languages=frozenset({"ja", "en"})))
        assert unmet_needs(t, sv(10, caps=("written",))) == ["sign_language"]
        assert starts_written(t, sv(10, caps=("sign_language",)))  # written was asked for
        assert not starts_written(tv(4, needs=("sign_language",)), sv(10, caps=("sign_language",)))

    def test_a_required_skill_skips_the_shared_pool_wait(self) -> None:
        t = tv(1, muni=OKETO, needs=("sign_language",))
        assert eligible(t, sv(10, muni=KITAMI, caps=("sign_language",)), NOW, 300)
        assert not eligible(t, sv(11, muni=KITAMI, caps=("large_text",)), NOW, 300)
        assert not eligible(tv(2, muni=OKETO, needs=("sign_language",), shared=False),
                            sv(10, muni=KITAMI, caps=("sign_language",)), NOW, 300)

    def test_declined_by_is_skipped(self) -> None:
        t = tv(1, declined=(10,))
        assert not eligible(t, sv(10), NOW, 300)
        assert ids(assign([t], [sv(10), sv(11, idle=30)], NOW, 300)) == [(1, 11)]
        assert ids(assign([t, tv(2, at=1)], [sv(10)], NOW, 300)) == [(2, 10)]

    def test_named_target_only_that_specialist(self) -> None:
        t = tv(1, target=11)
        assert ids(assign([t], [sv(10), sv(11, idle=50)], NOW, 300)) == [(1, 11)]
        assert ids(assign([t], [sv(10)], NOW, 300)) == []
        # named target of another municipality: no shared-pool wait
        assert eligible(tv(1, muni=OKETO, target=11), sv(11), NOW, 300)

    def test_named_target_without_the_skill_is_still_offered(self) -> None:
        """accept() lets a named target take the ticket whatever the skills; routing must offer it to them."""
        t = tv(1, service=DISABILITY, needs=("written",), target=11)
        assert eligible(t, sv(11, skills=(GUARDIANSHIP,)), NOW, 300)
        assert ids(assign([t], [sv(10, idle=-50), sv(11, skills=(GUARDIANSHIP,))], NOW, 300)) == [(1, 11)]
        assert not eligible(tv(1, target=11, declined=(11,)), sv(11), NOW, 300)

    def test_tier_own_municipality_first_shared_pool_after_wait(self) -> None:
        own, other = sv(10, muni=OKETO, idle=30), sv(11, muni=KITAMI, idle=0)
        fresh, old = tv(1, muni=OKETO, at=0), tv(2, muni=OKETO, at=0)
        # before the wait: only the own municipality, even though the other specialist is idle longer
        assert ids(assign([fresh], [own, other], T0 + timedelta(seconds=10), 300)) == [(1, 10)]
        assert ids(assign([fresh], [other], T0 + timedelta(seconds=10), 300)) == []
        assert ids(assign([fresh], [other], T0 + timedelta(seconds=299.9), 300)) == []
        # from the configured wait on: the shared pool
        assert ids(assign([old], [other], T0 + timedelta(seconds=300), 300)) == [(2, 11)]
        assert tier(fresh, own) == "own" and tier(fresh, other) == "shared"
        # a service outside the shared pool never goes to another municipality
        assert ids(assign([tv(3, muni=OKETO, shared=False)], [other], T0 + timedelta(days=1), 300)) == []
        assert not eligible(tv(3, muni=OKETO, shared=False), other, NOW, 0, ignore_tier=False)
        assert eligible(tv(3, muni=OKETO, shared=False), other, NOW, 0, ignore_tier=True)

    def test_could_ever_serve(self) -> None:
        assert could_ever_serve(tv(1, muni=OKETO), sv(10, muni=KITAMI))  # shared: eventually
        assert not could_ever_serve(tv(1, muni=OKETO, shared=False), sv(10, muni=KITAMI))
        assert not could_ever_serve(tv(1, service=GUARDIANSHIP), sv(10))
        assert could_ever_serve(tv(1, needs=("interpreter", "sign_language")), sv(10, caps=("written",)))


# ================================================================ through the server


@dataclass
class Party:
    client: SignalingClient
    inbox: Inbox
    id: int
    token: str

    async def req(self, msg: Any) -> dict[str, Any]:
        return await self.client.request(msg)

    async def fails(self, msg: Any) -> RequestFailed:
        with pytest.raises(RequestFailed) as info:
            await self.client.request(msg)
        return info.value

    def offers(self) -> list[Any]:
        return [m for m in self.inbox.drain() if m.type == "offer"]


class World:
    """Consoles and kiosks on a real server. Tokens are issued with the server's key: logins and kiosk
    enrollment (argon2, ~0.2 s a hash) are covered by test_auth_api.py."""

    def __init__(self, env: Env) -> None:
        self.env = env

    async def staff(self, username: str, available: bool = False, node: Env | None = None) -> Party:
        """A console; ``node``: connect to another server on the same database."""
        async with self.env.ctx.maker() as db:
            s = (await db.execute(select(Staff).where(Staff.username == username))).scalar_one()
        token = issue_token(self.env.settings.secret_key, "staff", s.id, s.role, 3600)
        p = await self._connect(token, s.id, node or self.env)
        if available:
            await p.req(StatusSet(status="available"))
            await asyncio.sleep(0.01)  # distinct idle_since for whoever goes available next
        return p

    async def kiosk(self, branch: str = "kitami-tokoro") -> Party:
        async with self.env.ctx.maker() as db, db.begin():
            b = (await db.execute(select(Branch).where(Branch.code == branch))).scalar_one()
            k = Kiosk(branch_id=b.id, name=f"kiosk {branch}", credential_hash="(test)", enrolled_at=utcnow())
            db.add(k)
            await db.flush()
            kid = k.id
        token = issue_token(self.env.settings.secret_key, "kiosk", kid, "kiosk", 600)
        return await self._connect(token, kid, self.env)

    async def again(self, party: Party) -> Party:
        """The same kiosk or console connecting again on a new socket (after a close or a restart)."""
        return await self._connect(party.token, party.id, self.env)

    async def _connect(self, token: str, pid: int, node: Env) -> Party:
        inbox = Inbox()

        async def tok() -> str:
            return token

        return Party(await node.client(tok, inbox.queue), inbox, pid, token)

    async def tick(self) -> None:
        """Apply the queue's timers now (what the server's half-second loop does)."""
        await self.env.ctx.engine.tick()

    async def ticket(self, tid: int) -> Ticket:
        async with self.env.ctx.maker() as db:
            t = await db.get(Ticket, tid)
            assert t is not None
            return t

    async def staff_row(self, pid: int) -> Staff:
        async with self.env.ctx.maker() as db:
            s = await db.get(Staff, pid)
            assert s is not None
            return s

    async def note(self, staff: Party, session_id: int, body: dict[str, Any]) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.env.url) as http:
            return await http.put(f"/api/sessions/{session_id}/note", json=body,
                                  headers={"Authorization": f"Bearer {staff.token}"})

    async def call(self, staff: Party, kiosk: Party, service: str = "disability",
                   **kw: Any) -> tuple[int, int]:
        """Kiosk asks, the specialist gets the offer and accepts. Returns (ticket id, session id)."""
        tid = (await kiosk.req(TicketCreate(service_code=service, **kw)))["ticket_id"]
        await staff.inbox.next("offer", ticket_id=tid)
        sid = (await staff.req(OfferAccept(ticket_id=tid)))["session_id"]
        await kiosk.inbox.next("session.start", session_id=sid)
        return tid, sid

    async def finish(self, staff: Party, kiosk: Party, session_id: int) -> None:
        """Resident hangs up, the specialist writes the note and finishes wrap-up."""
        await kiosk.req(SessionEnd(session_id=session_id))
        await staff.inbox.next("session.ended", session_id=session_id)
        assert (await self.note(staff, session_id, {"category": "相談"})).status_code == 200
        await staff.req(WrapupDone(session_id=session_id))


@asynccontextmanager
async def world(tmp_path: Path, backend: str, clock: Clock | None = None, **settings: Any) -> AsyncIterator[World]:
    """A seeded server; ``clock``: the time its rules read (a test that advances a ManualClock then calls
    :meth:`World.tick` applies the timers at once, instead of sleeping through them)."""
    over: dict[str, Any] = {"offer_timeout_s": 30.0, "kiosk_grace_s": 30.0, "shared_pool_after_s": 300.0,
                            **settings}
    async with server_env(make_settings(tmp_path, backend, **over), clock=clock) as env:
        yield World(env)


async def quiet_for(w: World, party: Party) -> list[Any]:
    """Apply the queue's timers now, then return the offers ``party`` got meanwhile: a ping's reply comes after
    every push the server sent it before (one socket, in order), so none is still on its way."""
    await w.tick()
    await party.req(Ping())
    return party.offers()


async def test_skill_mismatch_waits(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w:
        sato = await w.staff("sato", available=True)
        k1, k2 = await w.kiosk(), await w.kiosk()
        _, sid1 = await w.call(sato, k1)                       # sato busy: on duty, not available
        suzuki = await w.staff("suzuki", available=True)      # guardianship, general: no disability
        t2 = (await k2.req(TicketCreate(service_code="disability")))["ticket_id"]
        assert await quiet_for(w, suzuki) == []
        assert (await w.ticket(t2)).state == "waiting"
        # the skilled one gets it when free again
        await w.finish(sato, k1, sid1)
        offer = await sato.inbox.next("offer", ticket_id=t2)
        assert offer.service_code == "disability" and not offer.transferred
        assert suzuki.offers() == []


async def test_no_specialist_on_duty_answered_at_once(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend, clock=ManualClock(datetime.now(UTC))) as w:  # time stands still:
        kiosk = await w.kiosk()                                  # an answer that waited for it would never come
        assert kiosk.client.welcome is not None
        assert all(not s.on_duty for s in kiosk.client.welcome.services)

        async def refused(needs: list[Any]) -> None:
            err = await kiosk.fails(TicketCreate(service_code="disability", needs=needs))
            assert err.code == "no_specialist"
            assert err.details["hours_ja"] == HOURS_JA and err.details["hours_en"] == HOURS_EN
            assert err.details["service_code"] == "disability"

        await refused([])                                     # nobody signed in
        sato = await w.staff("sato")
        await sato.req(StatusSet(status="away", reason="lunch"))
        await refused([])                                     # signed in but away
        await sato.req(StatusSet(status="available"))
        err = await kiosk.fails(TicketCreate(service_code="employment", needs=["large_text"]))
        assert err.code == "no_specialist"                    # on duty, but not for this service
        async with w.env.ctx.maker() as db:
            states = (await db.execute(select(Ticket.state).where(Ticket.kiosk_id == kiosk.id))
                      ).scalars().all()
        assert states == ["no_specialist"] * 3  # the unmet demand is recorded
        # and the kiosk may ask again at once (no active ticket left behind); a need sato lacks never
        # turns the resident away (issue 12): the call opens in writing
        reply = await kiosk.req(TicketCreate(service_code="disability", needs=["sign_language"]))
        assert reply["unmet_needs"] == ["sign_language"]
        offer = await sato.inbox.next("offer", ticket_id=reply["ticket_id"])
        assert (offer.unmet_needs, offer.written) == (["sign_language"], True)


async def test_unknown_service_is_not_found(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w:
        kiosk = await w.kiosk()
        assert (await kiosk.fails(TicketCreate(service_code="astrology"))).code == "not_found"


async def test_priority_then_arrival_order(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w:
        sato = await w.staff("sato", available=True)
        kiosks = [await w.kiosk() for _ in range(4)]
        t = [(await k.req(TicketCreate(service_code="disability")))["ticket_id"] for k in kiosks]
        await sato.inbox.next("offer", ticket_id=t[0])       # the first one is offered at once
        reply = await sato.req(TicketPriority(ticket_id=t[2], priority=2))  # an urgent case, from the queue
        assert reply == {"ticket_id": t[2], "priority": 2}
        await sato.req(OfferDecline(ticket_id=t[0]))
        await sato.inbox.next("offer", ticket_id=t[2])       # priority beats arrival
        await sato.req(OfferDecline(ticket_id=t[2]))
        await sato.inbox.next("offer", ticket_id=t[1])       # then the earlier arrival
        await sato.req(OfferDecline(ticket_id=t[1]))
        await sato.inbox.next("offer", ticket_id=t[3])
        assert [o.ticket_id for o in sato.inbox.seen if o.type == "offer"] == [t[0], t[2], t[1], t[3]]


async def test_longest_idle_specialist_gets_the_offer(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w:
        tanaka = await w.staff("tanaka", available=True)     # idle first (and the higher id)
        sato = await w.staff("sato", available=True)
        k1, k2 = await w.kiosk(), await w.kiosk()
        _, sid = await w.call(tanaka, k1)
        assert sato.offers() == []
        _, sid2 = await w.call(sato, k2)                  # the only one left
        # tanaka finishes first, so sato is now the one idle longest
        await w.finish(tanaka, k1, sid)
        await asyncio.sleep(0.02)
        await w.finish(sato, k2, sid2)
        k3 = await w.kiosk()
        tid3 = (await k3.req(TicketCreate(service_code="general")))["ticket_id"]
        await tanaka.inbox.next("offer", ticket_id=tid3)
        assert sato.offers() == []
        assert (await w.ticket(tid3)).offered_to_id == tanaka.id


async def test_offer_timeout_sets_silent_one_away_and_moves_on(tmp_path: Path, backend: str) -> None:
    clock = ManualClock(datetime.now(UTC))
    async with world(tmp_path, backend, clock=clock, offer_timeout_s=20.0) as w:
        tanaka = await w.staff("tanaka", available=True)
        clock.advance(1)  # sato becomes available later: tanaka has been idle longer
        sato = await w.staff("sato", available=True)
        kiosk = await w.kiosk()
        tid = (await kiosk.req(TicketCreate(service_code="disability")))["ticket_id"]
        offer = await tanaka.inbox.next("offer", ticket_id=tid)
        assert offer.expires_in_s == 20.0
        clock.advance(19.9)
        await w.tick()
        await tanaka.req(Ping())
        assert [m.type for m in tanaka.inbox.drain() if m.type == "offer.revoked"] == []  # not yet
        clock.advance(0.2)
        await w.tick()
        revoked = await tanaka.inbox.next("offer.revoked", ticket_id=tid)
        assert revoked.reason == "timeout"
        await tanaka.inbox.next("status", status="away", reason="no_answer")
        await sato.inbox.next("offer", ticket_id=tid)
        row = await w.staff_row(tanaka.id)
        assert (row.status, row.status_reason) == ("away", "no_answer")
        # the late accept by the silent one loses; the one who has the offer wins
        assert (await tanaka.fails(OfferAccept(ticket_id=tid))).code == "conflict"
        await sato.req(OfferAccept(ticket_id=tid))
        # tanaka gets no more offers until back
        k2 = await w.kiosk()
        t2 = (await k2.req(TicketCreate(service_code="disability")))["ticket_id"]
        assert await quiet_for(w, tanaka) == []
        await tanaka.req(StatusSet(status="available"))
        await tanaka.inbox.next("offer", ticket_id=t2)


async def test_missed_offer_comes_back_when_the_specialist_does(tmp_path: Path, backend: str) -> None:
    """Bug found: a timed-out offer counted as a refusal for good, so when the only specialist for it came back
    from "away" the resident kept waiting although that specialist was free."""
    clock = ManualClock(datetime.now(UTC))
    async with world(tmp_path, backend, clock=clock, offer_timeout_s=20.0) as w:
        sato = await w.staff("sato", available=True)
        kiosk = await w.kiosk()
        tid = (await kiosk.req(TicketCreate(service_code="disability")))["ticket_id"]
        await sato.inbox.next("offer", ticket_id=tid)
        clock.advance(20.1)
        await w.tick()
        await sato.inbox.next("offer.revoked", ticket_id=tid, reason="timeout")
        await sato.inbox.next("status", status="away", reason="no_answer")
        assert (await w.ticket(tid)).state == "waiting"        # nobody else: it waits, sato is away
        await sato.req(StatusSet(status="available"))
        await sato.inbox.next("offer", ticket_id=tid)


async def test_decline_goes_to_next_specialist(tmp_path: Path, backend: str) -> None:
    clock = ManualClock(datetime.now(UTC))
    async with world(tmp_path, backend, clock=clock, decline_hold_s=20.0) as w:
        tanaka = await w.staff("tanaka", available=True)
        clock.advance(1)  # tanaka has been idle longer
        sato = await w.staff("sato", available=True)
        kiosk = await w.kiosk()
        tid = (await kiosk.req(TicketCreate(service_code="disability")))["ticket_id"]
        await tanaka.inbox.next("offer", ticket_id=tid)
        assert await tanaka.req(OfferDecline(ticket_id=tid)) == {"ticket_id": tid}
        await sato.inbox.next("offer", ticket_id=tid)
        assert (await w.staff_row(tanaka.id)).status == "available"  # a decline is not a no-show
        assert (await tanaka.fails(OfferDecline(ticket_id=tid))).code == "not_found"
        assert (await w.ticket(tid)).declined_by == [tanaka.id]
        # the other one declines too: the ticket waits, and for decline_hold_s nobody is offered it again ...
        await sato.req(OfferDecline(ticket_id=tid))
        clock.advance(19.9)
        assert await quiet_for(w, tanaka) == [] and sato.offers() == []
        t = await w.ticket(tid)
        assert t.state == "waiting" and sorted(t.declined_by) == sorted([tanaka.id, sato.id])
        # ... then the resident is not left waiting for ever: it goes to whoever has been idle longest again
        clock.advance(0.2)
        await w.tick()
        again = await tanaka.inbox.next("offer", ticket_id=tid)
        assert again.ticket_id == tid
        t = await w.ticket(tid)
        assert t.declined_by == [] and t.declined_at is None and t.offered_to_id == tanaka.id
        async with w.env.ctx.maker() as db:
            actors = (await db.execute(select(AuditEvent.actor).where(
                AuditEvent.action == "ticket.declines_released", AuditEvent.subject == f"ticket:{tid}"))).scalars()
            assert list(actors) == ["system"]


async def test_cancel_while_waiting_and_while_offered(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w:
        sato = await w.staff("sato", available=True)
        k1, k2, k3 = await w.kiosk(), await w.kiosk(), await w.kiosk()
        t1 = (await k1.req(TicketCreate(service_code="disability")))["ticket_id"]
        await sato.inbox.next("offer", ticket_id=t1)
        t2 = (await k2.req(TicketCreate(service_code="disability")))["ticket_id"]   # waiting behind t1
        t3 = (await k3.req(TicketCreate(service_code="disability")))["ticket_id"]
        await k3.inbox.next("ticket.update", ticket_id=t3, position=3)
        twice = await k3.fails(TicketCreate(service_code="general"))  # one ticket per kiosk at a time
        assert (twice.code, twice.details) == ("conflict", {"ticket_id": t3})
        # cancel while waiting
        assert await k2.req(TicketCancel(ticket_id=t2)) == {"ticket_id": t2}
        await k2.inbox.next("ticket.update", ticket_id=t2, state="cancelled")
        assert (await w.ticket(t2)).state == "cancelled"
        await k3.inbox.next("ticket.update", ticket_id=t3, position=2)    # moved up
        assert (await k2.fails(TicketCancel(ticket_id=t2))).code == "conflict"
        assert (await k3.fails(TicketCancel(ticket_id=t1))).code == "not_found"  # not its ticket
        # cancel while offered: the offer is withdrawn, the specialist gets the next one
        await k1.req(TicketCancel(ticket_id=t1))
        revoked = await sato.inbox.next("offer.revoked", ticket_id=t1)
        assert revoked.reason == "cancelled"
        await sato.inbox.next("offer", ticket_id=t3)
        assert (await sato.fails(OfferAccept(ticket_id=t1))).code == "conflict"
        # a cancelled kiosk may start again
        t4 = (await k1.req(TicketCreate(service_code="disability")))["ticket_id"]
        assert t4 != t1


async def test_transfer_to_named_specialist_keeps_arrival(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w:
        sato = await w.staff("sato", available=True)
        kiosk = await w.kiosk()
        tid, sid = await w.call(sato, kiosk)
        arrival = (await w.ticket(tid)).arrival_at
        tanaka = await w.staff("tanaka", available=True)
        await asyncio.sleep(0.05)
        assert await sato.req(TransferRequest(session_id=sid, staff_id=tanaka.id)) == {"ticket_id": tid}
        ended_k = await kiosk.inbox.next("session.ended", session_id=sid)
        assert (ended_k.reason, ended_k.wrap_up) == ("transferred", False)
        upd = await kiosk.inbox.next("ticket.update", ticket_id=tid, reason="transferred")
        assert upd.state == "waiting"
        ended_s = await sato.inbox.next("session.ended", session_id=sid)
        assert (ended_s.reason, ended_s.wrap_up) == ("transferred", True)
        offer = await tanaka.inbox.next("offer", ticket_id=tid)
        assert offer.transferred and offer.waited_s >= 0.05
        t = await w.ticket(tid)
        assert t.arrival_at == arrival and t.transfer_count == 1 and t.target_staff_id == tanaka.id
        async with w.env.ctx.maker() as db:
            sess = await db.get(CallSession, sid)
            assert sess is not None and sess.end_reason == "transferred"
        sid2 = (await tanaka.req(OfferAccept(ticket_id=tid)))["session_id"]
        start = await kiosk.inbox.next("session.start", session_id=sid2)
        assert start.ticket_id == tid and sid2 != sid
        # the transferring specialist still owes a note for the first part
        assert (await sato.fails(WrapupDone(session_id=sid))).code == "conflict"
        assert (await w.note(sato, sid, {"category": "引き継ぎ"})).status_code == 200
        await sato.req(WrapupDone(session_id=sid))
        assert (await w.staff_row(sato.id)).status == "available"


async def test_transfer_to_service_keeps_place_in_queue(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w:
        sato = await w.staff("sato", available=True)
        k1, k2 = await w.kiosk(), await w.kiosk()
        t1, sid = await w.call(sato, k1)                      # arrived first, in a disability call
        suzuki = await w.staff("suzuki", available=True)
        t2 = (await k2.req(TicketCreate(service_code="guardianship")))["ticket_id"]
        await suzuki.inbox.next("offer", ticket_id=t2)        # suzuki holds t2's offer
        await sato.req(TransferRequest(session_id=sid, service_code="guardianship"))
        # t1 arrived before t2, so it is ahead in the guardianship queue; but t2's offer is being answered,
        # so t1 is honestly told it is second until suzuki declines t2
        await k1.inbox.next("ticket.update", ticket_id=t1, position=2, reason="")
        await suzuki.req(OfferDecline(ticket_id=t2))
        offer = await suzuki.inbox.next("offer", ticket_id=t1)
        await k1.inbox.next("ticket.update", ticket_id=t1, position=1, state="offered")
        assert offer.service_code == "guardianship" and offer.transferred
        again = TransferRequest(session_id=sid, service_code="guardianship")
        assert (await sato.fails(again)).code == "not_found"


async def test_transfer_to_named_colleague_without_the_skill(tmp_path: Path, backend: str) -> None:
    """Bug found: routing required the skill of a named target (accept() did not): the resident waited
    forever."""
    async with world(tmp_path, backend) as w:
        sato = await w.staff("sato", available=True)
        kiosk = await w.kiosk()
        tid, sid = await w.call(sato, kiosk)                  # disability
        suzuki = await w.staff("suzuki", available=True)     # guardianship, general
        await sato.req(TransferRequest(session_id=sid, staff_id=suzuki.id))
        await suzuki.inbox.next("offer", ticket_id=tid)
        await suzuki.req(OfferAccept(ticket_id=tid))


async def test_named_target_declines_back_to_service_queue(tmp_path: Path, backend: str) -> None:
    """Bug found: when the named colleague declined (or did not answer) nobody else could ever get it."""
    async with world(tmp_path, backend, offer_timeout_s=1.0) as w:
        sato = await w.staff("sato", available=True)
        kiosk = await w.kiosk()
        tid, sid = await w.call(sato, kiosk, service="general")
        suzuki = await w.staff("suzuki", available=True)
        tanaka = await w.staff("tanaka", available=True)
        await sato.req(TransferRequest(session_id=sid, staff_id=suzuki.id))
        await suzuki.inbox.next("offer", ticket_id=tid)
        assert tanaka.offers() == []                          # named: nobody else meanwhile
        await suzuki.req(OfferDecline(ticket_id=tid))
        await tanaka.inbox.next("offer", ticket_id=tid)
        t = await w.ticket(tid)
        assert t.target_staff_id is None and t.offered_to_id == tanaka.id
        # and when the named one simply does not answer
        sid2 = (await tanaka.req(OfferAccept(ticket_id=tid)))["session_id"]
        await tanaka.req(TransferRequest(session_id=sid2, staff_id=suzuki.id))
        await suzuki.inbox.next("offer", ticket_id=tid)
        await suzuki.inbox.next("offer.revoked", ticket_id=tid, reason="timeout")
        await w.note(sato, sid, {"category": "x"})
        await sato.req(WrapupDone(session_id=sid))
        await sato.inbox.next("offer", ticket_id=tid)


async def test_transfer_refused_cases(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w:
        sato = await w.staff("sato", available=True)
        kiosk = await w.kiosk()
        _, sid = await w.call(sato, kiosk)
        assert (await sato.fails(TransferRequest(session_id=sid))).code == "invalid_message"
        both = TransferRequest(session_id=sid, staff_id=sato.id + 1, service_code="general")
        assert (await sato.fails(both)).code == "invalid_message"
        assert (await sato.fails(TransferRequest(session_id=sid, staff_id=sato.id))).code == "conflict"
        it = await w.staff("it")
        assert (await sato.fails(TransferRequest(session_id=sid, staff_id=it.id))).code == "not_found"
        assert (await sato.fails(TransferRequest(session_id=sid, staff_id=99999))).code == "not_found"
        assert (await sato.fails(TransferRequest(session_id=sid, service_code="nope"))).code == "not_found"
        suzuki = await w.staff("suzuki")
        not_his = TransferRequest(session_id=sid, service_code="general")
        assert (await suzuki.fails(not_his)).code == "not_found"
        # nothing changed by the refusals
        assert (await w.staff_row(sato.id)).status == "in_call"


async def test_wrapup_needs_a_note_with_category(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w:
        sato = await w.staff("sato", available=True)
        k1, k2 = await w.kiosk(), await w.kiosk()
        tid, sid = await w.call(sato, k1)
        assert (await sato.fails(WrapupDone(session_id=sid))).code == "conflict"      # call still going
        t2 = (await k2.req(TicketCreate(service_code="disability")))["ticket_id"]    # waits meanwhile
        await k1.req(SessionEnd(session_id=sid))
        ended = await sato.inbox.next("session.ended", session_id=sid)
        assert ended.wrap_up and ended.reason == "resident_hangup"
        await sato.inbox.next("status", status="wrap_up")
        err = await sato.fails(WrapupDone(session_id=sid))
        assert err.code == "conflict" and err.details == {"missing": "note.category"}
        assert (await w.note(sato, sid, {"category": ""})).status_code == 422
        assert (await w.note(sato, sid, {"summary": "no category"})).status_code == 422
        suzuki = await w.staff("suzuki")
        assert (await w.note(suzuki, sid, {"category": "x"})).status_code == 404         # not his session
        assert (await suzuki.fails(WrapupDone(session_id=sid))).code == "not_found"
        assert await quiet_for(w, sato) == []                                            # no offer in wrap-up
        r = await w.note(sato, sid, {"category": "生活相談", "summary": "手当の申請", "follow_up": True})
        assert r.status_code == 200 and r.json()["category"] == "生活相談"
        assert await sato.req(WrapupDone(session_id=sid)) == {"session_id": sid}
        await sato.inbox.next("status", status="available")
        await sato.inbox.next("offer", ticket_id=t2)                                    # available again
        assert (await w.ticket(tid)).state == "done"
        assert (await sato.fails(WrapupDone(session_id=sid))).code == "conflict"        # only once
        async with w.env.ctx.maker() as db:
            actions = (await db.execute(
                select(AuditEvent.action).where(AuditEvent.subject == f"session:{sid}"))).scalars().all()
        assert "session.wrapup_done" in actions and "note.save" in actions


async def test_position_and_estimate_pushed_and_updated(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend, default_handle_time_s=600.0) as w:
        sato = await w.staff("sato", available=True)
        kiosks = [await w.kiosk() for _ in range(3)]
        t = [(await k.req(TicketCreate(service_code="disability")))["ticket_id"] for k in kiosks]
        await sato.inbox.next("offer", ticket_id=t[0])
        before = [await k.inbox.next("ticket.update", ticket_id=tid, position=i + 1)
                  for i, (k, tid) in enumerate(zip(kiosks, t, strict=True))]
        waits = [u.estimated_wait_s for u in before]
        assert waits[0] is not None and waits[0] < waits[1] < waits[2]
        assert waits == [0.0, 600.0, 1200.0]  # the offered one is being answered; then a call each
        # the ticket ahead is served: every waiting kiosk moves up and its estimate drops
        sid = (await sato.req(OfferAccept(ticket_id=t[0])))["session_id"]
        after = [await k.inbox.next("ticket.update", ticket_id=tid, position=i + 1)
                 for i, (k, tid) in enumerate(zip(kiosks[1:], t[1:], strict=True))]
        assert [round(u.estimated_wait_s or 0, -1) for u in after] == [600.0, 1200.0]  # the rest of sato's call
        await kiosks[0].inbox.next("ticket.update", ticket_id=t[0], state="in_call")
        # once a call has ended, the estimate comes from real handle times (here: a call of a few ms)
        await w.finish(sato, kiosks[0], sid)
        await sato.inbox.next("offer", ticket_id=t[1])
        upd = await kiosks[2].inbox.next("ticket.update", ticket_id=t[2], position=2)
        assert upd.estimated_wait_s is not None and upd.estimated_wait_s < 900.0  # a real handle time now


async def test_tiers_own_municipality_first_then_shared_pool(tmp_path: Path, backend: str) -> None:
    clock = ManualClock(datetime.now(UTC))
    async with world(tmp_path, backend, clock=clock, shared_pool_after_s=300.0, offer_timeout_s=3600.0) as w:
        sato = await w.staff("sato", available=True)          # kitami, idle longest
        clock.advance(1)
        takahashi = await w.staff("takahashi", available=True)  # bihoro
        bihoro, oketo = await w.kiosk("bihoro"), await w.kiosk("oketo")
        tb = (await bihoro.req(TicketCreate(service_code="disability")))["ticket_id"]
        await takahashi.inbox.next("offer", ticket_id=tb)     # own municipality, though sato idles longer
        to = (await oketo.req(TicketCreate(service_code="disability")))["ticket_id"]
        snap = await sato.inbox.next("queue.snapshot")
        while not any(i.ticket_id == to for i in snap.items):
            snap = await sato.inbox.next("queue.snapshot")
        item = next(i for i in snap.items if i.ticket_id == to)
        assert item.tier == "shared" and item.municipality == "置戸町"
        clock.advance(299.9)                                  # Kitami's specialist is not offered it yet ...
        assert await quiet_for(w, sato) == []
        clock.advance(0.2)                                    # ... until the shared-pool wait has passed
        await w.tick()
        offer = await sato.inbox.next("offer", ticket_id=to)
        assert offer.waited_s >= 300.0 and offer.municipality == "置戸町"
        assert [o.ticket_id for o in sato.inbox.seen if o.type == "offer"] == [to]


async def test_taking_another_ticket_releases_the_held_offer(tmp_path: Path, backend: str) -> None:
    """Bug found: a specialist who picked a ticket from the queue kept the offer of another one until it
    timed out (20 s in production), and nobody else could be offered it meanwhile."""
    async with world(tmp_path, backend) as w:
        sato = await w.staff("sato", available=True)
        k1, k2 = await w.kiosk(), await w.kiosk()
        t1 = (await k1.req(TicketCreate(service_code="disability")))["ticket_id"]
        await sato.inbox.next("offer", ticket_id=t1)
        t2 = (await k2.req(TicketCreate(service_code="disability")))["ticket_id"]
        await sato.req(OfferAccept(ticket_id=t2))              # picks t2 from the queue instead
        await sato.inbox.next("offer.revoked", ticket_id=t1)
        assert (await w.ticket(t1)).state == "waiting"
        tanaka = await w.staff("tanaka", available=True)
        await tanaka.inbox.next("offer", ticket_id=t1)
        assert (await w.ticket(t1)).offered_to_id == tanaka.id
