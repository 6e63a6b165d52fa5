"""Settlement's offers as the chain holds them, read once and kept until the chain says they changed.

An offer's tiers, payees and basis points never change once published (`publishOffer` refuses an id twice);
only `withdrawOffer` changes it (`active`). So each offer is read once (`Settlement.offer`, after a known block:
the entry's version) and kept until Settlement's `OfferPublished` or `OfferWithdrawn` names
it (`ledger.event_cache`: re-checked at most every 0.25 s with one `eth_blockNumber` and one `eth_getLogs`).
Quotes then cost no JSON-RPC request at all: `price_of` and `split_of` are `ledger.settlement_rules`.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3.contract import Contract

from ledger import settlement_rules
from ledger.client import ChainClient
from ledger.event_cache import RECHECK_S, EventInvalidated
from ledger.ids import chain_id_of


@dataclass(frozen=True)
class ChainOffer:
    """`Settlement.offer` read after block `block` (the cache entry's version: any offer event after it drops it)."""

    product_id: bytes
    buyer: str
    active: bool
    form: int
    refund_window: int
    tier_min_quantity: tuple[int, ...]
    tier_unit_price: tuple[int, ...]
    payees: tuple[str, ...]
    bps: tuple[int, ...]
    block: int

    def price_of(self, quantity: int) -> int:
        """`Settlement.priceOf(offer, quantity)`."""
        return settlement_rules.price_of(self.tier_min_quantity, self.tier_unit_price, quantity)

    def split_of(self, amount: int) -> list[int]:
        """`Settlement.splitOf(amount, offer.bps)`: what `buyLicense` pays each payee."""
        return settlement_rules.split_of(amount, self.bps)


class OfferBook(EventInvalidated[ChainOffer]):
    """The chain's offers, cached per process and dropped on Settlement's offer events."""

    def __init__(self, client: ChainClient, settlement: Contract, events: list[bytes],
                 recheck_s: float = RECHECK_S) -> None:
        """`events`: topic0 of Settlement's `OfferPublished` and `OfferWithdrawn` (each names its offer first)."""
        super().__init__(client, settlement.address, events, recheck_s=recheck_s)
        self.settlement = settlement

    def get(self, offer_id: str) -> ChainOffer:
        """The offer as the chain holds it (ContractRevert UnknownOffer when it has none; ChainUnavailable)."""
        key = chain_id_of(offer_id)
        return self.cached(key, lambda block: self._read(key, block))

    def _read(self, key: bytes, block: int) -> ChainOffer:
        """The offer now, read after block `block` (its version: events after it drop the entry, `cached`)."""
        raw = self.client.call(self.settlement.functions.offer(key))
        return ChainOffer(bytes(raw[0]), str(raw[1]), bool(raw[2]), int(raw[3]), int(raw[4]),
                          tuple(int(x) for x in raw[5]), tuple(int(x) for x in raw[6]),
                          tuple(str(x) for x in raw[7]), tuple(int(x) for x in raw[8]), block)
