"""Sending chain-enforced facts: custodial signing, receipts beside the rows.

Each chain write is a `ChainTx` row with an action name and a JSON payload. When the chain answers,
the transaction is sent at once and its receipt stored on the row and the subject; when it does
not (or older jobs are still queued), the job stays `pending` and `registry.outbox.drain` sends it.
The gateway carries the table of actions (`registry.jobs` assembles it); a row that carries a receipt
names its subject type in `chain_subject`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlmodel import Session, select

from ledger.client import Receipt
from ledger.contracts import Ledger
from ledger.errors import ChainUnavailable, ContractRevert
from ledger.keys import Keyring
from registry.errors import ChainRejected, ChainUnavailableError, found
from registry.models import Account, Certificate, ChainFields, ChainState, ChainTx

Action = Callable[["ChainGateway", Session, dict[str, Any]], Receipt | None]


@dataclass
class ChainGateway:
    """The Ledger facade, the table of chain actions, the custodial keyring, the deployer (pays dev accounts'
    gas; it holds no role) and governance when this process holds its key (dev: the first authority's).

    Governance grants the authority and exchange roles and, in dev, mints test fen; without it (production,
    where governance is a multisig or TimelockController) those grants are made by governance itself.
    """

    ledger: Ledger
    keyring: Keyring
    deployer: LocalAccount
    actions: Mapping[str, Action]
    fund_wei: int = 10**18
    governance: LocalAccount | None = None

    def signer(self, session: Session, account_id: str) -> LocalAccount:
        keyfile = session.exec(select(Account.keyfile).where(Account.id == account_id)).first()
        return self.keyring.open(found(keyfile, f"account {account_id}"))


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
           action: str, payload: dict[str, Any]) -> ChainTx:
    """Send now (receipt stored) or queue (`pending`); a revert raises ChainRejected, nothing queued.

    A job is queued when `gateway` is None (e.g. the CLI), when the chain does not answer, or when
    older jobs are still pending (chain order follows database order).
    """
    tx = ChainTx(subject_type=subject_type, subject_id=subject_id, action=action, payload=payload)
    if gateway is not None and not has_pending(session):
        try:
            receipt = gateway.actions[action](gateway, session, payload)
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
