"""Unlimited allowances to Settlement, known without asking the chain before every purchase.

A buyer approves Settlement for the largest uint256 (`Acts.approve_settlement`); an OpenZeppelin ERC-20 never
lowers such an allowance when it is spent, so once the chain shows it, only another `Approval` by the same owner
to Settlement can change it. Owners seen unlimited are kept (`ledger.event_cache`) until such an event names
them; any other allowance is read each time.
"""

from __future__ import annotations

from web3.contract import Contract

from ledger.chain_types import MAX_UINT256
from ledger.client import ChainClient
from ledger.event_cache import EventInvalidated


class Allowances(EventInvalidated[bool]):
    """`allowance(owner, Settlement)`, unlimited ones remembered until the owner's next `Approval` to it."""

    def __init__(self, client: ChainClient, token: Contract, settlement: str, approval_topic: bytes) -> None:
        super().__init__(client, token.address, [approval_topic], topic2=bytes(12) + bytes.fromhex(settlement[2:]))
        self.token, self.settlement = token, settlement

    def of(self, owner: str) -> int:
        """How much Settlement may pull from `owner`."""
        key = bytes(12) + bytes.fromhex(owner[2:])
        if self.hit(key):
            return MAX_UINT256
        block = self.checked_block
        value = int(self.client.call(self.token.functions.allowance(owner, self.settlement)))
        if value == MAX_UINT256:
            self.store(key, True, block)
        return value
