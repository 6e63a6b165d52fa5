"""Facts read from the chain once and kept until one of the contract's events names them.

The base of `ledger.offer_book` (offers) and `ledger.allowances` (unlimited allowances): a cache keyed by the
first indexed argument of some events of one contract. At most every `recheck_s` seconds one thread asks the
chain for its head (`eth_blockNumber`) and for those events in the blocks since its last check
(`eth_getLogs`), and drops each entry they name; other threads go on meanwhile with what the cache holds. A
head below the last one checked (a chain reset, a deep reorganization) drops everything. An entry read at
block B is stored only if no events were applied meanwhile, so none outlives an event that names it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ledger.client import ChainClient

RECHECK_S = 0.25
"""How stale a cached fact may be at most: an event naming it is seen within this many seconds."""

V = TypeVar("V")


class EventInvalidated(Generic[V]):
    """Entries keyed by an event's first indexed argument (32 bytes), dropped when such an event is seen."""

    def __init__(self, client: ChainClient, address: str, topic0s: list[bytes], *,
                 topic2: bytes | None = None, recheck_s: float = RECHECK_S) -> None:
        """`topic0s`: the events that change an entry; `topic2`: only those whose second indexed argument is
        this (e.g. the spender of an `Approval`)."""
        self.client, self.address, self.recheck_s = client, address, recheck_s
        self._topics: list[Any] = [["0x" + t.hex() for t in topic0s], None]
        if topic2 is not None:
            self._topics.append("0x" + topic2.hex())
        self._entries: dict[bytes, V] = {}
        self.checked_block = -1  # the chain's events are applied up to this block
        self._checked_at = float("-inf")
        self._sync_lock = threading.Lock()  # one thread checks the chain at a time
        self._lock = threading.Lock()  # the entries and their block move together

    def cached(self, key: bytes, read: Callable[[int], V]) -> V:
        """The entry of `key`, read (`read(block)`) and kept when absent."""
        self.refresh()
        hit = self._entries.get(key)
        if hit is not None:
            return hit
        block = self.checked_block
        value = read(block)
        self.store(key, value, block)
        return value

    def hit(self, key: bytes) -> V | None:
        """The entry of `key` if held (after the re-check when it is due)."""
        self.refresh()
        return self._entries.get(key)

    def store(self, key: bytes, value: V, block: int) -> None:
        """Keep `value`, read at `block` or later, unless events after `block` were applied meanwhile (they might
        name `key`)."""
        with self._lock:
            if block == self.checked_block:
                self._entries[key] = value

    def refresh(self, force: bool = False) -> None:
        """Apply the events since the last check if `recheck_s` has passed (or `force`)."""
        if not force and time.monotonic() - self._checked_at < self.recheck_s:
            return
        if not self._sync_lock.acquire(blocking=force or self.checked_block < 0):
            return
        try:
            started = time.monotonic()
            head = self.client.block_number()
            named = self._logs(self.checked_block + 1, head) if head > self.checked_block >= 0 else []
            with self._lock:
                if head < self.checked_block:
                    self._entries.clear()
                for log in named:
                    self._entries.pop(bytes(log["topics"][1]), None)
                self.checked_block, self._checked_at = head, started
        finally:
            self._sync_lock.release()

    def _logs(self, first: int, last: int) -> list[Any]:
        flt: Any = {"address": self.address, "fromBlock": first, "toBlock": last, "topics": self._topics}
        return list(self.client.rpc(lambda: self.client.w3.eth.get_logs(flt)))
