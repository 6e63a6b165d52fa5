"""The trust file: forged ones are refused; verification that trusts only it catches what the export hides.

One chain for the module: 40 records anchored in 3 checkpoints, the authority's trust file, an honest export,
and an insider's shadow CheckpointLog on which a rewritten log is anchored.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine, select

from ledger.anchor import Anchorer, AnchorPolicy
from ledger.canonical import canonical_json
from ledger.contracts import Ledger
from ledger.deploy import Deployment, DeployPlan, deploy_all
from ledger.merkle import leaf_hash
from ledger.records import LedgerRecord
from ledger.runtime import ChainConfig, ChainRuntime
from ledger.trust import (
    TrustFile,
    TrustFileError,
    check_trust,
    contract_checkpoints,
    sign_trust,
    trust_from_chain,
    verify_export_trusted,
)
from ledger.verify import MANIFEST_FILE, RECORDS_FILE, StoredRecord, export_log, read_export, verify_log
from tests.ledger.conftest import append


def stored(engine: Engine) -> list[StoredRecord]:
    with Session(engine) as s:
        return [StoredRecord(r.seq, r.body) for r in s.exec(select(LedgerRecord).order_by(LedgerRecord.seq))]  # type: ignore[arg-type]


def rewrite_line(body: str) -> str:
    """A record with its data rewritten, canonical again (its leaf hash recomputes cleanly)."""
    return canonical_json({**json.loads(body), "data": {"i": 999}}).decode()


@dataclass
class World:
    rt: ChainRuntime
    ledger: Ledger
    trust: TrustFile
    honest: Path  # an honest export
    shadow: Path  # a rewritten export whose deployment.json names the shadow CheckpointLog it was anchored on
    shadow_deployment: Deployment


def _shadow(rt: ChainRuntime, engine: Engine, tmp: Path) -> tuple[Path, Deployment]:
    """The insider's move: deploy a CheckpointLog of their own, anchor a rewritten log there, export that."""
    assert rt.ledger and rt.deployer and rt.build
    insider: LocalAccount = Account.create()
    rt.ledger.client.fund(rt.deployer, insider.address, 10**18)
    own = deploy_all(rt.ledger.client, rt.build, rt.deployer, DeployPlan(insider.address, insider.address))
    real = rt.ledger.deployment
    forged = dataclasses.replace(real, addresses={**real.addresses, "CheckpointLog": own.addresses["CheckpointLog"]},
                                 deployment_block=own.deployment_block)
    copy = create_engine(f"sqlite:///{tmp / 'shadow.db'}")
    SQLModel.metadata.create_all(copy)
    with Session(engine) as s, Session(copy) as c:
        for row in s.exec(select(LedgerRecord)):
            body = rewrite_line(row.body) if row.seq == 20 else row.body
            c.add(LedgerRecord(**{**row.model_dump(), "body": body, "leaf_hash": leaf_hash(body.encode()).hex()}))
        c.commit()
    Anchorer(copy, Ledger(rt.ledger.client, forged, rt.build), insider, AnchorPolicy(batch_size=16)).drain()
    folder = tmp / "shadow-export"
    export_log(stored(copy), json.dumps(dataclasses.asdict(forged)), folder)
    return folder, own


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, build_cache: Path) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("trust")
    rt = ChainRuntime(ChainConfig(home=tmp / "home", persist_state=False, build_cache=build_cache)).start()
    assert rt.ledger and rt.recorder and rt.governance
    engine = create_engine(f"sqlite:///{tmp / 'ledger.db'}")
    SQLModel.metadata.create_all(engine)
    append(engine, 40)
    Anchorer(engine, rt.ledger, rt.recorder, AnchorPolicy(batch_size=16)).drain()
    honest = tmp / "export"
    export_log(stored(engine), rt.config.manifest_path.read_text(), honest)
    shadow, own = _shadow(rt, engine, tmp)
    yield World(rt, rt.ledger, sign_trust(trust_from_chain(rt.ledger), rt.governance), honest, shadow, own)
    rt.stop()


def test_an_honest_trust_file_holds_and_an_honest_export_verifies(world: World) -> None:
    assert world.rt.build and world.rt.governance
    text = world.trust.to_json()
    assert TrustFile.parse(text) == world.trust
    assert world.trust.authority == world.rt.governance.address
    assert check_trust(world.trust, world.ledger.client, world.rt.build, world.trust.authority) == []
    report = verify_export_trusted(world.honest, world.ledger.client, world.rt.build, world.trust)
    assert report.ok and (report.records, report.anchored, report.checkpoints) == (40, 40, 3), report
    assert "trust file signed by" in report.notes[-1]
    with pytest.raises(TrustFileError, match="checksummed"):
        TrustFile.parse(text.replace(world.trust.governance, world.trust.governance.lower()))


def _resigned(world: World, **changes: object) -> TrustFile:
    assert world.rt.governance
    return sign_trust(dataclasses.replace(world.trust, **changes), world.rt.governance)  # type: ignore[arg-type]


FORGERIES: list[tuple[str, Callable[[World], tuple[TrustFile, str | None]], str]] = [
    ("altered_after_signing", lambda w: (dataclasses.replace(w.trust, deployment_block=0), None), "signature"),
    ("wrong_genesis", lambda w: (_resigned(w, genesis_hash="0x" + "ab" * 32), None), "genesis_hash"),
    ("wrong_address", lambda w: (_resigned(w, contracts={**w.trust.contracts, "CheckpointLog":
                                                         w.shadow_deployment.addresses["CheckpointLog"]}), None),
     "contracts.CheckpointLog"),
    ("no_code_at_address", lambda w: (_resigned(w, contracts={**w.trust.contracts, "ProvexForwarder":
                                                              Account.create().address}), None),
     "contracts.ProvexForwarder"),
    ("signed_by_a_stranger", lambda w: (sign_trust(w.trust, Account.create()), None), "authority"),
    ("not_the_expected_authority", lambda w: (w.trust, Account.create().address), "authority"),
]


@pytest.mark.parametrize(("make", "field"), [f[1:] for f in FORGERIES], ids=[f[0] for f in FORGERIES])
def test_a_forged_trust_file_is_refused(world: World, make: Callable[[World], tuple[TrustFile, str | None]],
                                        field: str) -> None:
    assert world.rt.build
    forged, expected_authority = make(world)
    problems = check_trust(TrustFile.parse(forged.to_json()), world.ledger.client, world.rt.build,
                           expected_authority)
    assert [p.field for p in problems][:1] == [field], problems
    report = verify_export_trusted(world.honest, world.ledger.client, world.rt.build, forged, expected_authority)
    assert not report.ok and report.divergence and report.divergence.kind == "trust_refused"


def late_deployment_block(folder: Path, world: World) -> None:
    """The issue's first finding: with the block past the head, events show no checkpoint at all."""
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["deployment_block"] = world.ledger.client.block_number() + 1000
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    rewrite_record(folder, world)


def truncate_after_anchoring(folder: Path, world: World) -> None:
    lines = (folder / RECORDS_FILE).read_text().splitlines(keepends=True)
    (folder / RECORDS_FILE).write_text("".join(lines[:30]))


def rewrite_record(folder: Path, world: World) -> None:
    lines = (folder / RECORDS_FILE).read_text().splitlines()
    lines[20] = rewrite_line(lines[20])
    (folder / RECORDS_FILE).write_text("\n".join(lines) + "\n")


TAMPERS: list[tuple[Callable[[Path, World], None], str, str | None, list[str]]] = [
    (late_deployment_block, "deployment_mismatch", "deployment_block", ["root_mismatch"]),
    (truncate_after_anchoring, "record_deleted", None, []),
    (rewrite_record, "root_mismatch", None, []),
]


@pytest.mark.parametrize(("tamper", "kind", "field", "also"), TAMPERS, ids=[t[0].__name__ for t in TAMPERS])
def test_a_tampered_export_is_caught_with_the_trust_file(world: World, tmp_path: Path,
                                                         tamper: Callable[[Path, World], None], kind: str,
                                                         field: str | None, also: list[str]) -> None:
    assert world.rt.build
    folder = tmp_path / "export"
    shutil.copytree(world.honest, folder)
    tamper(folder, world)
    report = verify_export_trusted(folder, world.ledger.client, world.rt.build, world.trust)
    assert not report.ok and report.divergence is not None, report
    assert (report.divergence.kind, report.divergence.field) == (kind, field), report.divergence
    assert [d.kind for d in report.also] == also
    assert report.checkpoints == 3  # read from the trusted contract, whatever the export says


def test_a_shadow_checkpoint_log_is_caught_only_with_the_trust_file(world: World) -> None:
    assert world.rt.build
    hinted = Deployment(**json.loads((world.shadow / MANIFEST_FILE).read_text()))
    on_shadow = contract_checkpoints(Ledger(world.ledger.client, hinted, world.rt.build))
    assert verify_log(read_export(world.shadow), on_shadow).ok  # the export's own addresses vouch for it
    report = verify_export_trusted(world.shadow, world.ledger.client, world.rt.build, world.trust)
    assert not report.ok and report.divergence is not None
    d = report.divergence
    assert (d.kind, d.table, d.field) == ("deployment_mismatch", MANIFEST_FILE, "addresses.CheckpointLog"), d
    assert world.shadow_deployment.addresses["CheckpointLog"] in d.detail
    assert [x.kind for x in report.also] == ["deployment_mismatch", "root_mismatch"]  # the block, then the log
    assert report.also[-1].checkpoint == 1  # records 16..31 (record 20 rewritten) under checkpoint #1
