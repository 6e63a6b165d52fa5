"""Sending chain-enforced facts: participants' signed acts relayed, receipts beside the rows.

Each chain write is a `ChainTx` row with an action name and a JSON payload. When the chain answers,
the transaction is sent at once and its receipt stored on the row and the subject; when it does
not (or older jobs are still queued), the job stays `pending` and `registry.outbox.drain` sends it.
The gateway carries the table of actions (`registry.jobs` assembles it); a row that carries a receipt
names its subject type in `chain_subject`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlmodel import Session, select

from ledger.acts import Act
from ledger.client import Receipt
from ledger.contracts import Ledger
from ledger.errors import ChainUnavailable, ContractRevert
from ledger.forwarder import FALLBACK_GAS, ForwardRequest, Relayer, build_request
from registry.errors import ChainRejected, ChainUnavailableError, Forbidden, Unauthenticated
from registry.models import Certificate, ChainFields, ChainState, ChainTx
from registry.signing import OUTBOX_TTL_S, check_signed, entry_of, scope_of, signed_of, stored_next_nonce

Action = Callable[["ChainGateway", Session, dict[str, Any]], Receipt | None]  # the exchange's own job
Planner = Callable[["ChainGateway", Session, dict[str, Any]], list[Act]]  # a participant's acts, to sign
Runner = Callable[["ChainGateway", Session, ChainTx], Receipt | None]  # sends a job whose acts are signed


@dataclass
class ChainGateway:
    """The Ledger facade and the exchange's own chain keys; no participant's key.

    - `relayer` relays participants' signed acts through the forwarder and pays their gas;
    - `house` is the exchange's own key for the acts it makes on its own account (a refund a buyer
      asked for); None when the deployment gives it none;
    - `deployer` pays dev accounts' gas; `governance` is held only in dev when no outside governance is
      set (it grants the authority and exchange roles); `minter` mints dev test fen.
    `plans` build each action's acts, `actions` are the exchange's own jobs, `runners` send signed jobs
    whose sending needs more than relaying (a purchase also records the license).
    """

    ledger: Ledger
    relayer: Relayer
    deployer: LocalAccount
    plans: Mapping[str, Planner]
    actions: Mapping[str, Action]
    runners: Mapping[str, Runner]
    house: LocalAccount | None = None
    fund_wei: int = 10**18
    governance: LocalAccount | None = None
    minter: LocalAccount | None = None


def chain_time(gateway: ChainGateway) -> int:
    """The time the contract will judge a transaction sent now by (`ChainClient.chain_time` gives the rule
    and why); ChainUnavailableError (503) when the chain does not answer."""
    try:
        return gateway.ledger.client.chain_time()
    except ChainUnavailable as exc:
        raise ChainUnavailableError(f"this rule is judged in chain time and the chain is unreachable: {exc}") from exc


def catch_up(gateway: ChainGateway, timestamp: int) -> None:
    """Before a "not before `timestamp`" act whose time has come by the clock: make the chain's latest block
    reach it, so the act is judged as the next block will judge it (no spurious revert). A dev chain mines
    a block; on a real chain, where the next block comes anyway, ChainUnavailableError (503, Retry-After)."""
    try:
        caught_up = gateway.ledger.client.catch_up(timestamp)
    except ChainUnavailable as exc:
        raise ChainUnavailableError(f"the chain is unreachable: {exc}") from exc
    if not caught_up:
        raise ChainUnavailableError(f"the time {timestamp} has passed but the chain's latest block is older; "
                                    "the next block will carry it: retry shortly")


def _subject_models(base: type[ChainFields] = ChainFields) -> Iterator[type[ChainFields]]:
    for cls in base.__subclasses__():
        if getattr(cls, "chain_subject", None):
            yield cls
        yield from _subject_models(cls)


def subject_model(subject_type: str) -> type[ChainFields] | None:
    """The table whose rows carry the latest receipt of `subject_type` jobs."""
    return next((m for m in _subject_models() if m.chain_subject == subject_type), None)


def has_pending(session: Session) -> bool:
    stmt = select(ChainTx.pk).where(ChainTx.state == ChainState.PENDING).limit(1)
    return session.exec(stmt).first() is not None


def apply_result(session: Session, tx: ChainTx) -> None:
    """Copy the job's state and receipt onto its subject row (and certificate, when listing)."""
    rows: list[ChainFields] = []
    model = subject_model(tx.subject_type)
    if model is not None:
        row = session.exec(select(model).where(model.id == tx.subject_id)).first()  # type: ignore[attr-defined]
        if row is not None:
            rows.append(row)
    cert_id = tx.payload.get("certificate_id")
    if cert_id:
        cert = session.exec(select(Certificate).where(Certificate.id == cert_id)).first()
        if cert is not None:
            rows.append(cert)
    for row in rows:
        row.chain_state = tx.state
        if tx.state == ChainState.CONFIRMED:
            row.tx_hash, row.block_number, row.log_index = tx.tx_hash, tx.block_number, tx.log_index
        session.add(row)


def record_receipt(tx: ChainTx, receipt: Receipt | None) -> None:
    tx.state = ChainState.CONFIRMED
    tx.sent_at = datetime.now(UTC)
    tx.attempts += 1
    if receipt is not None:
        tx.tx_hash, tx.block_number, tx.log_index = receipt.tx_hash, receipt.block_number, receipt.log_index


def submit(session: Session, gateway: ChainGateway | None, *, subject_type: str, subject_id: str,
           action: str, payload: dict[str, Any], by_house: bool = False, defer: bool = False) -> ChainTx:
    """Send now (receipt stored) or queue (`pending`); a revert raises ChainRejected, nothing queued.

    A participant's act is signed by the request's signer (`registry.signing`; by the exchange's house key
    with `by_house`); while the signatures are not there yet the job is only collected. A job is queued
    when `gateway` is None (e.g. the CLI), when the chain does not answer, when older jobs are still
    pending (chain order follows database order), or with `defer` (the caller sends it after its commit).
    """
    tx = ChainTx(subject_type=subject_type, subject_id=subject_id, action=action, payload=payload)
    if gateway is not None and action in gateway.plans:
        entries = sign_acts(session, gateway, gateway.plans[action](gateway, session, payload), by_house=by_house)
        if entries is None:
            return tx  # collected for signing; the session will not commit (SignatureRequired)
        tx.payload = {**payload, "forward": entries}
    if gateway is not None and not defer and not has_pending(session):
        try:
            receipt = run_job(gateway, session, tx, burn=False)
        except ContractRevert as exc:
            raise ChainRejected(exc) from exc
        except ChainUnavailable:
            pass
        else:
            record_receipt(tx, receipt)
    session.add(tx)
    session.flush()
    apply_result(session, tx)
    return tx


def sign_acts(session: Session, gateway: ChainGateway, acts: list[Act], *,
              by_house: bool = False) -> list[dict[str, Any]] | None:
    """The acts as signed forward requests to store, or None while they wait for the signer (prepare)."""
    relayer = gateway.relayer
    if by_house:
        house = gateway.house
        if house is None:
            raise Forbidden("this act is the exchange's own and this deployment gives the exchange no key for it: "
                            "an exchange account must make it")
        base = next_nonce(session, gateway, house.address)
        return [entry_of(relayer.sign(house, prepare_request(gateway, house.address, act, base + i, i)), act)
                for i, act in enumerate(acts)]
    scope = scope_of(session)
    if scope is None:
        raise Unauthenticated("a chain act needs its actor's signature: send the request signed (docs/signing.md)")
    base = next_nonce(session, gateway, scope.address)
    if scope.preparing:
        for act in acts:
            offset = len(scope.to_sign)
            request = prepare_request(gateway, scope.address, act, base + offset, offset)
            scope.to_sign.append({"contract": act.contract, "event": act.event,
                                  "typed_data": jsonable(request.typed_data(relayer.domain))})
        return None
    # earlier acts of this request are on chain or stored by now, so `base` counts them already
    return [entry_of(check_signed(scope, relayer.domain, act, base + i), act) for i, act in enumerate(acts)]


def next_nonce(session: Session, gateway: ChainGateway, signer: str) -> int:
    """The forward nonce a new request of `signer` takes: after the forwarder's and after every one the exchange
    holds (queued requests come first). With the chain down, the exchange's own count."""
    try:
        on_chain = gateway.relayer.nonce(signer)
    except ChainUnavailable:
        on_chain = 0
    return max(on_chain, stored_next_nonce(session, signer))


def prepare_request(gateway: ChainGateway, signer: str, act: Act, nonce: int, earlier: int) -> ForwardRequest:
    """The request for `signer` to sign. Its gas comes from simulating it, which also names a rule the act
    breaks now (raised); after `earlier` acts of the same request, or with the chain down, a fixed budget."""
    relayer = gateway.relayer
    gas = FALLBACK_GAS
    try:
        deadline = relayer.now() + OUTBOX_TTL_S
        if earlier == 0:
            gas = int(relayer.inner_gas(signer, act.to, act.data) * relayer.gas_margin)
    except ChainUnavailable:
        deadline = int(time.time()) + OUTBOX_TTL_S
    return build_request(signer, act, nonce=nonce, gas=gas, deadline=deadline)


def jsonable(typed: dict[str, Any]) -> dict[str, Any]:
    """Typed data with its bytes as 0x-hex (what JSON and wallets carry)."""
    message = {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in typed["message"].items()}
    return {**typed, "message": message}


def run_job(gateway: ChainGateway, session: Session, job: ChainTx, *, burn: bool) -> Receipt | None:
    """Send one job: the exchange's own action, a runner, or relay its signed requests in order."""
    if job.action in gateway.actions:
        return gateway.actions[job.action](gateway, session, job.payload)
    if job.action in gateway.runners:
        return gateway.runners[job.action](gateway, session, job)
    return relay_entries(gateway, job, burn=burn)


def relay_entries(gateway: ChainGateway, job: ChainTx, *, burn: bool) -> Receipt | None:
    """Relay the job's signed requests not yet sent, oldest nonce first; the last one's receipt.

    Progress is kept on the job (`done`), so a retry after an outage sends only what is left. A request
    the forwarder says was already used (sent before a crash) is found by its event instead.
    """
    entries = [dict(e) for e in job.payload.get("forward") or ()]
    last: Receipt | None = None
    for entry in entries:
        if entry.get("done"):
            continue
        signed, act = signed_of(entry)
        try:
            last = gateway.relayer.relay(signed, act, burn_on_refusal=burn)
        except ContractRevert as exc:
            if exc.name != "ForwardRequestNonceUsed":
                raise
            earlier = gateway.relayer.executed(signed.request.sender, signed.request.nonce, act)
            if earlier is None or not earlier[1]:
                raise
            last, entry["adopted"] = earlier[0], True
        entry["done"] = True
        job.payload = {**job.payload, "forward": entries}
    if last is None and job.tx_hash:
        return Receipt(job.tx_hash, job.block_number or 0, job.log_index, 0)
    return last
