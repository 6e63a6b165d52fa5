"""The embedded (dev) setup: the first authority is governance; roles reach accounts from it, not the deployer."""

from __future__ import annotations

from ledger.contracts import AUTHORITY_ROLE, EXCHANGE_ROLE
from tests.utils.server import Server, wait_confirmed


def test_first_authority_is_governance_and_the_deployer_holds_nothing(server: Server) -> None:
    ledger = server.ledger
    with server.client("authority") as c:
        authority = c.get("/accounts/me").json()
    assert authority["address"] == ledger.deployment.governance
    for contract in ledger.governed:
        assert ledger.default_admin(contract) == authority["address"]
    assert ledger.roles_held(ledger.deployment.deployer) == {c: [] for c in ledger.governed}
    wait_confirmed(server, "exchange")
    with server.client("exchange") as c:
        exchange = c.get("/accounts/me").json()
    for contract in ("DataRegistry", "Settlement"):
        assert ledger.has_role(contract, AUTHORITY_ROLE, authority["address"])
        assert ledger.has_role(contract, EXCHANGE_ROLE, exchange["address"])
        granted = ledger.contracts[contract].events.RoleGranted().get_logs(
            from_block=ledger.deployment.deployment_block, argument_filters={"account": exchange["address"]})
        assert [str(e["args"]["sender"]) for e in granted] == [authority["address"]]
