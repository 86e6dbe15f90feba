"""``madoguchi audit verify``: walk the chain from the last checkpoint and report the first row that breaks it.

A row breaks the chain when
- its ``seq`` is not the one after the previous row's (rows before it were deleted),
- its ``prev_hash`` is not the previous row's hash (the previous row was replaced, or this row was inserted),
- its own content does not give its ``hash`` (it was changed, or inserted with a made-up hash).

What a hash chain cannot see by itself: rows cut off the end, or a chain rewritten from some row on by someone
who recomputes every hash. An anchor does: ``--anchor SEQ:HASH`` (a head printed by an earlier verify and kept
elsewhere, e.g. in the operations log) must still be in the chain with that hash.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from server.audit.chain import GENESIS, row_hash
from server.db.models import AuditCheckpoint, AuditEvent


@dataclass(frozen=True)
class Broken:
    seq: int  # the seq the row carries (or, for a missing anchor, the anchor's)
    row_id: int | None
    reason: str


@dataclass(frozen=True)
class Verdict:
    rows: int  # rows checked
    from_seq: int  # first seq expected (after the last checkpoint)
    head_seq: int
    head_hash: str
    broken: Broken | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def parse_anchor(text: str) -> tuple[int, str]:
    seq, sep, digest = text.partition(":")
    if not sep or not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("an anchor is SEQ:HASH, e.g. 1234:<64 hex digits>")
    return int(seq), digest


def verify_chain(conn: Connection, anchor: tuple[int, str] | None = None) -> Verdict:
    cp = conn.execute(select(AuditCheckpoint.through_seq, AuditCheckpoint.hash)
                      .order_by(AuditCheckpoint.through_seq.desc()).limit(1)).first()
    start_seq, prev = (int(cp[0]), str(cp[1])) if cp is not None else (0, GENESIS)
    expected, checked, broken = start_seq + 1, 0, None
    anchor_seen: str | None = prev if anchor is not None and anchor[0] == start_seq else None
    cols = (AuditEvent.id, AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.subject,
            AuditEvent.detail, AuditEvent.prev_hash, AuditEvent.hash)
    result = conn.execution_options(stream_results=True, yield_per=2000).execute(
        select(*cols).where(AuditEvent.seq > start_seq).order_by(AuditEvent.seq))
    for row_id, seq, at, actor, action, subject, detail, prev_hash, digest in result:
        checked += 1
        if seq != expected:
            broken = Broken(seq, row_id, f"rows {expected}..{seq - 1} before it are missing (deleted)")
        elif prev_hash != prev:
            broken = Broken(seq, row_id, f"its prev_hash is not the hash of row {seq - 1} "
                                         "(that row was replaced, or this row was inserted)")
        elif row_hash(seq, at, actor, action, subject, detail, prev_hash) != digest:
            broken = Broken(seq, row_id, "its content does not give its hash (changed, or inserted)")
        if broken is not None:
            break
        if anchor is not None and seq == anchor[0]:
            anchor_seen = digest
        prev, expected = digest, seq + 1
    result.close()
    head_seq = expected - 1
    if broken is None and anchor is not None:
        if anchor[0] < start_seq:
            pass  # purged under a checkpoint since: nothing left to compare
        elif anchor_seen is None:
            broken = Broken(anchor[0], None, f"the anchor row {anchor[0]} is gone: the chain ends at {head_seq} "
                                             "(rows were cut off the end)")
        elif anchor_seen != anchor[1]:
            broken = Broken(anchor[0], None, f"row {anchor[0]} no longer has the anchored hash (chain rewritten)")
    return Verdict(rows=checked, from_seq=start_seq + 1, head_seq=head_seq, head_hash=prev, broken=broken)
