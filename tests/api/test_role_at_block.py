"""Verify checks each act that needs a chain role against the chain's own role history (issue 13 item 6): an
operator whose OPERATOR_ROLE governance revoked on chain still signs acts the exchange's database accepts (it
still says "operator"); verify names the first such record."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from ledger.chain_types import OPERATOR_ROLE
from ledger.runtime import ChainRuntime
from tests.utils.server import Server, audit_verify, start_server
from tests.utils.trading import listed_product


@pytest.fixture(scope="module")
def own(chain: ChainRuntime, deployer: LocalAccount, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: the drill leaves a divergence in its log for good."""
    server, _ = start_server("sqlite", chain, deployer, tmp_path_factory.mktemp("roles"))
    yield server
    server.proc.terminate()
    server.proc.wait(10)


def set_budget(server: Server, product: dict[str, Any], epsilon: float) -> int:
    """The operator's own signed act (no chain counterpart); returns its record's sequence number."""
    with server.client("operator") as op:
        r = op.put(f"/products/{product['id']}/budget-policy", json={"epsilon": epsilon, "delta": 0.0})
        assert r.status_code == 200, r.text
    with server.client("auditor") as auditor:
        steps = auditor.get(f"/audit/products/{product['id']}/trace").json()["steps"]
    return max(int(s["link"]["record_seq"]) for s in steps if s["kind"] == "budget_policy.set")


def test_an_act_signed_after_the_chain_revoked_the_role_is_named(own: Server) -> None:
    product = listed_product(own)
    set_budget(own, product, 5.0)
    assert audit_verify(own)["ok"]  # the operator held OPERATOR_ROLE on DataRegistry when it signed
    operator = own.accounts["operator"].address
    own.ledger.revoke_role(own.accounts["authority"], "DataRegistry", OPERATOR_ROLE, operator)  # governance
    time.sleep(1.1)  # block times are whole seconds: the act comes strictly after the revocation
    seq = set_budget(own, product, 6.0)  # the database still says operator: the API accepts it
    report = audit_verify(own)
    assert not report["ok"], report
    div = report["divergence"]
    assert (div["kind"], div["table"], div["row"]) == ("role_missing", "ledger_records", seq), div
    assert "OPERATOR_ROLE on DataRegistry" in div["detail"] and operator in div["detail"]
