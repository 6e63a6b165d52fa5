"""Sending chain-enforced facts: custodial signing, one action table, receipts beside the rows.

Each chain write is a `ChainTx` row with an action name and a JSON payload. When the chain answers,
the transaction is sent at once and its receipt stored on the row and the subject; when it does
not (or older jobs are still queued), the job stays `pending` and `registry.outbox.drain` sends it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlmodel import Session, SQLModel, col, select

from ledger.client import Receipt
from ledger.contracts import (
    AUTHORITY_ROLE,
    EXCHANGE_ROLE,
    OPERATOR_ROLE,
    Ledger,
)
from ledger.contracts import (
    Classification as ChainClassification,
)
from ledger.contracts import (
    ProductStatus as ChainStatus,
)
from ledger.errors import ChainUnavailable, ContractRevert
from ledger.ids import chain_id_of
from ledger.keys import Keyring
from registry.errors import ChainRejected, NotFound
from registry.hashing import b32
from registry.models import (
    Account,
    Authorization,
    Certificate,
    ChainFields,
    ChainState,
    ChainTx,
    Product,
    Resource,
    Role,
)

CLASSIFICATION_LEVEL = {"general": ChainClassification.GENERAL, "important": ChainClassification.IMPORTANT,
                        "core": ChainClassification.CORE}

# Database product status -> the status the chain holds for it.
CHAIN_STATUS: dict[str, ChainStatus | None] = {
    "draft": None, "submitted": ChainStatus.REGISTERED, "under_review": ChainStatus.REGISTERED,
    "listed": ChainStatus.LISTED, "rejected": ChainStatus.DELISTED,
    "suspended": ChainStatus.SUSPENDED, "delisted": ChainStatus.DELISTED,
}

SUBJECTS: dict[str, type[SQLModel]] = {
    "account": Account, "resource": Resource, "authorization": Authorization, "product": Product,
}


@dataclass
class ChainGateway:
    """The Ledger facade plus the custodial keyring and the deployer (funds dev accounts)."""

    ledger: Ledger
    keyring: Keyring
    deployer: LocalAccount
    fund_wei: int = 10**18

    def signer(self, session: Session, account_id: str) -> LocalAccount:
        account = session.exec(select(Account).where(Account.id == account_id)).first()
        if account is None:
            raise NotFound(f"account {account_id} not found")
        return self.keyring.open(account.keyfile)


Action = Callable[[ChainGateway, Session, dict[str, Any]], Receipt]


def _account_setup(gw: ChainGateway, session: Session, p: dict[str, Any]) -> Receipt | None:
    acct = session.exec(select(Account).where(Account.id == p["account_id"])).one()
    last: Receipt | None = None
    if gw.fund_wei and gw.ledger.client.balance(acct.address) < gw.fund_wei // 2:
        last = gw.ledger.client.fund(gw.deployer, acct.address, gw.fund_wei)
    grants = {Role.AUTHORITY: AUTHORITY_ROLE, Role.EXCHANGE: EXCHANGE_ROLE}
    role = grants.get(Role(acct.role))
    if role is not None:
        for contract in ("DataRegistry", "Settlement"):
            if not gw.ledger.has_role(contract, role, acct.address):
                last = gw.ledger.grant_role(gw.deployer, contract, role, acct.address)
    return last


def _resource_register(gw: ChainGateway, session: Session, p: dict[str, Any]) -> Receipt:
    return gw.ledger.register_resource(
        gw.signer(session, p["authority_id"]), p["resource_id"], CLASSIFICATION_LEVEL[p["classification"]],
        b32(p["content_hash"]), b32(p["metadata_hash"]))


def _authorization_grant(gw: ChainGateway, session: Session, p: dict[str, Any]) -> Receipt:
    authority = gw.signer(session, p["authority_id"])
    operator = session.exec(select(Account).where(Account.id == p["operator_id"])).one()
    if not gw.ledger.has_role("DataRegistry", OPERATOR_ROLE, operator.address):
        gw.ledger.grant_role(authority, "DataRegistry", OPERATOR_ROLE, operator.address)
    return gw.ledger.grant_authorization(
        authority, p["authorization_id"], operator.address, p["resource_ids"], b32(p["purpose_hash"]),
        p["valid_from"], p["valid_until"], CLASSIFICATION_LEVEL[p["max_classification"]])


def _authorization_revoke(gw: ChainGateway, session: Session, p: dict[str, Any]) -> Receipt:
    return gw.ledger.revoke_authorization(gw.signer(session, p["authority_id"]), p["authorization_id"],
                                          b32(p["reason_hash"]))


def _product_register(gw: ChainGateway, session: Session, p: dict[str, Any]) -> Receipt:
    return gw.ledger.register_product(
        gw.signer(session, p["operator_id"]), p["product_id"], p["authorization_id"], p["resource_ids"],
        b32(p["metadata_hash"]), p["sector"])


def _product_metadata(gw: ChainGateway, session: Session, p: dict[str, Any]) -> Receipt:
    return gw.ledger.update_product_metadata(gw.signer(session, p["operator_id"]), p["product_id"],
                                             b32(p["metadata_hash"]))


def _product_status(gw: ChainGateway, session: Session, p: dict[str, Any]) -> Receipt:
    return gw.ledger.set_product_status(gw.signer(session, p["exchange_id"]), p["product_id"],
                                        ChainStatus(p["status"]), b32(p["reason_hash"]))


def _product_suspend_unauthorized(gw: ChainGateway, session: Session, p: dict[str, Any]) -> Receipt:
    return gw.ledger.suspend_unauthorized(gw.signer(session, p["signer_id"]), p["product_id"])


ACTIONS: dict[str, Callable[[ChainGateway, Session, dict[str, Any]], Receipt | None]] = {
    "account.setup": _account_setup,
    "resource.register": _resource_register,
    "authorization.grant": _authorization_grant,
    "authorization.revoke": _authorization_revoke,
    "product.register": _product_register,
    "product.metadata": _product_metadata,
    "product.status": _product_status,
    "product.suspend_unauthorized": _product_suspend_unauthorized,
}


def has_pending(session: Session) -> bool:
    stmt = select(ChainTx.pk).where(ChainTx.state == ChainState.PENDING).limit(1)
    return session.exec(stmt).first() is not None


def apply_result(session: Session, tx: ChainTx) -> None:
    """Copy the job's state and receipt onto its subject row (and certificate, when listing)."""
    rows: list[ChainFields] = []
    model = SUBJECTS.get(tx.subject_type)
    if model is not None:
        row = session.exec(select(model).where(model.id == tx.subject_id)).first()  # type: ignore[attr-defined]
        if row is not None:
            rows.append(row)  # type: ignore[arg-type]
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
            receipt = ACTIONS[action](gateway, session, payload)
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


def chain_status_of(db_status: str) -> ChainStatus | None:
    return CHAIN_STATUS[db_status]


def latest_tx(session: Session, subject_id: str) -> ChainTx | None:
    stmt = select(ChainTx).where(ChainTx.subject_id == subject_id).order_by(col(ChainTx.pk).desc())
    return session.exec(stmt).first()


__all__ = ["ACTIONS", "CHAIN_STATUS", "ChainGateway", "apply_result", "chain_id_of", "submit"]

import registry.trading.chain_jobs  # noqa: E402,F401  (registers the trading jobs in ACTIONS/SUBJECTS)
