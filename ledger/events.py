"""Read and decode contract events with block-range paging and a confirmation depth."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from eth_utils import event_abi_to_log_topic
from hexbytes import HexBytes
from web3.contract import Contract

from ledger.client import ChainClient, Receipt


@dataclass(frozen=True)
class ChainEvent:
    """One decoded log."""

    contract: str
    name: str
    args: dict[str, Any]
    block_number: int
    tx_hash: str
    log_index: int

    def receipt(self) -> Receipt:
        """Where the event landed, as the receipt of the transaction that emitted it (gas not known)."""
        return Receipt(self.tx_hash, self.block_number, self.log_index, 0)


def safe_head(client: ChainClient, confirmations: int) -> int:
    """The newest block with at least `confirmations` blocks on top of it."""
    return max(client.block_number() - confirmations, -1)


def read_events(
    client: ChainClient,
    contract_name: str,
    contract: Contract,
    from_block: int,
    to_block: int | None = None,
    *,
    page: int = 5_000,
    confirmations: int = 0,
    names: set[str] | None = None,
    topic1: bytes | None = None,
) -> Iterator[ChainEvent]:
    """Yield decoded events of `contract` in chain order, `page` blocks per eth_getLogs call.

    `topic1` filters on the first indexed argument (e.g. a product id).
    """
    decoders = {}
    for entry in contract.abi:
        name = str(entry.get("name", ""))
        if entry.get("type") == "event" and (names is None or name in names):
            topic = HexBytes(event_abi_to_log_topic(entry))  # type: ignore[arg-type]
            decoders[topic] = getattr(contract.events, name)()
    last = safe_head(client, confirmations) if to_block is None else to_block
    start = from_block
    topics: list[Any] = [list(decoders)]
    if topic1 is not None:
        topics.append(HexBytes(topic1))
    while start <= last:
        end = min(start + page - 1, last)
        logs = client.rpc(lambda s=start, e=end: client.w3.eth.get_logs(
            {"address": contract.address, "fromBlock": s, "toBlock": e, "topics": topics}))
        for log in logs:
            ev = decoders[HexBytes(log["topics"][0])].process_log(log)
            yield ChainEvent(
                contract=contract_name,
                name=ev["event"],
                args=dict(ev["args"]),
                block_number=int(log["blockNumber"]),
                tx_hash=HexBytes(log["transactionHash"]).to_0x_hex(),
                log_index=int(log["logIndex"]),
            )
        start = end + 1
