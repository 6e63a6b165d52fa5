"""Governance: the deployer holds no role; governance alone administers roles, hands on in two delayed steps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.anvil import DEV_DEPLOYER_KEY, Anvil
from ledger.contracts import (
    AUTHORITY_ROLE,
    DEFAULT_ADMIN_ROLE,
    EXCHANGE_ROLE,
    MINTER_ROLE,
    OPERATOR_ROLE,
    RECORDER_ROLE,
    Classification,
    Ledger,
)
from ledger.deploy import DeploymentError, DeployPlan, check_plan
from ledger.errors import ContractRevert
from ledger.runtime import ChainConfig, ChainConfigError, ChainRuntime
from tests.conftest import account_factory, uid
from tests.ledger.chain_helpers import H1, H2, advance_time


def refused(exc: pytest.ExceptionInfo[ContractRevert], account: str, role: bytes) -> bool:
    return exc.value.name == "AccessControlUnauthorizedAccount" and exc.value.args_by_name == {
        "account": account, "neededRole": role}


def test_after_deployment_the_deployer_holds_no_role(chain: ChainRuntime, ledger: Ledger, deployer: LocalAccount,
                                                     governance: LocalAccount) -> None:
    assert ledger.governed == ("DataRegistry", "CheckpointLog", "Settlement", "SettlementToken")
    assert ledger.roles_held(deployer.address) == {c: [] for c in ledger.governed}
    assert chain.recorder is not None and chain.recorder.address not in (deployer.address, governance.address)
    for contract in ledger.governed:
        assert ledger.default_admin(contract) == governance.address
        assert ledger.pending_admin(contract)[0] == "0x" + "0" * 40
    assert ledger.roles_held(chain.recorder.address)["CheckpointLog"] == ["RECORDER_ROLE"]
    assert ledger.roles_held(governance.address)["SettlementToken"] == ["DEFAULT_ADMIN_ROLE"]
    assert chain.minter is not None and chain.minter.address not in (deployer.address, governance.address)
    assert ledger.roles_held(chain.minter.address)["SettlementToken"] == ["MINTER_ROLE"]  # dev token only
    assert ledger.deployment.governance == governance.address and ledger.deployment.dev_token


def test_the_deployer_cannot_make_itself_anything(ledger: Ledger, deployer: LocalAccount) -> None:
    me = deployer.address
    for contract, role, needed in (("DataRegistry", AUTHORITY_ROLE, DEFAULT_ADMIN_ROLE),
                                   ("DataRegistry", OPERATOR_ROLE, AUTHORITY_ROLE),
                                   ("DataRegistry", EXCHANGE_ROLE, DEFAULT_ADMIN_ROLE),
                                   ("Settlement", AUTHORITY_ROLE, DEFAULT_ADMIN_ROLE),
                                   ("Settlement", EXCHANGE_ROLE, DEFAULT_ADMIN_ROLE),
                                   ("CheckpointLog", RECORDER_ROLE, DEFAULT_ADMIN_ROLE),
                                   ("SettlementToken", MINTER_ROLE, DEFAULT_ADMIN_ROLE)):
        with pytest.raises(ContractRevert) as exc:
            ledger.grant_role(deployer, contract, role, me)
        assert refused(exc, me, needed), (contract, exc.value)
    with pytest.raises(ContractRevert) as exc:
        ledger.mint(deployer, me, 10**9)
    assert refused(exc, me, MINTER_ROLE)
    with pytest.raises(ContractRevert) as exc:
        ledger.anchor(deployer, 10**12, H1)
    assert refused(exc, me, RECORDER_ROLE)
    with pytest.raises(ContractRevert) as exc:
        ledger.begin_admin_transfer(deployer, "DataRegistry", me)
    assert refused(exc, me, DEFAULT_ADMIN_ROLE)
    with pytest.raises(ContractRevert) as exc:
        ledger.register_resource(deployer, uid("res"), Classification.GENERAL, H1, H2)
    assert refused(exc, me, AUTHORITY_ROLE)
    assert ledger.roles_held(me) == {c: [] for c in ledger.governed}


def test_governance_grants_and_revokes_roles(ledger: Ledger, governance: LocalAccount,
                                             new_account: Callable[[], LocalAccount]) -> None:
    authority = new_account()
    ledger.grant_role(governance, "DataRegistry", AUTHORITY_ROLE, authority.address)
    ledger.register_resource(authority, uid("res"), Classification.GENERAL, H1, H2)
    ledger.revoke_role(governance, "DataRegistry", AUTHORITY_ROLE, authority.address)
    with pytest.raises(ContractRevert) as exc:
        ledger.register_resource(authority, uid("res"), Classification.GENERAL, H1, H2)
    assert refused(exc, authority.address, AUTHORITY_ROLE)
    # one admin only: governance cannot hand out a second DEFAULT_ADMIN_ROLE, only transfer it in two steps
    with pytest.raises(ContractRevert, match="AccessControlEnforcedDefaultAdminRules"):
        ledger.grant_role(governance, "DataRegistry", DEFAULT_ADMIN_ROLE, authority.address)


def test_governance_hands_on_in_two_delayed_steps(tmp_path: Path, build_cache: Path) -> None:
    """A new governance (e.g. a TimelockController) accepts only after the delay; the old one then loses admin,
    and the runtime refuses settings that still name the old one."""
    delay = 3600
    with Anvil() as node:
        cfg = ChainConfig(home=tmp_path, rpc_url=node.url, deployer_key=DEV_DEPLOYER_KEY, admin_delay=delay,
                          build_cache=build_cache, scrypt_n=2**10)
        rt = ChainRuntime(cfg).start()
        assert rt.ledger is not None and rt.governance is not None and rt.deployer is not None
        ledger, old = rt.ledger, rt.governance
        new = account_factory(ledger, rt.deployer)()
        for contract in ledger.governed:
            ledger.begin_admin_transfer(old, contract, new.address)
            pending, schedule = ledger.pending_admin(contract)
            assert pending == new.address and schedule > 0
        with pytest.raises(ContractRevert) as exc:
            ledger.accept_admin_transfer(new, "DataRegistry")
        assert exc.value.name == "AccessControlEnforcedDefaultAdminDelay"
        with pytest.raises(ContractRevert) as exc:
            ledger.accept_admin_transfer(old, "DataRegistry")
        assert exc.value.name == "AccessControlInvalidDefaultAdmin"
        advance_time(ledger, delay + 1)
        for contract in ledger.governed:
            ledger.accept_admin_transfer(new, contract)
            assert ledger.default_admin(contract) == new.address
            assert not ledger.has_role(contract, DEFAULT_ADMIN_ROLE, old.address)
        with pytest.raises(ContractRevert) as exc:
            ledger.grant_role(old, "Settlement", EXCHANGE_ROLE, old.address)
        assert refused(exc, old.address, DEFAULT_ADMIN_ROLE)
        ledger.grant_role(new, "Settlement", EXCHANGE_ROLE, new.address)

        with pytest.raises(ChainConfigError, match="not by the configured governance"):
            ChainRuntime(cfg).start()
        cfg.governance_address = new.address
        again = ChainRuntime(cfg).start()
        assert not again.fresh_deployment and again.governance is None and again.governance_address == new.address


def test_zero_delay_accepts_in_a_later_block(isolated_rt: ChainRuntime) -> None:
    """With delay 0 (dev, tests) the successor may accept from the next block on: the contract wants
    the schedule strictly in the past, and Anvil mines each transaction in a block of its own."""
    rt = isolated_rt
    assert rt.ledger is not None and rt.governance is not None and rt.deployer is not None
    successor = account_factory(rt.ledger, rt.deployer)()
    rt.ledger.begin_admin_transfer(rt.governance, "CheckpointLog", successor.address)
    advance_time(rt.ledger, 1)
    rt.ledger.accept_admin_transfer(successor, "CheckpointLog")
    assert rt.ledger.default_admin("CheckpointLog") == successor.address


@pytest.fixture
def isolated_rt(tmp_path: Path, build_cache: Path) -> Iterator[ChainRuntime]:
    runtime = ChainRuntime(ChainConfig(home=tmp_path / "iso", persist_state=False, build_cache=build_cache,
                                       scrypt_n=2**10)).start()
    yield runtime
    runtime.stop()


def test_the_deployer_cannot_be_governance_recorder_or_minter() -> None:
    me = Account.from_key(DEV_DEPLOYER_KEY).address
    other = Account.create().address
    for plan in (DeployPlan(me, other), DeployPlan(other, me), DeployPlan(other, other, minter=me)):
        with pytest.raises(DeploymentError, match="cannot be the"):
            check_plan(plan, me)
    check_plan(DeployPlan(other, other), me)


def test_production_settles_in_an_existing_token(tmp_path: Path, build_cache: Path) -> None:
    """With a token address nothing mintable is deployed: Settlement pulls the given ERC-20."""
    with Anvil() as node:
        dev = ChainRuntime(ChainConfig(home=tmp_path / "issuer", rpc_url=node.url, deployer_key=DEV_DEPLOYER_KEY,
                                       build_cache=build_cache, scrypt_n=2**10)).start()
        assert dev.ledger is not None
        existing = dev.ledger.token.address  # stands for a token someone else issued
        with pytest.raises(DeploymentError, match="no contract"):
            ChainRuntime(ChainConfig(home=tmp_path / "none", rpc_url=node.url, deployer_key=DEV_DEPLOYER_KEY,
                                     build_cache=build_cache, scrypt_n=2**10,
                                     settlement_token=Account.create().address)).start()
        rt = ChainRuntime(ChainConfig(home=tmp_path / "prod", rpc_url=node.url, deployer_key=DEV_DEPLOYER_KEY,
                                      build_cache=build_cache, scrypt_n=2**10, settlement_token=existing)).start()
        assert rt.ledger is not None
        assert rt.ledger.deployment.addresses["SettlementToken"] == existing
        assert not rt.ledger.deployment.dev_token and "SettlementToken" not in rt.ledger.governed
        assert rt.ledger.raw_call("Settlement", "token") == existing
        assert rt.governance is not None
        with pytest.raises(ContractRevert) as exc:  # this deployment's governance is no minter of that token
            rt.ledger.mint(rt.governance, rt.governance.address, 1)
        assert refused(exc, rt.governance.address, MINTER_ROLE)
