"""Use categories (价格形成机制): public-governance and public-welfare use (公共治理、公益事业) is free of charge,
industrial and commercial use pays.

The authority names the accounts that may take free public-welfare licenses (`Settlement.setPublicWelfareUser`,
signed with its own key) and can withdraw that at any time; a named buyer declares the use on its order, the
license terms (whose hash is on chain) record it with the declared purpose, and `Settlement.buyPublicWelfareLicense`
refuses anyone the chain has not named (`NotPublicWelfareUser`). The authority audits them with
`GET /licenses?use=public_welfare`: who, which product, which purpose, and the list price forgone.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from ledger.records import append_record
from registry.actor import Actor
from registry.chain import ChainGateway, submit
from registry.errors import InvalidInput, RuleViolation
from registry.models import Account, Role
from registry.trading.models import PublicWelfareUser, Use
from registry.trading.offers import receipt_of
from registry.trading.schemas import OrderIn, PublicWelfareUserIn, PublicWelfareUserOut


def set_public_welfare_user(session: Session, gateway: ChainGateway, actor: Actor,
                            data: PublicWelfareUserIn) -> PublicWelfareUser:
    """The authority names a buyer account for public-welfare use, or stops naming it."""
    actor.require(Role.AUTHORITY)
    account = session.exec(select(Account).where(Account.id == data.account_id)).first()
    if account is None or account.role != Role.BUYER:
        raise InvalidInput("account_id", f"{data.account_id} is not a buyer account")
    row = session.exec(select(PublicWelfareUser).where(PublicWelfareUser.id == account.id)).first()
    if row is None:
        row = PublicWelfareUser(id=account.id, address=account.address.lower(), eligible=data.eligible,
                                reason=data.reason, authority_id=actor.id)
    row.eligible, row.reason, row.authority_id = data.eligible, data.reason, actor.id
    row.updated_at = datetime.now(UTC)
    session.add(row)
    session.flush()
    tx = submit(session, gateway, subject_type="public_welfare_user", subject_id=account.id,
                action="public_welfare.set", payload={"address": row.address, "eligible": data.eligible})
    row.chain_state, row.tx_hash, row.block_number, row.log_index = (tx.state, tx.tx_hash, tx.block_number,
                                                                     tx.log_index)
    append_record(session, kind="public_welfare.set", actor=actor.id, subject=account.id,
                  data={"address": row.address, "eligible": data.eligible, "reason": data.reason})
    return row


def list_public_welfare_users(session: Session) -> list[PublicWelfareUser]:
    return list(session.exec(select(PublicWelfareUser).order_by(col(PublicWelfareUser.pk))).all())


def check_use(session: Session, actor: Actor, data: OrderIn) -> None:
    """A public-welfare order: the chain's `NotPublicWelfareUser` unless the authority has named the buyer (and
    the naming is on chain), and no voucher (nothing is paid)."""
    if data.use != Use.PUBLIC_WELFARE:
        return
    row = session.exec(select(PublicWelfareUser).where(PublicWelfareUser.id == actor.id)).first()
    if row is None or not row.eligible or row.chain_state != "confirmed":
        raise RuleViolation("NotPublicWelfareUser", buyer=actor.address,
                            detail="the authority has not named this account for public-welfare use")
    if data.voucher_id is not None or data.voucher_amount_fen:
        raise InvalidInput("voucher_id", "a public-welfare license is free of charge: no voucher")


def public_welfare_view(row: PublicWelfareUser) -> PublicWelfareUserOut:
    return PublicWelfareUserOut(account_id=row.id, address=row.address, eligible=row.eligible, reason=row.reason,
                                authority_id=row.authority_id, updated_at=row.updated_at, chain=receipt_of(row))
