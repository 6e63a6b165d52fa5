"""Batched anchoring against one transaction per record, in the same run, on embedded Anvil.

First the cost of appending one record (`append_record`: sequence number, canonical body, leaf hash, row) against
a plain INSERT of the same precomputed row, in the same run, with 1 and 10 records per transaction (the API's
shapes) and 1,000 (a bulk load). Then it measures records appended (bulk, 1,000 per database transaction) and
anchored per second, and gas per record, at batch sizes 1, 64 and 1,024 (every checkpoint carries the consistency
proof the contract verifies; `proof_hashes` is the mean proof length); then the time to verify N records against
the chain (100k quick, 1M full), inline and with worker processes, as `provex audit verify` does it
(checkpoints from the chain, records from the database), each beside a raw pass in the same run (read the bodies,
hash the leaves, build the tree, compare the checkpoint roots: no record checks), and N/10 records of which every
second is a buyer's signed act (each a signature check). Last line: one JSON object.
Usage: python bench/anchoring.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from eth_account import Account
from hexbytes import HexBytes
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from anchor_baseline import run as run_baseline

from ledger.anchor import Anchorer, AnchorPolicy
from ledger.contracts import Ledger
from ledger.merkle import CompactTree, hash_leaves
from ledger.record_check import PARALLEL_FROM, workers_for
from ledger.records import LedgerCheckpoint, LedgerRecord, append_record, record_fields, record_rows, reserve_seqs
from ledger.runtime import ChainConfig, ChainRuntime
from ledger.statements import Binding, RequestStatement, StatementDomain, new_nonce, sign, statement_domain
from ledger.verify import chain_checkpoints, verify_log
from registry.db import make_engine
from registry.verification import stored_rows


def append_records(session: Session, items: list[dict[str, Any]]) -> None:
    """Append many records at once: one sequence allocation, one bulk insert (items: `append_record`'s
    keyword arguments)."""
    first = reserve_seqs(session, len(items))
    at = datetime.now(UTC)
    session.execute(sa.insert(LedgerRecord), [record_fields(first + i, at, **item) for i, item in enumerate(items)])


def append_bulk(engine: object, n: int, chunk: int = 1000) -> float:
    start = time.perf_counter()
    done = 0
    while done < n:
        k = min(chunk, n - done)
        with Session(engine) as s:  # type: ignore[arg-type]
            append_records(s, [{"kind": "query", "actor": "bench-buyer", "subject": f"prod-{(done + i) % 17}",
                                "data": {"epsilon": 0.1, "n": done + i}} for i in range(k)])
            s.commit()
        done += k
    return time.perf_counter() - start


def _append_pass(engine: Engine, n: int, per_tx: int, plain: bool) -> float:
    """Seconds to write `n` records, `per_tx` per transaction: through `append_record`, or (`plain`) as a plain
    INSERT of the same rows computed beforehand (sequence numbers, bodies and leaf hashes included)."""
    at = datetime.now(UTC)
    rows = [record_fields(i, at, kind="query.run", actor="bench-buyer", subject=f"prod-{i % 17}",
                          data={"epsilon": 0.1, "n": i}) for i in range(n)] if plain else []
    insert = sa.insert(LedgerRecord.__table__)  # type: ignore[attr-defined]
    start = time.perf_counter()
    for first in range(0, n, per_tx):
        with Session(engine) as s:
            for i in range(first, min(n, first + per_tx)):
                if plain:
                    s.connection().execute(insert, rows[i])
                else:
                    append_record(s, kind="query.run", actor="bench-buyer", subject=f"prod-{i % 17}",
                                  data={"epsilon": 0.1, "n": i})
            s.commit()
    return time.perf_counter() - start


def append_cost(n: int, rounds: int = 3) -> dict[str, Any]:
    """Append against a plain INSERT of the same row, per transaction shape: the best of `rounds` alternating runs
    of each on fresh SQLite files (the machine is shared: the best run is the least disturbed)."""
    out: dict[str, Any] = {}
    for per_tx in (1, 10, 1000):
        best = {"insert": float("inf"), "append": float("inf")}
        for _ in range(rounds):
            for label in best:
                with tempfile.TemporaryDirectory() as home:
                    engine = make_engine(f"sqlite:///{home}/append.db")
                    SQLModel.metadata.create_all(engine)
                    with Session(engine) as s:
                        reserve_seqs(s, 0)
                        s.commit()
                    best[label] = min(best[label], _append_pass(engine, n, per_tx, label == "insert"))
                    engine.dispose()
        out[f"per_tx_{per_tx}"] = {"insert_us": round(best["insert"] / n * 1e6, 1),
                                   "append_us": round(best["append"] / n * 1e6, 1),
                                   "ratio": round(best["append"] / best["insert"], 2)}
    return out


def raw_pass(engine: Engine, checkpoints: list[Any]) -> int:
    """The floor under verification: read the bodies, hash the leaves, build the tree, compare each checkpoint's
    root; no check of any record."""
    tree, pending = CompactTree(), iter(checkpoints)
    nxt = next(pending, None)
    with Session(engine) as s:
        for rows in record_rows(s, ("seq", "body")):
            leaves = hash_leaves([body.encode("utf-8") for _, body in rows])
            i = 0
            while nxt is not None and nxt.tree_size - tree.size <= len(leaves) - i:
                step = nxt.tree_size - tree.size
                tree.extend(leaves[i:i + step])
                i += step
                assert tree.root() == nxt.root, nxt
                nxt = next(pending, None)
            tree.extend(leaves[i:])
    return tree.size


@contextmanager
def stack(build_cache: Path) -> Iterator[tuple[ChainRuntime, Ledger, Engine]]:
    """A fresh chain (its recorder key anchors) and an empty record database."""
    with tempfile.TemporaryDirectory() as home:
        cfg = ChainConfig(home=Path(home), persist_state=False, build_cache=build_cache)
        with ChainRuntime(cfg) as rt:
            assert rt.ledger is not None and rt.recorder is not None
            engine = make_engine(f"sqlite:///{home}/bench.db")
            SQLModel.metadata.create_all(engine)
            yield rt, rt.ledger, engine


def scenario(batch: int, records: int, build_cache: Path) -> dict[str, float | int]:
    with stack(build_cache) as (rt, ledger, engine):
        assert rt.recorder is not None
        append_s = append_bulk(engine, records)
        worker = Anchorer(engine, ledger, rt.recorder, AnchorPolicy(batch_size=batch))
        start = time.perf_counter()
        worker.drain(timeout=600)
        anchor_s = time.perf_counter() - start
        with Session(engine) as s:
            txs = [HexBytes(str(c.tx_hash)) for c in s.exec(select(LedgerCheckpoint))]
        w3 = ledger.client.w3
        gas = sum(int(w3.eth.get_transaction_receipt(h)["gasUsed"]) for h in txs)
        inputs = [w3.eth.get_transaction(h)["input"] for h in txs]
        proofs = [len(ledger.checkpoints.decode_function_input(data)[1]["proof"]) for data in inputs]
    return {
        "batch": batch,
        "records": records,
        "append_s": round(append_s, 3),
        "anchor_s": round(anchor_s, 3),
        "records_per_s": round(records / (append_s + anchor_s), 1),
        "gas_per_record": round(gas / records, 1),
        "gas_per_checkpoint": round(gas / len(txs)),
        "proof_hashes": round(sum(proofs) / len(proofs), 1),
        "transactions": len(txs),
    }


def verification(records: int, build_cache: Path, signed_every: int = 0) -> dict[str, Any]:
    """Time `verify_log` over `records` anchored records read from the database, inline and with worker
    processes. `signed_every` k > 0: every k-th record is a buyer's signed act (as `query.run` records are), by
    one of 20 bound buyers, so each is a signature check too."""
    with stack(build_cache) as (rt, ledger, engine):
        assert rt.recorder is not None
        domain = statement_domain(ledger.deployment)
        if signed_every:
            append_signed(engine, records, signed_every, domain)
        else:
            append_bulk(engine, records, chunk=5000)
        Anchorer(engine, ledger, rt.recorder, AnchorPolicy(batch_size=8192)).drain(timeout=600)
        out: dict[str, Any] = {"records": records, "signed_every": signed_every}
        start = time.perf_counter()  # the raw pass reads the checkpoints from the chain too
        assert raw_pass(engine, chain_checkpoints(ledger.client, ledger)) == records
        raw_s = time.perf_counter() - start
        out["raw"] = {"seconds": round(raw_s, 2), "records_per_s": round(records / raw_s)}
        for label, workers in (("inline", 1), ("workers", workers_for(PARALLEL_FROM))):
            start = time.perf_counter()
            with Session(engine) as s:  # what `provex audit verify` does: checkpoints and records from scratch
                report = verify_log(stored_rows(s), chain_checkpoints(ledger.client, ledger), domain=domain,
                                    workers=workers)
            seconds = time.perf_counter() - start
            assert report.ok, report.divergence
            out[label] = {"workers": workers, "seconds": round(seconds, 2), "records_per_s": round(records / seconds),
                          "ratio_to_raw": round(seconds / raw_s, 2)}
    return out


def append_signed(engine: object, n: int, every: int, domain: StatementDomain) -> None:
    """Twenty buyers bind their addresses, then `n` records of which every `every`-th is one buyer's signed act
    (each signed statement used by 50 records: signing is not what is measured)."""
    buyers = [Account.create() for _ in range(20)]
    statements = []
    with Session(engine) as s:  # type: ignore[arg-type]
        items = []
        for i, acct in enumerate(buyers):
            binding = Binding(acct.address, "buyer", f"buyer {i}", new_nonce(), 2**40)
            items.append({"kind": "account.bound", "actor": f"buyer-{i}", "subject": f"buyer-{i}", "data": {
                "address": acct.address, "role": "buyer", "name": f"buyer {i}", "nonce": binding.nonce,
                "deadline": binding.deadline, "signature": sign(acct, domain, binding), "chain_id": domain.chain_id,
                "verifying_contract": domain.verifying_contract}})
            for _ in range(max(1, n // every // 50 // len(buyers))):
                st = RequestStatement(acct.address, "POST", "/queries", "0x" + "ab" * 32, new_nonce(), 2**40)
                statements.append((f"buyer-{i}", {**st.as_json(), "signature": sign(acct, domain, st),
                                                  "chain_id": domain.chain_id,
                                                  "verifying_contract": domain.verifying_contract}))
        append_records(s, items)
        s.commit()
    done = len(buyers)
    while done < n:
        batch = []
        for i in range(done, min(n, done + 5000)):
            if i % every == 0:
                actor, signed = statements[i % len(statements)]
                batch.append({"kind": "query.run", "actor": actor, "subject": "prod-1",
                              "data": {"epsilon": "0.1", "n": i, "signed": signed}})
            else:
                batch.append({"kind": "query.charge", "actor": "bench-buyer", "subject": f"prod-{i % 17}",
                              "data": {"epsilon": "0.1", "n": i}})
        with Session(engine) as s:  # type: ignore[arg-type]
            append_records(s, batch)
            s.commit()
        done += len(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = {1: 200, 64: 6_400, 1024: 50_000} if args.quick else {1: 1_000, 64: 64_000, 1024: 500_000}
    verify_n = 100_000 if args.quick else 1_000_000
    append = append_cost(1000 if args.quick else 5000)
    print(json.dumps({"append": append}), file=sys.stderr)
    with tempfile.TemporaryDirectory() as cache:
        baseline = run_baseline(200 if args.quick else 1000)
        rows = [scenario(b, n, Path(cache)) for b, n in sizes.items()]
        for row in rows:
            print(json.dumps(row), file=sys.stderr)
        ver = verification(verify_n, Path(cache))
        signed = verification(verify_n // 10, Path(cache), signed_every=2)
    best = rows[-1]
    print(json.dumps({
        "bench": "anchoring",
        "baseline": {"records_per_s": baseline["records_per_s"], "gas_per_record": baseline["gas_per_record"]},
        "batched": rows,
        "speedup_at_1024": round(float(best["records_per_s"]) / float(baseline["records_per_s"]), 1),
        "gas_ratio_at_1024": round(float(best["gas_per_record"]) / float(baseline["gas_per_record"]), 5),
        "gas_per_record_with_proofs": {str(r["batch"]): r["gas_per_record"] for r in rows if r["batch"] in (64, 1024)},
        "append_vs_insert": append,
        "verify": ver,
        "verify_half_signed": signed,
    }))


if __name__ == "__main__":
    main()
