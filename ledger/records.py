"""Ledger records: off-chain facts as canonical JSON, appended with consecutive sequence numbers.

A record is appended in the caller's database transaction (the outbox pattern), so it exists
exactly when the change it describes does. The anchoring worker (`ledger.anchor`) later puts
Merkle roots over the records on chain.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

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


_HEAD = LedgerHead.__table__  # type: ignore[attr-defined]
_RECORDS = LedgerRecord.__table__  # type: ignore[attr-defined]
# Built once: an append runs these two statements straight on the session's connection (no ORM unit of work).
_TAKE = (sa.update(_HEAD).where(_HEAD.c.id == 1)
         .values(next_seq=_HEAD.c.next_seq + sa.bindparam("count", type_=sa.Integer)).returning(_HEAD.c.next_seq))
_INSERT = sa.insert(_RECORDS)


@dataclass(frozen=True, slots=True)
class AppendedRecord:
    """The columns of a record just appended (`append_record` returns these, not an ORM object)."""

    seq: int
    kind: str
    actor: str
    subject: str
    authorization: str | None
    body: str
    leaf_hash: str
    created_at: datetime
    promise: str | None = None


def ensure_head(session: Session) -> None:
    """Create the head row if missing (idempotent)."""
    conn = session.connection()
    if conn.execute(sa.select(_HEAD.c.id).where(_HEAD.c.id == 1)).first() is None:
        conn.execute(sa.insert(_HEAD).values(id=1, next_seq=0))


def decimal_text(value: float) -> Any:
    """A finite float as a plain decimal string (0.25 -> "0.25", 1e-05 -> "0.00001"); anything else unchanged."""
    if not math.isfinite(value):
        return value  # canonical_json refuses it, by name
    text = repr(value)
    if "e" in text:  # 1e-05, 1e+16: written out by Decimal; other reprs are plain already ("0.1", "2.0")
        text = format(Decimal(text), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def exact(value: Any) -> Any:
    """`value` with every float written as a plain decimal string (`decimal_text`), so a record's bytes never
    depend on a language's float formatting (docs/ledger-format.md)."""
    if isinstance(value, float):
        return decimal_text(value)
    if isinstance(value, dict):
        return {k: exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [exact(v) for v in value]
    return value


def record_body(seq: int, kind: str, actor: str, subject: str, authorization: str | None,
                data: dict[str, Any], at: datetime) -> bytes:
    """The canonical bytes of a record (floats in `data` as decimal strings); the leaf at position `seq`. One walk
    checks the value and rewrites its floats, then the C encoder writes it: canonical by construction, checked
    once, here (a verifier re-checks the bytes: ledger.record_check)."""
    return canonical_json({
        "v": RECORD_VERSION,
        "seq": seq,
        "kind": kind,
        "actor": actor,
        "subject": subject,
        "authorization": authorization,
        "at": at.isoformat(timespec="microseconds"),
        "data": data,
    }, floats=decimal_text)


def reserve_seqs(session: Session, count: int) -> int:
    """Take the next `count` sequence numbers in the caller's transaction; returns the first. The head row's lock
    serialises appends; pending ORM rows are flushed first, as an ORM statement would (the same lock order)."""
    if session.autoflush:
        session.flush()
    conn = session.connection()
    end = _take(conn, count)
    if end is None:
        ensure_head(session)
        end = _take(conn, count)
        assert end is not None
    return int(end) - count


_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _take(conn: sa.Connection, count: int) -> int | None:
    """The head's `next_seq` after adding `count` (None: no head row). One statement with one integer parameter,
    sent through the driver's own cursor where its placeholder is known: a seventh of SQLAlchemy's cost per call,
    which would otherwise be a third of an append's."""
    mark = _PLACEHOLDER.get(conn.dialect.paramstyle)
    if mark is None:
        return conn.execute(_TAKE, {"count": count}).scalar()
    rows = driver_rows(conn, f"UPDATE ledger_head SET next_seq = next_seq + {mark} WHERE id = 1 RETURNING next_seq",
                       (count,))
    return int(rows[0][0]) if rows else None


def driver_rows(conn: sa.Connection, sql: str, params: tuple[Any, ...] | None = None) -> list[tuple[Any, ...]]:
    """`sql` run on the connection's own driver cursor, its rows as plain tuples (no SQLAlchemy row objects); the
    driver's errors raised as SQLAlchemy's (an OperationalError stays one: the API answers 503, the CLI one line)."""
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if params is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, params)
        return cast(list[tuple[Any, ...]], cursor.fetchall())
    except dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(sql, params, exc, dbapi.Error) from exc
    finally:
        cursor.close()


def record_fields(seq: int, at: datetime, *, kind: str, actor: str, subject: str,
                  authorization: str | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The columns of record `seq`: its canonical body, the body's leaf hash and the indexed fields."""
    body = record_body(seq, kind, actor, subject, authorization, data or {}, at)
    return {"seq": seq, "kind": kind, "actor": actor, "subject": subject, "authorization": authorization,
            "body": body.decode("utf-8"), "leaf_hash": leaf_hash(body).hex(), "created_at": at}


SIGNED_STATEMENT = "signed_statement"


def append_record(session: Session, *, kind: str, actor: str, subject: str,
                  authorization: str | None = None, data: dict[str, Any] | None = None) -> AppendedRecord:
    """Append a record in the caller's transaction and return its columns (commit is the caller's): two statements,
    the sequence number and the row's INSERT, both run at once on the session's connection.

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
    row = record_fields(seq, at, kind=kind, actor=actor, subject=subject, authorization=authorization, data=data)
    promiser = promiser_of(session.get_bind())
    if promiser is not None:
        promise = promiser.promise(seq, row["leaf_hash"], at)
        row["promise"] = promise.text()
        issued(session, promise)
    session.connection().execute(_INSERT, row)
    return AppendedRecord(**row)


def record_rows(session: Session, columns: Sequence[str], batch: int = 20_000) -> Iterator[list[tuple[Any, ...]]]:
    """The log's `columns` (the first one `seq`) in sequence order, in keyset pages of plain tuples straight from the
    driver's cursor: a million rows are read per verification, without a SQLAlchemy row object each."""
    conn = session.connection()
    cols = [_RECORDS.c[name] for name in columns]
    last = -1
    while True:
        query = sa.select(*cols).where(_RECORDS.c.seq > last).order_by(_RECORDS.c.seq).limit(batch)
        sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))  # integers only
        rows = driver_rows(conn, sql)
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def record_count(session: Session) -> int:
    end = session.connection().execute(sa.select(_HEAD.c.next_seq).where(_HEAD.c.id == 1)).scalar()
    return int(end) if end is not None else 0


def covering_checkpoint(session: Session, seq: int) -> LedgerCheckpoint | None:
    """The first confirmed checkpoint whose tree contains record `seq`."""
    stmt = (select(LedgerCheckpoint).where(LedgerCheckpoint.tree_size > seq)
            .where(LedgerCheckpoint.confirmed == True)  # noqa: E712
            .order_by(LedgerCheckpoint.tree_size).limit(1))  # type: ignore[arg-type]
    return session.exec(stmt).first()
