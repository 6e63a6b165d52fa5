"""Signed acts relayed through the trusted forwarder (OpenZeppelin ERC2771Forwarder, EIP-712).

A participant signs a `ForwardRequest` (from, to, value=0, gas, nonce, deadline, data) under the
forwarder's EIP-712 domain; the exchange's relayer sends it with its own key and pays the gas; the
target contract (ERC2771Context) sees the signer as `_msgSender()`, so role checks and events name
the participant, never the relayer. Building, signing and recovering are pure functions here;
`Relayer` is the part that talks to the chain.

Why `executeBatch([request], refundReceiver)` and not `execute(request)`: with `execute`, a failing
inner call reverts the whole transaction and leaves the nonce unused, so the signed request stays
valid until its deadline. Whoever holds it (the relayer, anyone who saw it in the mempool) could then
send it later, when balances or statuses have changed, and the signer's later requests, signed
with higher nonces, are stuck behind it. A non-atomic batch (a refund receiver set) consumes the nonce
even when the inner call fails, so a failed act is final. The forwarder's `ExecutedForwardRequest`
event says whether the call succeeded. The price: a non-atomic batch silently skips a request that
is invalid at inclusion (bad signature, expired, untrusted target) without consuming its nonce, and
it reports a failed inner call only as `success = false`. So `Relayer.relay` checks first:
- the nonce in Python (replayed or out of order);
- `execute` by `eth_call`, which names the forwarder's own refusals
  (`ERC2771ForwarderInvalidSigner`, `ERC2771ForwarderExpiredRequest`, ...);
- the inner call by `eth_call` from the forwarder with the signer appended, which names the
  contract's rule (`AccessControlUnauthorizedAccount`, `NotProductOperator`, ...) where the forwarder
  would only say `FailedCall`.

After sending, it reads the event: a skipped request or a failed call is an error, never a silent
success.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.types import BlockIdentifier

from ledger.client import Receipt
from ledger.contracts import Act, Ledger
from ledger.errors import ContractRevert

FORWARD_REQUEST_FIELDS: list[dict[str, str]] = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "gas", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint48"},
    {"name": "data", "type": "bytes"},
]
EIP712_DOMAIN_FIELDS: list[dict[str, str]] = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
FORWARDER_NAME = "ProvexForwarder"  # contracts/ProvexForwarder.sol's EIP-712 name
DEFAULT_TTL = 300  # seconds a signed request stays valid
FALLBACK_GAS = 1_000_000  # inner gas for a request that cannot be simulated before earlier ones land


# Refusals by the forwarder itself (the request never reaches its target; its nonce stays unused).
FORWARDER_REFUSALS = frozenset({"ForwardRequestNonceUsed", "ForwardRequestNonceAhead", "ERC2771ForwarderInvalidSigner",
                                "ERC2771ForwarderExpiredRequest", "ERC2771UntrustfulTarget"})


class ForwardRequestRefused(ContractRevert):
    """Refused before sending (nonce replayed or ahead) or found not executed afterwards.

    A ContractRevert, so callers handle it like the chain's own rule refusals.
    """


@dataclass(frozen=True)
class ForwarderDomain:
    """The forwarder's EIP-712 domain."""

    name: str
    version: str
    chain_id: int
    verifying_contract: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "chainId": self.chain_id,
                "verifyingContract": self.verifying_contract}


@dataclass(frozen=True)
class ForwardRequest:
    """What the participant signs: `data` is the calldata of one act on contract `to`."""

    sender: str
    to: str
    value: int
    gas: int
    nonce: int
    deadline: int
    data: bytes

    def message(self) -> dict[str, Any]:
        return {"from": self.sender, "to": self.to, "value": self.value, "gas": self.gas,
                "nonce": self.nonce, "deadline": self.deadline, "data": self.data}

    def typed_data(self, domain: ForwarderDomain) -> dict[str, Any]:
        """The full EIP-712 message (what a wallet shows and signs)."""
        return {"types": {"EIP712Domain": EIP712_DOMAIN_FIELDS, "ForwardRequest": FORWARD_REQUEST_FIELDS},
                "primaryType": "ForwardRequest", "domain": domain.as_dict(), "message": self.message()}


@dataclass(frozen=True)
class SignedRequest:
    request: ForwardRequest
    signature: bytes

    def as_struct(self) -> tuple[str, str, int, int, int, bytes, bytes]:
        """The forwarder's `ForwardRequestData` (no nonce: the forwarder uses the signer's current one)."""
        r = self.request
        return (r.sender, r.to, r.value, r.gas, r.deadline, r.data, self.signature)


def build_request(sender: str, act: Act, *, nonce: int, gas: int, deadline: int) -> ForwardRequest:
    """The request for `act` signed by `sender` (no value: no Provex act takes ether)."""
    return ForwardRequest(Web3.to_checksum_address(sender), Web3.to_checksum_address(act.to), 0, gas, nonce,
                          deadline, act.data)


def sign_request(account: LocalAccount, request: ForwardRequest, domain: ForwarderDomain) -> SignedRequest:
    """The participant's EIP-712 signature over `request`."""
    signed = account.sign_typed_data(domain.as_dict(), {"ForwardRequest": FORWARD_REQUEST_FIELDS},
                                     request.message())
    return SignedRequest(request, bytes(signed.signature))


def recover_signer(signed: SignedRequest, domain: ForwarderDomain) -> str:
    """Who signed the request (compare with `request.sender`)."""
    message = encode_typed_data(full_message=signed.request.typed_data(domain))
    return str(Account.recover_message(message, signature=signed.signature))


class Relayer:
    """Prepares requests for participants to sign and relays them with the relayer's own key."""

    def __init__(self, ledger: Ledger, relayer: LocalAccount, *, ttl: int = DEFAULT_TTL,
                 gas_margin: float = 1.2) -> None:
        self.ledger = ledger
        self.client = ledger.client
        self.account = relayer
        self.forwarder = ledger.forwarder
        self.ttl = ttl
        self.gas_margin = gas_margin
        self._domain: ForwarderDomain | None = None

    @property
    def domain(self) -> ForwarderDomain:
        """The forwarder's EIP-712 domain, known from the deployment (no chain call: the outbox signs and
        checks requests while the chain is down). `check_domain` compares it with the contract's own."""
        if self._domain is None:
            self._domain = ForwarderDomain(FORWARDER_NAME, "1", self.ledger.deployment.chain_id, self.forwarder.address)
        return self._domain

    def check_domain(self) -> None:
        """Raise unless the forwarder's own ERC-5267 `eip712Domain` is the one this relayer signs for."""
        _, name, version, chain_id, contract, _, _ = self.client.call(self.forwarder.functions.eip712Domain())
        actual = ForwarderDomain(str(name), str(version), int(chain_id), str(contract))
        if actual != self.domain:
            raise ValueError(f"the forwarder's EIP-712 domain is {actual}, not {self.domain}")

    def nonce(self, signer: str, block: BlockIdentifier = "latest") -> int:
        """The nonce the forwarder expects next from `signer` (at `block`)."""
        return int(self.client.call(self.forwarder.functions.nonces(signer), block))

    def prepare(self, signer: str, act: Act, *, pending: int = 0, deadline: int | None = None,
                gas: int | None = None) -> ForwardRequest:
        """The request for `signer` to sign. `pending` counts the signer's requests signed but not yet
        relayed (their nonces come first). Gas comes from simulating the act as the signer; a revert
        is raised now, by name, unless earlier pending requests may change the outcome."""
        nonce = self.nonce(signer) + pending
        if gas is None:
            try:
                gas = int(self.inner_gas(signer, act.to, act.data) * self.gas_margin)
            except ContractRevert:
                if pending == 0:
                    raise
                gas = FALLBACK_GAS
        if deadline is None:
            deadline = self.now() + self.ttl
        return build_request(signer, act, nonce=nonce, gas=gas, deadline=deadline)

    def sign(self, account: LocalAccount, request: ForwardRequest) -> SignedRequest:
        return sign_request(account, request, self.domain)

    def check(self, signed: SignedRequest) -> None:
        """Raise, by name, what would stop `signed` from executing if it were sent now.

        Judged on the pending state: a signer's earlier request that was sent but is not mined yet (a chain
        sealing blocks on a timer) comes before this one, since the relayer's own transactions execute in the
        order it sent them."""
        r = signed.request
        current = self.nonce(r.sender, "pending")
        if r.nonce < current:
            raise ForwardRequestRefused("ForwardRequestNonceUsed", {"signer": r.sender, "nonce": r.nonce,
                                                                    "current": current})
        if r.nonce > current:
            raise ForwardRequestRefused("ForwardRequestNonceAhead", {"signer": r.sender, "nonce": r.nonce,
                                                                     "current": current})
        try:
            self.client.call(self.forwarder.functions.execute(signed.as_struct()), "pending")
        except ContractRevert as exc:
            if exc.name != "FailedCall":
                raise
            self._simulate_inner(r, "pending")  # names the contract's own rule
            raise

    def relay(self, signed: SignedRequest, act: Act | None = None, *, burn_on_refusal: bool = False) -> Receipt:
        """Check, then send `signed` as a one-request non-atomic batch (a failed act still uses its nonce).

        The receipt's `log_index` points at `act`'s event when given, else at the forwarder's. With
        `burn_on_refusal`, a request the target contract refuses is sent anyway, so its nonce is used and
        the signer's later requests are not stuck behind it (the outbox's way: every signed request is sent
        once, in nonce order); the refusal is raised after.
        """
        try:
            self.check(signed)
        except ContractRevert as exc:
            if not burn_on_refusal or exc.name in FORWARDER_REFUSALS:
                raise
            self._send(signed)
            raise
        receipt = self._send(signed)
        executed = self._executed(receipt, signed.request)
        if executed is None:
            raise ForwardRequestRefused("ForwardRequestNotExecuted", {
                "signer": signed.request.sender, "nonce": signed.request.nonce, "tx": receipt.tx_hash})
        if not executed:
            self._simulate_inner(signed.request, block=receipt.block_number - 1)
            raise ForwardRequestRefused("ForwardedCallFailed", {
                "signer": signed.request.sender, "nonce": signed.request.nonce, "tx": receipt.tx_hash})
        return self.ledger.with_event_index(receipt, act) if act is not None else receipt

    def executed(self, signer: str, nonce: int, act: Act | None = None) -> tuple[Receipt, bool] | None:
        """The receipt of the transaction that executed (`signer`, `nonce`) (pointing at `act`'s event when
        given) and whether its call succeeded; None when no transaction did."""
        for ev in self.ledger.find_events("ProvexForwarder", "ExecutedForwardRequest", signer=signer):
            if int(ev.args["nonce"]) == nonce:
                receipt = ev.receipt() if act is None else self.ledger.with_event_index(self._full(ev.tx_hash), act)
                return receipt, bool(ev.args["success"])
        return None

    # ----------------------------------------------------------------- internals

    def _full(self, tx_hash: str) -> Receipt:
        full = self.client.rpc(lambda: self.client.w3.eth.get_transaction_receipt(tx_hash))  # type: ignore[arg-type]
        return Receipt(tx_hash, int(full["blockNumber"]), None, int(full["gasUsed"]), [dict(lg) for lg in full["logs"]])

    def _send(self, signed: SignedRequest) -> Receipt:
        """Send the batch with gas estimated on the pending state, where the signer's earlier requests (sent,
        not mined) have run: estimated on the mined state, the forwarder would skip this one as ahead and the
        estimate would leave its call no gas."""
        batch = self.forwarder.functions.executeBatch([signed.as_struct()], self.account.address)
        try:
            gas = int(self.client.rpc(lambda: batch.estimate_gas({"from": self.account.address}, "pending")))
        except ContractLogicError as exc:
            raise self.client.decoder.decode(exc.data) from None
        return self.client.transact(self.account, batch, gas=gas)

    def now(self) -> int:
        """The latest block's timestamp."""
        return int(self.client.rpc(lambda: self.client.w3.eth.get_block("latest"))["timestamp"])

    def _forwarded_tx(self, signer: str, to: str, data: bytes) -> dict[str, Any]:
        return {"from": self.forwarder.address, "to": Web3.to_checksum_address(to),
                "data": HexBytes(data + bytes.fromhex(signer[2:]))}

    def inner_gas(self, signer: str, to: str, data: bytes) -> int:
        tx = self._forwarded_tx(signer, to, data)
        try:
            return int(self.client.rpc(lambda: self.client.w3.eth.estimate_gas(tx)))  # type: ignore[arg-type]
        except ContractLogicError as exc:
            raise self.client.decoder.decode(exc.data) from None

    def _simulate_inner(self, r: ForwardRequest, block: int | str = "latest") -> None:
        """Run the inner call as the forwarder would (signer appended); raise its revert by name."""
        tx = {**self._forwarded_tx(r.sender, r.to, r.data), "gas": r.gas}
        try:
            self.client.rpc(lambda: self.client.w3.eth.call(tx, block))  # type: ignore[arg-type]
        except ContractLogicError as exc:
            raise self.client.decoder.decode(exc.data) from None

    def _executed(self, receipt: Receipt, r: ForwardRequest) -> bool | None:
        """The `success` of the forwarder's event for this request, None when it was skipped."""
        event = self.forwarder.events.ExecutedForwardRequest()
        for log in receipt.logs:
            if log["address"] != self.forwarder.address:
                continue
            try:
                decoded = event.process_log(log)
            except Exception:  # another event of the forwarder's
                continue
            if decoded["args"]["signer"] == r.sender and int(decoded["args"]["nonce"]) == r.nonce:
                return bool(decoded["args"]["success"])
        return None
