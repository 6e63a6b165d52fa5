"""Ledger records: off-chain facts as canonical JSON, appended with consecutive sequence numbers.

A record is appended in the caller's database transaction (the outbox pattern), so it exists
exactly when the change it describes does. The anchoring worker (`ledger.anchor`) later puts
Merkle roots over the records on chain.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from ledger.canonical import canonical_json
from ledger.merkle import leaf_hash
from ledger.promises import issued, promiser_of

RECORD_VERSION = 2  # v2: no floats in `data` (decimal strings, `exact`); v1 records, with floats, still verify


class LedgerHead(SQLModel, table=True):
    """Single row holding the next sequence number; updating it serialises appends."""

    __tablename__ = "ledger_head"
    id: int = Field(default=1, primary_key=True)
    next_seq: int = Field(default=0)


class LedgerRecord(SQLModel, table=True):
    """One record. `body` is the canonical JSON that is hashed; the other columns index it."""

    __tablename__ = "ledger_records"
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    kind: str = Field(index=True, max_length=64)
    actor: str = Field(index=True, max_length=64)
    subject: str = Field(index=True, max_length=128)
    authorization: str | None = Field(default=None, index=True, max_length=64)
    body: str
    leaf_hash: str = Field(max_length=64)
    created_at: datetime
    promise: str | None = Field(default=None, description="the recorder's signed promise made at write time "
                                                          "(ledger.promises), canonical JSON")


class LedgerCheckpoint(SQLModel, table=True):
    """A checkpoint the anchoring worker sent: `confirmed` once deep enough on chain."""

    __tablename__ = "ledger_checkpoints"
    tree_size: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    root: str = Field(max_length=64)
    chain_index: int | None = None
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = None
    confirmed: bool = False
    frontier: str = Field(description="CompactTree state after this checkpoint (JSON)")
    created_at: datetime


def ensure_head(session: Session) -> None:
    """Create the head row if missing (idempotent)."""
    if session.get(LedgerHead, 1) is None:
        session.add(LedgerHead(id=1, next_seq=0))
        session.flush()


def exact(value: Any) -> Any:
    """`value` with every float written as a plain decimal string (0.25 -> "0.25", 1e-05 -> "0.00001"), so a
    record's bytes never depend on a language's float formatting (docs/ledger-format.md)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return value  # canonical_json refuses it, by name
        text = format(Decimal(repr(value)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, dict):
        return {k: exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [exact(v) for v in value]
    return value


def record_body(seq: int, kind: str, actor: str, subject: str, authorization: str | None,
                data: dict[str, Any], at: datetime) -> bytes:
    """The canonical bytes of a record (floats in `data` as decimal strings); the leaf at position `seq`."""
    return canonical_json({
        "v": RECORD_VERSION,
        "seq": seq,
        "kind": kind,
        "actor": actor,
        "subject": subject,
        "authorization": authorization,
        "at": at.isoformat(timespec="microseconds"),
        "data": exact(data),
    })


def reserve_seqs(session: Session, count: int) -> int:
    """Take the next `count` sequence numbers in the caller's transaction; returns the first."""
    ensure_head(session)
    end = session.execute(
        sa.update(LedgerHead).where(col(LedgerHead.id) == 1)
        .values(next_seq=col(LedgerHead.next_seq) + count).returning(col(LedgerHead.next_seq))
    ).scalar_one()
    return int(end) - count


def record_fields(seq: int, at: datetime, *, kind: str, actor: str, subject: str,
                  authorization: str | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The columns of record `seq`: its canonical body, the body's leaf hash and the indexed fields."""
    body = record_body(seq, kind, actor, subject, authorization, data or {}, at)
    return {"seq": seq, "kind": kind, "actor": actor, "subject": subject, "authorization": authorization,
            "body": body.decode("utf-8"), "leaf_hash": leaf_hash(body).hex(), "created_at": at}


SIGNED_STATEMENT = "signed_statement"


def append_record(session: Session, *, kind: str, actor: str, subject: str,
                  authorization: str | None = None, data: dict[str, Any] | None = None) -> LedgerRecord:
    """Append a record in the caller's transaction and return it (commit is the caller's).

    When the engine has a promiser (`ledger.promises.install`), the record gets its signed promise here, in the
    same transaction; it is delivered once the transaction commits.

    Within a participant's signed request (`SIGNED_STATEMENT` in `session.info`: account id, statement),
    a record whose actor is that participant carries the statement and its signature in `data.signed`.
    """
    signed = session.info.get(SIGNED_STATEMENT)
    if signed is not None and signed[0] == actor:
        data = {**(data or {}), "signed": signed[1]}
    seq = reserve_seqs(session, 1)
    at = datetime.now(UTC)
    row = LedgerRecord(**record_fields(seq, at, kind=kind, actor=actor, subject=subject,
                                       authorization=authorization, data=data))
    promiser = promiser_of(session.get_bind())
    if promiser is not None:
        promise = promiser.promise(seq, row.leaf_hash, at)
        row.promise = promise.text()
        issued(session, promise)
    session.add(row)
    return row


def record_count(session: Session) -> int:
    head = session.get(LedgerHead, 1)
    return head.next_seq if head else 0


def covering_checkpoint(session: Session, seq: int) -> LedgerCheckpoint | None:
    """The first confirmed checkpoint whose tree contains record `seq`."""
    stmt = (select(LedgerCheckpoint).where(LedgerCheckpoint.tree_size > seq)
            .where(LedgerCheckpoint.confirmed == True)  # noqa: E712
            .order_by(LedgerCheckpoint.tree_size).limit(1))  # type: ignore[arg-type]
    return session.exec(stmt).first()
