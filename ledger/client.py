"""JSON-RPC client: local signing, per-sender nonces, receipts, decoded reverts."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import BlockNotFound, ContractLogicError, TransactionNotFound, Web3RPCError
from web3.types import BlockIdentifier, RPCEndpoint

from ledger.errors import ChainError, ChainUnavailable, ErrorDecoder

NONCE_ERRORS = ("nonce too low", "nonce too high", "already known", "replacement transaction underpriced",
                "invalid nonce", "nonce has already been used")
"""How nodes (Anvil, geth, Erigon) word a refused nonce."""
NONCE_ATTEMPTS = 4  # sends of one transaction while other processes use the same key


CONSTANT_REQUESTS: dict[str, Any] = {
    "cache_allowed_requests": True,
    "cacheable_requests": {RPCEndpoint("eth_chainId"), RPCEndpoint("net_version")},
    "request_cache_validation_threshold": None,
}
"""web3's request cache, for the facts of a node that never change: the chain id (web3 asks for it before every
call and transaction it builds: four requests in six of a quote before) and the network id. Nothing that a new
block can change is cached (block reads stay live for reorg checks)."""


RECEIPT_POLL_FIRST_S, RECEIPT_POLL_MAX_S = 0.005, 0.1
"""Receipt polling: the first pause and the longest (a block time of seconds is met within a tenth of one)."""


class NonceDrift(ChainError):
    """The node refused the nonce this client chose for a sender."""


@dataclass(frozen=True)
class Receipt:
    """Where a transaction landed: kept beside the database row it backs."""

    tx_hash: str
    block_number: int
    log_index: int | None
    gas_used: int
    logs: list[Any] = field(default_factory=list, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"tx_hash": self.tx_hash, "block_number": self.block_number, "log_index": self.log_index}


@dataclass(frozen=True)
class Sent:
    """A transaction sent and not yet waited for."""

    tx_hash: HexBytes
    sender: str
    nonce: int


@dataclass(frozen=True)
class BlockHead:
    """The newest block: its number, hash and timestamp."""

    number: int
    hash: bytes
    timestamp: int


class ChainClient:
    """One connection to an EVM node. Thread-safe for sending from several accounts."""

    def __init__(self, rpc_url: str, decoder: ErrorDecoder | None = None, timeout: float = 10.0) -> None:
        self.rpc_url = rpc_url
        self.w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None,
                                    **CONSTANT_REQUESTS))
        self.decoder = decoder or ErrorDecoder([])
        self._nonces: dict[str, int] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._chain_id: int | None = None
        self._legacy_fees: bool | None = None
        self.receipt_timeout = timeout

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.rpc(lambda: self.w3.eth.chain_id))
        return self._chain_id

    def is_up(self) -> bool:
        try:
            self.w3.eth.block_number  # noqa: B018
            return True
        except Exception:
            return False

    def block_number(self) -> int:
        return int(self.rpc(lambda: self.w3.eth.block_number))

    def head(self) -> BlockHead:
        block = self.rpc(lambda: self.w3.eth.get_block("latest"))
        return BlockHead(int(block["number"]), bytes(block["hash"]), int(block["timestamp"]))

    def block_hash(self, number: int) -> bytes | None:
        """The hash of block `number`, or None when the chain has no such block."""
        try:
            return bytes(self.rpc(lambda: self.w3.eth.get_block(number))["hash"])
        except BlockNotFound:
            return None

    def block_time(self, number: int) -> int:
        """The timestamp of block `number` (unix seconds)."""
        return int(self.rpc(lambda: self.w3.eth.get_block(number))["timestamp"])

    def chain_time(self) -> int:
        """The time a contract will judge a transaction sent now by: `block.timestamp` of the block that
        includes it. That block is not mined yet, so this is the later of the latest block's timestamp and
        the wall clock: a node never stamps a block earlier than its parent, and it stamps a new block
        with its own clock (Anvil mines on demand, so its latest block may be long past).

        It is the one chain time of the registry, for rules judged both ways: "not before" (release after
        the refund window, suspending a product whose authorization expired) and "only before" (refund
        inside the window). The earlier of the two would judge a rule by a stale block: an expired
        authorization would stay listed on an idle chain until some other transaction mined a block.
        """
        latest = int(self.rpc(lambda: self.w3.eth.get_block("latest"))["timestamp"])
        return max(latest, int(time.time()))

    def catch_up(self, timestamp: int) -> bool:
        """Make the latest block's time reach `timestamp` (a time already past by the clock), so that gas
        estimation (run against the latest block) judges a transaction as the next block will.

        True when it does: it already did, or the node mines on demand (Anvil, `evm_mine` stamps a new block
        with the current time). False on a real chain, whose next block comes anyway: retry shortly.
        """
        if int(self.rpc(lambda: self.w3.eth.get_block("latest"))["timestamp"]) >= timestamp:
            return True
        if not self.mines_on_demand():
            return False
        self.rpc(lambda: self.w3.provider.make_request("evm_mine", []))  # type: ignore[arg-type]
        return int(self.rpc(lambda: self.w3.eth.get_block("latest"))["timestamp"]) >= timestamp

    def mines_on_demand(self) -> bool:
        """Is the node a development chain that mines when asked (Anvil, Hardhat)?"""
        version = str(self.rpc(lambda: self.w3.client_version)).lower()
        return version.startswith(("anvil", "hardhat"))

    def sender_of(self, tx_hash: str) -> str:
        """The address that signed transaction `tx_hash`."""
        return str(self.rpc(lambda: self.w3.eth.get_transaction(HexBytes(tx_hash)))["from"])

    def has_transaction(self, tx_hash: str) -> bool:
        """Does the chain hold a receipt for `tx_hash` (False after a restart from older state or a reorg)?"""
        try:
            self.rpc(lambda: self.w3.eth.get_transaction_receipt(HexBytes(tx_hash)))
            return True
        except TransactionNotFound:
            return False

    def has_code(self, address: str) -> bool:
        """Is a contract deployed at `address`?"""
        return len(self.rpc(lambda: self.w3.eth.get_code(Web3.to_checksum_address(address)))) > 0

    def rpc(self, fn: Any) -> Any:
        """Run `fn` (a web3 call); connection failures become ChainUnavailable."""
        try:
            return fn()
        except (requests.ConnectionError, requests.Timeout, ConnectionError) as exc:
            raise ChainUnavailable(f"chain at {self.rpc_url} is unavailable: {exc}") from exc

    def call(self, fn: ContractFunction, block: BlockIdentifier = "latest") -> Any:
        """Run a view function at `block` ("pending": on top of the transactions the node holds unmined);
        reverts become ContractRevert."""
        try:
            return self.rpc(lambda: fn.call(block_identifier=block))
        except ContractLogicError as exc:
            raise self.decoder.decode(exc.data) from None

    def transact(self, sender: LocalAccount, fn: ContractFunction | ContractConstructor | None = None, *,
                 to: str | None = None, value: int = 0, event_address: str | None = None, gas: int | None = None,
                 ) -> Receipt:
        """Sign and send `fn` (or a plain value transfer) from `sender`; wait for the receipt.

        Gas is estimated first, so a revert is raised as ContractRevert before anything is sent. When the
        node refuses the nonce (the same key sent a transaction outside this client), the pending nonce
        is re-read and the transaction sent again, a few times; then ChainUnavailable (retry later). A given
        `gas` is used as is (no estimate).
        """
        sent = self.send(sender, fn, to=to, value=value, gas=gas)
        return self.wait_sent(sent, event_address or getattr(fn, "address", None))

    def send(self, sender: LocalAccount, fn: ContractFunction | ContractConstructor | None = None, *,
             to: str | None = None, value: int = 0, gas: int | None = None) -> Sent:
        """`transact` without waiting: several independent transactions sent this way land in one block on a
        chain with a block time; `wait_sent` each."""
        with self._lock_for(sender.address):
            for attempt in range(NONCE_ATTEMPTS):
                try:
                    return self._sign_and_send(sender, fn, to, value, gas)
                except NonceDrift as exc:
                    # The key sent a transaction outside this client (another API worker): re-read the pending
                    # nonce and send again; after a few collisions, retry later (the job stays queued).
                    self._nonces.pop(sender.address, None)
                    if attempt == NONCE_ATTEMPTS - 1:
                        raise ChainUnavailable(f"nonce of {sender.address} still out of step after re-reading "
                                               f"it {NONCE_ATTEMPTS} times: {exc}") from exc
        raise AssertionError("unreachable")

    def wait_sent(self, sent: Sent, event_address: str | None = None) -> Receipt:
        """The receipt of a transaction `send` sent; its sender's nonce is re-read when none comes."""
        try:
            return self.wait(sent.tx_hash, event_address)
        except ChainUnavailable:
            self.forget_nonce(sent.sender)
            raise

    def _sign_and_send(self, sender: LocalAccount, fn: ContractFunction | ContractConstructor | None,
                       to: str | None, value: int, gas: int | None = None) -> Sent:
        """Build, sign and send at the next nonce (the caller holds the sender's lock); NonceDrift when the
        node refuses the nonce, ChainError for any other refusal."""
        nonce = self._next_nonce(sender.address)
        tx: dict[str, Any] = {"from": sender.address, "nonce": nonce, "chainId": self.chain_id}
        if gas is not None:
            tx["gas"] = gas
        try:
            if fn is not None:
                tx.update(self._legacy_fee())
                built = self.rpc(lambda: fn.build_transaction(tx))  # type: ignore[arg-type]
            else:
                built = {**tx, "to": to, "value": value, "gas": 21000,
                         "gasPrice": self.rpc(lambda: self.w3.eth.gas_price)}
                built.pop("from")
            signed = sender.sign_transaction(built)
            tx_hash: HexBytes = self.rpc(lambda: self.w3.eth.send_raw_transaction(signed.raw_transaction))
        except ContractLogicError as exc:
            raise self.decoder.decode(exc.data) from None
        except Web3RPCError as exc:
            self._nonces.pop(sender.address, None)
            if any(sign in str(exc).lower() for sign in NONCE_ERRORS):
                raise NonceDrift(str(exc)) from exc
            raise ChainError(str(exc)) from exc
        except ChainUnavailable:
            self._nonces.pop(sender.address, None)
            raise
        self._nonces[sender.address] = nonce + 1
        return Sent(tx_hash, sender.address, nonce)

    def _legacy_fee(self) -> dict[str, int]:
        """`gasPrice` on a chain whose blocks carry no base fee (before London, as some consortium chains run),
        where web3's default EIP-1559 fees cannot be filled; nothing (EIP-1559 fees) otherwise."""
        if self._legacy_fees is None:
            self._legacy_fees = self.rpc(lambda: self.w3.eth.get_block("latest")).get("baseFeePerGas") is None
        return {"gasPrice": int(self.rpc(lambda: self.w3.eth.gas_price))} if self._legacy_fees else {}

    def wait(self, tx_hash: HexBytes | str, event_address: str | None = None) -> Receipt:
        """Wait for a receipt; `log_index` is that of the first log emitted by `event_address`."""
        rcpt = self._receipt(HexBytes(tx_hash))
        if rcpt["status"] != 1:
            raise ChainError(f"transaction {HexBytes(tx_hash).to_0x_hex()} reverted")
        logs = list(rcpt["logs"])
        own = [lg for lg in logs if event_address is None or lg["address"] == event_address]
        return Receipt(
            tx_hash=HexBytes(rcpt["transactionHash"]).to_0x_hex(),
            block_number=int(rcpt["blockNumber"]),
            log_index=int(own[-1]["logIndex"]) if own else None,
            gas_used=int(rcpt["gasUsed"]),
            logs=logs,
        )

    def _receipt(self, tx_hash: HexBytes) -> Any:
        """Poll for the receipt, the pause doubling from 5 ms to RECEIPT_POLL_MAX_S: an instantly mined
        transaction is seen at once, one waiting for its block costs a few requests a second, not a hundred."""
        deadline, pause = time.monotonic() + self.receipt_timeout, RECEIPT_POLL_FIRST_S
        while True:
            try:
                return self.rpc(lambda: self.w3.eth.get_transaction_receipt(tx_hash))
            except TransactionNotFound:
                if time.monotonic() >= deadline:
                    raise ChainUnavailable(f"no receipt for {tx_hash.to_0x_hex()} after "
                                           f"{self.receipt_timeout} s") from None
                time.sleep(pause)
                pause = min(pause * 2, RECEIPT_POLL_MAX_S)

    def fund(self, sender: LocalAccount, to: str, wei: int) -> Receipt:
        """Send native currency for gas."""
        return self.transact(sender, to=to, value=wei)

    def balance(self, address: str) -> int:
        return int(self.rpc(lambda: self.w3.eth.get_balance(Web3.to_checksum_address(address))))

    def forget_nonces(self) -> None:
        """Re-read every account's nonce before its next transaction (the chain lost blocks)."""
        self._nonces.clear()

    def forget_nonce(self, address: str) -> None:
        """Re-read the account's nonce from the chain before its next transaction (after a reorg)."""
        self._nonces.pop(address, None)

    def _lock_for(self, address: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(address, threading.Lock())

    def _next_nonce(self, address: str) -> int:
        if address not in self._nonces:
            self._nonces[address] = int(self.rpc(
                lambda: self.w3.eth.get_transaction_count(Web3.to_checksum_address(address), "pending")))
        return self._nonces[address]


def account_from_key(private_key: str) -> LocalAccount:
    """A signing account from a hex private key."""
    acct: LocalAccount = Account.from_key(private_key)
    return acct
