"""Promises at write time: signed by the recorder when a record is appended, checked by verify in database and
export mode; a withheld record past its deadline, a late anchor, or a promised record missing is `promise_broken`
naming the record."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ledger import promises, secp256k1
from ledger.anchor import Anchorer, AnchorPolicy
from ledger.chain_types import Checkpoint
from ledger.promises import Promise, PromiseBook, Promiser, overdue, read_promises, signer_of
from ledger.records import LedgerRecord, append_record
from ledger.runtime import ChainRuntime
from ledger.secp256k1 import N, message_problem, sign_message
from ledger.trust import contract_checkpoints
from ledger.verify import StoredRecord, export_log, export_promises, promise_book, read_export, verify_log
from registry.verification import stored_records
from tests.ledger.chain_helpers import advance_time

KEY = Account.from_key("0x" + "42" * 32)
LOG = "0x" + "Ab" * 20


def test_fast_signature_is_eth_accounts_byte_for_byte() -> None:
    for i in range(20):
        key = Account.from_key((i + 1).to_bytes(32, "big"))
        message = f"provex {i}".encode()
        assert sign_message(message, bytes(key.key)) == bytes(key.sign_message(encode_defunct(message)).signature)


def recovers_to(message: bytes, signature: bytes, address: str) -> bool:
    try:
        return bool(Account.recover_message(encode_defunct(message), signature=signature) == address)
    except Exception:  # eth_account refuses it outright
        return False


def test_known_signers_agree_with_recovery() -> None:
    """The fast check (after one recovery per address) decides exactly as recovering the signer does."""
    other = Account.from_key("0x" + "43" * 32)
    for i in range(12):
        message = f"promise {i}".encode()
        sig = sign_message(message, bytes(KEY.key))
        r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
        variants = [sig, r + sig[32:64] + bytes([55 - v]), r + (N - s).to_bytes(32, "big") + bytes([55 - v]),
                    r + (N - s).to_bytes(32, "big") + bytes([v]), sign_message(message, bytes(other.key)),
                    sign_message(message + b"!", bytes(KEY.key))]
        for fresh in (True, False):
            if fresh:  # no public key known: every check recovers
                secp256k1._known.clear()
            else:  # the address's key is known: the fast path (one OpenSSL verification) decides
                assert message_problem(b"warm", "0x" + sign_message(b"warm", bytes(KEY.key)).hex(), KEY.address) is None
            for j, variant in enumerate(variants):
                ok = message_problem(message, "0x" + variant.hex(), KEY.address) is None
                assert ok == recovers_to(message, variant, KEY.address), (i, j, fresh)
    assert message_problem(b"m", "0xzz", KEY.address) is not None


def promiser(max_delay: int = 60) -> Promiser:
    return Promiser(KEY, 31337, LOG, max_delay)


def book(now: int, recorders: tuple[str, ...] = (KEY.address,)) -> PromiseBook:
    return PromiseBook(31337, LOG, lambda a: a in recorders, now, lambda cp: cp.timestamp)


def test_promise_round_trip_and_every_tampered_field_fails() -> None:
    p = promiser().promise(7, "ab" * 32, datetime.fromtimestamp(1_000_000, UTC))
    again = Promise.parse(p.text())
    assert again == p and signer_of(again) == KEY.address and again.deadline == 1_000_060
    assert read_promises(json.dumps([p.as_json()])) == read_promises(p.text() + "\n") == [p]
    for change in ({"seq": 8}, {"leaf_hash": "cd" * 32}, {"issued_at": 1_000_100}, {"max_delay_s": 6000},
                   {"log": "0x" + "cd" * 20}, {"chain_id": 1}):
        forged = replace(p, **change)  # type: ignore[arg-type]
        assert signer_of(forged) != KEY.address, change
    with pytest.raises(promises.PromiseError, match="max_delay_s"):
        Promise.parse({**p.as_json(), "max_delay_s": 1.5})
    with pytest.raises(promises.PromiseError, match="exactly the fields"):
        Promise.parse({**p.as_json(), "extra": 1})


def test_book_names_forged_late_pending_and_missing_promises() -> None:
    mk = promiser(10).promise
    leaf = bytes.fromhex("ab" * 32)
    ps = [mk(i, leaf.hex(), datetime.fromtimestamp(100, UTC)) for i in range(5)]
    cps = [Checkpoint(0, 2, 105, b""), Checkpoint(1, 3, 111, b"")]  # records 0-1 in time, record 2 one second late
    b = book(now=105)
    b.collect([ps[4], replace(ps[1], max_delay_s=99)])  # a collected promise for a missing record; a forged one
    for i in range(4):
        b.see(i, leaf, ps[i].text() if i != 3 else None)
    broken = b.finish(4, cps)
    assert [(x.seq, x.field) for x in broken] == [(1, "promise.signature"), (2, "anchored_at"), (4, "seq")]
    assert (b.kept, b.pending) == (2, 0)  # record 3: its stored promise is absent, nothing collected
    assert overdue(ps, cps, now=105) == [ps[2]]
    assert overdue(ps, cps, now=111) == [ps[2], ps[3], ps[4]]
    stranger = book(now=0, recorders=())
    stranger.see(0, leaf, ps[0].text())
    assert [x.field for x in stranger.finish(1, cps)] == ["promise.signer"]


def stored(engine: Engine) -> list[StoredRecord]:
    """The log as the database verifier reads it."""
    with Session(engine) as s:
        return list(stored_records(s))


def write(engine: Engine, n: int) -> list[Promise]:
    """Append `n` records in one transaction; the promises it delivers on commit."""
    delivered: list[Promise] = []
    with Session(engine) as s:
        s.info[promises.DELIVERED] = delivered
        for i in range(n):
            append_record(s, kind="query", actor="acct-1", subject=f"prod-{i}", data={"i": i})
        assert not delivered  # nothing is promised before the transaction commits
        s.commit()
    return delivered


def both_modes(rt: ChainRuntime, engine: Engine, folder: Path,
               collected: Sequence[Promise] = ()) -> list[dict[str, Any]]:
    """The verify report from the database rows and from an export of them (promises.jsonl), as dicts."""
    assert rt.ledger is not None
    cps = contract_checkpoints(rt.ledger)
    db = verify_log(stored(engine), cps, promises=promise_book(rt.ledger, collected))
    export_log(stored(engine), "{}", folder)
    exported = verify_log(read_export(folder), cps,
                          promises=promise_book(rt.ledger, [*export_promises(folder), *collected]))
    return [db.as_dict(), exported.as_dict()]


def test_withheld_record_past_its_promise_is_named(rt: ChainRuntime, engine: Engine, tmp_path: Path) -> None:
    assert rt.ledger is not None and rt.recorder is not None
    promises.install(engine, Promiser(rt.recorder, rt.ledger.client.chain_id, rt.ledger.checkpoints.address, 20))
    anchorer = Anchorer(engine, rt.ledger, rt.recorder, AnchorPolicy(batch_size=4))
    given = write(engine, 5)
    assert [p.seq for p in given] == list(range(5)) and all(signer_of(p) == rt.recorder.address for p in given)
    anchorer.drain()
    for report in both_modes(rt, engine, tmp_path / "kept"):
        assert report["ok"] and report["promises"] == {"kept": 5, "pending": 0, "broken": 0}, report["divergence"]

    # the exchange promises record 5, then deletes it before anchoring: its holder's promise proves it
    (withheld,) = write(engine, 1)
    with Session(engine) as s:
        row = s.get(LedgerRecord, 5)
        assert row is not None and row.promise == withheld.text()
        as_written = row.model_dump()
        s.delete(row)
        s.commit()
    for report in both_modes(rt, engine, tmp_path / "missing", [withheld]):
        d = report["divergence"]
        assert (d["kind"], d["row"], d["field"]) == ("promise_broken", 5, "seq"), report
    with Session(engine) as s:  # put it back, as written
        s.add(LedgerRecord(**as_written))
        s.commit()

    # records 5-7 are withheld from anchoring past their deadline
    write(engine, 2)
    for report in both_modes(rt, engine, tmp_path / "pending"):
        assert report["ok"] and report["promises"]["pending"] == 3, report
    advance_time(rt.ledger, 60)
    for report in both_modes(rt, engine, tmp_path / "withheld"):
        d = report["divergence"]
        assert (d["kind"], d["row"], d["field"], d["checkpoint"]) == ("promise_broken", 5, "anchored_at", None)
        assert [a["row"] for a in report["also"]] == [6, 7]

    # anchored at last, but too late: still broken, now naming the checkpoint
    anchorer.drain()
    for report in both_modes(rt, engine, tmp_path / "late"):
        d = report["divergence"]
        assert (d["kind"], d["row"], d["field"]) == ("promise_broken", 5, "anchored_at"), report
        assert d["checkpoint"] == 2 and "after the promised deadline" in d["detail"]
