"""Chain down: rows are written `pending` with an outbox job; drain() sends or reconciles them later."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from eth_account import Account as EthAccount
from eth_account.signers.local import LocalAccount
from sqlmodel import Session, select

from api.client.signer import make_binding
from ledger.anvil import free_port
from ledger.client import ChainClient
from ledger.contracts import AUTHORITY_ROLE, Ledger
from ledger.runtime import ChainRuntime
from ledger.statements import statement_domain
from registry.accounts import actor_of, create_account
from registry.bindings import SignedBinding
from registry.chain import ChainGateway
from registry.db import make_engine, migrate
from registry.jobs import make_gateway
from registry.models import Account, ChainTx, Resource, Role
from registry.outbox import drain, unsent
from registry.resources import register_resource
from registry.schemas import ResourceIn
from tests.utils.signing import as_signer

PG_URL = os.environ.get("PROVEX_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgres"] if PG_URL else ["sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
        migrate(eng)
        yield eng
        eng.dispose()
        return
    assert PG_URL
    name = f"provex_outbox_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    eng = make_engine(PG_URL.rsplit("/", 1)[0] + "/" + name)
    migrate(eng)
    yield eng
    eng.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def gateways(chain: ChainRuntime) -> tuple[ChainGateway, ChainGateway]:
    """The live gateway and one whose node does not answer (a closed port, same deployment)."""
    assert chain.ledger is not None and chain.build is not None and chain.deployer is not None
    live = make_gateway(chain.ledger, chain.deployer, fund_wei=10**18, governance=chain.governance)
    dead_client = ChainClient(f"http://127.0.0.1:{free_port()}", chain.ledger.client.decoder, timeout=1)
    dead = make_gateway(Ledger(dead_client, chain.ledger.deployment, chain.build), chain.deployer,
                        fund_wei=10**18, governance=chain.governance)
    return live, dead


def resource_in() -> ResourceIn:
    return ResourceIn(name="r", department="d", sector="agriculture", region_code="150100",
                      classification="general", content_hash="ab" * 32,
                      column_schema=[{"name": "a", "type": "string"}],  # type: ignore[list-item]
                      update_frequency="daily", volume=1)


def test_chain_down_then_drain_then_reconcile(engine: sa.Engine, chain: ChainRuntime) -> None:
    live, dead = gateways(chain)
    key: LocalAccount = EthAccount.create()
    domain = statement_domain(chain.ledger.deployment)  # type: ignore[union-attr]
    binding = SignedBinding.of(make_binding(key, domain, "authority", "auth"), "authority", "auth", domain)
    with Session(engine, expire_on_commit=False) as s:
        authority, _ = create_account(s, dead, role=Role.AUTHORITY, name="auth", binding=binding)
        s.commit()
        assert authority.chain_state == "pending"
    res = as_signer(engine, actor_of(authority), key,
                    lambda s: register_resource(s, dead, actor_of(authority), resource_in()))
    assert res.chain_state == "pending" and res.tx_hash is None
    assert not chain.ledger.has_role("DataRegistry", AUTHORITY_ROLE, authority.address)  # type: ignore[union-attr]

    report = drain(engine, dead)
    assert report.sent == 0 and report.remaining == 2

    report = drain(engine, live)
    assert (report.sent, report.failed, report.remaining) == (2, 0, 0)
    with Session(engine) as s:
        acct = s.exec(select(Account).where(Account.id == authority.id)).one()
        row = s.exec(select(Resource).where(Resource.id == res.id)).one()
        assert acct.chain_state == "confirmed"
        assert row.chain_state == "confirmed" and row.tx_hash and row.log_index is not None
        first_receipt = (row.tx_hash, row.block_number, row.log_index)
        # a crash after sending but before commit: the job is pending again; the chain says ResourceExists
        job = s.exec(select(ChainTx).where(ChainTx.subject_id == res.id)).one()
        job.state = "pending"
        job.payload = {**job.payload, "forward": [unsent(e) for e in job.payload["forward"]]}
        s.add(job)
        s.commit()
    assert chain.ledger.has_role("DataRegistry", AUTHORITY_ROLE, authority.address)  # type: ignore[union-attr]
    report = drain(engine, live)
    assert report.reconciled == 1 and report.sent == 0
    with Session(engine) as s:
        row = s.exec(select(Resource).where(Resource.id == res.id)).one()
        assert (row.tx_hash, row.block_number, row.log_index) == first_receipt
        assert chain.ledger.resource(res.id)[2].hex() == row.metadata_hash  # type: ignore[union-attr]
