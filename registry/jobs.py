"""The one table of chain actions, assembled here from the core and trading jobs (not by import side effects)."""

from __future__ import annotations

from collections.abc import Mapping

from eth_account.signers.local import LocalAccount

from ledger.contracts import Ledger
from ledger.keys import Keyring
from registry.chain import Action, ChainGateway
from registry.chain_jobs import CORE_ACTIONS
from registry.trading.chain_jobs import TRADING_ACTIONS

ACTIONS: Mapping[str, Action] = {**CORE_ACTIONS, **TRADING_ACTIONS}


def make_gateway(ledger: Ledger, keyring: Keyring, deployer: LocalAccount, *, fund_wei: int = 0,
                 governance: LocalAccount | None = None) -> ChainGateway:
    """A gateway that can send every chain job the exchange queues (role grants need `governance`)."""
    return ChainGateway(ledger, keyring, deployer, ACTIONS, fund_wei=fund_wei, governance=governance)
