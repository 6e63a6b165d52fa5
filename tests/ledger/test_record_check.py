"""The cheap checks of the append and verify paths prove what the full ones do: a body is appended canonical by
construction, and a database row passes the verifier's envelope comparison only if the full parse-and-re-encode
would pass it too. Every forgery below keeps its leaf hash right, so only the form check can catch it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, create_engine

from ledger.canonical import MAX_DEPTH, MAX_RECORD_BYTES, canonical_json, decode_record
from ledger.merkle import leaf_hash
from ledger.record_check import _as_columns_say, check_chunk
from ledger.records import RECORD_VERSION, LedgerRecord, append_record, exact, record_count

AT = datetime(2026, 1, 2, 3, 4, 5, 600_007, tzinfo=UTC)
DATA = {"epsilon": "0.1", "n": 7, "names": ["é", "呼和浩特"], "nested": {"b": [1, {"c": None}], "a": True}}


def body(**over: object) -> str:
    record = {"v": 2, "seq": 3, "kind": "query.run", "actor": "acct-1", "subject": "prod-1", "authorization": None,
              "at": AT.isoformat(timespec="microseconds"), "data": DATA, **over}
    return canonical_json(record).decode()


def row(text: str, **columns: object) -> tuple[object, ...]:
    """A database row (StoredRecord's column order) whose leaf hash matches `text`."""
    cols = {"kind": "query.run", "actor": "acct-1", "subject": "prod-1", "authorization": None, **columns}
    return (3, text, leaf_hash(text.encode()).hex(), cols["kind"], cols["actor"], cols["subject"],
            cols["authorization"], None)


def test_an_intact_row_takes_the_envelope_path_and_gives_the_full_parse() -> None:
    text = body(authorization="lic-9")
    fast = _as_columns_say(3, row(text, authorization="lic-9"))
    assert fast is not None and fast == (text.encode(), decode_record(text.encode()))
    checked = check_chunk(None, 3, [row(text, authorization="lic-9")])
    assert checked.problem is None and checked.leaves == [leaf_hash(text.encode())]


SPACE = body().replace('"n":7', '"n": 7')
REORDERED = body().replace('"epsilon":"0.1","n":7', '"n":7,"epsilon":"0.1"')
DUPLICATE = body().replace('"n":7', '"n":7,"n":7')
ESCAPED_ACTOR = body().replace('"acct-1"', '"\\u0061cct-1"', 1)
ESCAPED_AT = body().replace("2026-01-02", "2026\\u002d01-02")
SOLIDUS = body(subject="a/b").replace("a/b", "a\\/b")
EXPONENT = body(data={"n": 100}).replace('"n":100', '"n":1E2')
DEEP: object = 0
for _ in range(MAX_DEPTH):
    DEEP = [DEEP]
TOO_DEEP = body().replace('"n":7', '"n":' + json.dumps(DEEP, separators=(",", ":")))
HUGE = body(data={"x": "y" * MAX_RECORD_BYTES})

FORGERIES = [
    ("whitespace", SPACE, {}, "body", "canonical form"),
    ("keys-out-of-order", REORDERED, {}, "body", "canonical form"),
    ("duplicate-key", DUPLICATE, {}, "body", "duplicate object key"),
    ("escaped-actor", ESCAPED_ACTOR, {}, "body", "canonical form"),
    ("escaped-at", ESCAPED_AT, {}, "body", "canonical form"),
    ("escaped-solidus", SOLIDUS, {"subject": "a/b"}, "body", "canonical form"),
    ("exponent", EXPONENT, {}, "body", "canonical form"),
    ("trailing-newline", body() + "\n", {}, "body", "canonical form"),
    ("too-deep", TOO_DEEP, {}, "body", "nesting deeper"),
    ("too-big", HUGE, {}, "body", "limit is"),
    ("kind-column", body(), {"kind": "query.refused"}, "kind", "column kind='query.refused'"),
    ("actor-column-null", body(), {"actor": None}, "actor", "column actor=None"),
    ("authorization-column", body(), {"authorization": "lic-1"}, "authorization", "column authorization='lic-1'"),
]


@pytest.mark.parametrize(("text", "columns", "field", "says"), [f[1:] for f in FORGERIES],
                         ids=[f[0] for f in FORGERIES])
def test_forgeries_miss_the_envelope_path_and_are_named(text: str, columns: dict[str, object], field: str,
                                                        says: str) -> None:
    stored = row(text, **columns)
    assert _as_columns_say(3, stored) is None
    problem = check_chunk(None, 3, [stored]).problem
    assert problem is not None and (problem.kind, problem.seq, problem.field) == ("record_edited", 3, field)
    assert says in problem.detail
    if field == "body":  # an export's line (no columns) is judged the same
        exported = check_chunk(None, 3, [(3, text)]).problem
        assert exported is not None and exported.detail == problem.detail


def test_a_version_1_record_with_floats_still_verifies_by_the_full_path() -> None:
    text = body(v=1, data={"epsilon": 0.1, "big": 1e16})
    assert _as_columns_say(3, row(text)) is None
    assert check_chunk(None, 3, [row(text)]).problem is None


def test_append_writes_the_canonical_body_of_the_old_construction(tmp_path: Path) -> None:
    """One walk plus the C encoder give the bytes `canonical_json` gave over `exact(data)`; the returned columns are
    the stored row; the head row is created on first use."""
    engine = create_engine(f"sqlite:///{tmp_path / 'l.db'}")
    SQLModel.metadata.create_all(engine)
    data = {"eps": 0.05, "tiny": 1e-7, "big": 1e16, "two": 2.0, "neg": -0.0, "list": [0.25, {"x": 3.5e-5}], "s": "é"}
    with Session(engine) as s:
        first = append_record(s, kind="query.run", actor="acct-1", subject="prod-1", data=data)
        second = append_record(s, kind="query.run", actor="acct-1", subject="prod-1", authorization="lic-1")
        s.commit()
        assert record_count(s) == 2
        stored = s.get(LedgerRecord, 0)
    assert (first.seq, second.seq) == (0, 1) and stored is not None
    expected = canonical_json({"v": RECORD_VERSION, "seq": 0, "kind": "query.run", "actor": "acct-1",
                               "subject": "prod-1", "authorization": None,
                               "at": first.created_at.isoformat(timespec="microseconds"), "data": exact(data)})
    assert first.body.encode() == expected and stored.body == first.body
    assert json.loads(first.body)["data"]["tiny"] == "0.0000001" and stored.leaf_hash == leaf_hash(expected).hex()
    with engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(LedgerRecord)).scalar() == 2
