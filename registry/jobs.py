"""The tables of chain jobs, assembled here from the core and trading ones (not by import side effects)."""

from __future__ import annotations

from collections.abc import Mapping

from eth_account.signers.local import LocalAccount

from ledger.contracts import Ledger
from ledger.forwarder import Relayer
from registry.chain import Action, ChainGateway, Planner
from registry.chain_jobs import CORE_ACTIONS, CORE_PLANS
from registry.governance import plan_grants
from registry.trading.chain_jobs import TRADING_PLANS, TRADING_RUNNERS

ACTIONS: Mapping[str, Action] = CORE_ACTIONS
PLANS: Mapping[str, Planner] = {**CORE_PLANS, **TRADING_PLANS, "roles.grant": plan_grants}


def make_gateway(ledger: Ledger, deployer: LocalAccount, *, house: LocalAccount | None = None, fund_wei: int = 0,
                 governance: LocalAccount | None = None, minter: LocalAccount | None = None) -> ChainGateway:
    """A gateway that relays participants' signed acts (the deployer relays and pays their gas)."""
    return ChainGateway(ledger, Relayer(ledger, deployer), deployer, PLANS, ACTIONS, TRADING_RUNNERS, house=house,
                        fund_wei=fund_wei, governance=governance, minter=minter)
