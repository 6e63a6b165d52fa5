"""Vouchers (算力券/数据券): the authority funds them on chain for a buyer; they pay part of a price.

Every voucher is issued under a programme (`registry.trading.programmes`: budget per year, allow-list, window,
eligible sectors and products, share cap). The contract enforces holder, expiry, sector, amount and the
programme's rules; `check_voucher` applies the same rules early, under the contract's error names, so a refused
purchase writes nothing. Issuing checks the holder the same way: a buyer account, never the zero address (the
contract's `ZeroHolder`: the funds would be locked), on the programme's allow-list, within its budget.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ledger.ids import chain_id_of, hex32
from ledger.records import append_record
from registry.access import own_rows, sees
from registry.actor import Actor
from registry.chain import ChainGateway, catch_up, chain_time, submit
from registry.errors import Conflict, InvalidInput, NotFound, RuleViolation, found
from registry.models import Account, Product, Role
from registry.signing import new_id
from registry.trading.models import Voucher
from registry.trading.offers import receipt_of
from registry.trading.programmes import check_issue, check_redeem
from registry.trading.schemas import VoucherIn, VoucherOut

ZERO_ADDRESS = "0x" + "0" * 40


def issue_voucher(session: Session, gateway: ChainGateway, actor: Actor, data: VoucherIn) -> Voucher:
    """The authority issues a voucher funded from its own token balance."""
    actor.require(Role.AUTHORITY)
    holder = session.exec(select(Account).where(Account.id == data.holder_id)).first()
    if holder is None or holder.role != Role.BUYER:
        raise InvalidInput("holder_id", f"{data.holder_id} is not a buyer account")
    if holder.address.lower() == ZERO_ADDRESS:
        raise InvalidInput("holder_id", f"ZeroHolder: buyer account {holder.id} has the zero address; nobody could "
                                        "redeem the voucher and its funds would be locked")
    expires = int(data.expires_at.timestamp())
    if expires <= time.time():
        raise InvalidInput("expires_at", "must be in the future")
    check_issue(session, data.programme_id, holder, data.amount_fen)
    row = Voucher(id=new_id(session), programme_id=data.programme_id, authority_id=actor.id, holder_id=holder.id,
                  amount_fen=data.amount_fen, expires_at=expires, sectors=list(data.sectors))
    session.add(row)
    session.flush()
    facts = {"programme_id": data.programme_id, "holder_id": holder.id, "amount_fen": row.amount_fen,
             "expires_at": expires, "sectors": row.sectors}
    submit(session, gateway, subject_type="voucher", subject_id=row.id, action="voucher.issue",
           payload={"voucher_id": row.id, "authority_id": actor.id, **facts})
    append_record(session, kind="voucher.issue", actor=actor.id, subject=row.id, data=facts)
    return row


def reclaim_voucher(session: Session, gateway: ChainGateway, actor: Actor, voucher_id: str) -> Voucher:
    """The authority takes back the unspent part of an expired voucher: the fen to its own account, the amount to
    the budget of the programme's year the voucher was issued in (`reclaimVoucher`; VoucherNotExpired before)."""
    actor.require(Role.AUTHORITY)
    row = get_voucher(session, voucher_id)
    if row.chain_state != "confirmed":
        raise Conflict(f"voucher {row.id} is not on chain yet ({row.chain_state})")
    if chain_time(gateway) < row.expires_at:
        raise RuleViolation("VoucherNotExpired", voucherId=hex32(chain_id_of(row.id)), expiry=row.expires_at)
    if row.reclaimed_fen or row.redeemed_fen == row.amount_fen:
        raise Conflict(f"voucher {row.id} has nothing left to reclaim")
    catch_up(gateway, row.expires_at)
    left = row.amount_fen - row.redeemed_fen
    claimed = session.execute(sa.update(Voucher).where(col(Voucher.id) == row.id)
                              .where(col(Voucher.reclaimed_fen) == 0).values(reclaimed_fen=left)
                              .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"voucher {row.id} was reclaimed concurrently")
    session.refresh(row)
    submit(session, gateway, subject_type="voucher", subject_id=row.id, action="voucher.reclaim",
           payload={"voucher_id": row.id})
    append_record(session, kind="voucher.reclaim", actor=actor.id, subject=row.id,
                  data={"programme_id": row.programme_id, "reclaimed_fen": left})
    return row


def get_voucher(session: Session, voucher_id: str) -> Voucher:
    return found(session.exec(select(Voucher).where(Voucher.id == voucher_id)).first(), f"voucher {voucher_id}")


def visible_voucher(session: Session, actor: Actor, voucher_id: str) -> Voucher:
    row = get_voucher(session, voucher_id)
    if not sees(actor, row.holder_id):
        raise NotFound(f"voucher {voucher_id} not found")
    return row


def list_vouchers(session: Session, actor: Actor) -> list[Voucher]:
    return list(session.exec(own_rows(select(Voucher).order_by(col(Voucher.pk)), actor, Voucher.holder_id)).all())


def check_voucher(session: Session, actor: Actor, voucher_id: str, product: Product, amount_fen: int,
                  requested_fen: int | None) -> tuple[Voucher, int]:
    """The voucher rules (NotVoucherHolder, VoucherExpired, VoucherSectorIneligible, the programme's,
    VoucherAboveAmount, VoucherShareExceeded, VoucherExceeded); returns the voucher and how much of `amount_fen`
    it pays."""
    try:
        row = get_voucher(session, voucher_id)
    except NotFound:
        raise InvalidInput("voucher_id", f"unknown voucher {voucher_id}") from None
    vid = hex32(chain_id_of(row.id))
    holder = session.exec(select(Account.address).where(Account.id == row.holder_id)).one()
    if row.holder_id != actor.id:
        raise RuleViolation("NotVoucherHolder", voucherId=vid, holder=holder, caller=actor.address)
    now = int(time.time())
    if now >= row.expires_at:
        raise RuleViolation("VoucherExpired", voucherId=vid, expiry=row.expires_at, nowTs=now)
    if row.sectors and product.sector not in row.sectors:
        raise RuleViolation("VoucherSectorIneligible", voucherId=vid, sector=product.sector)
    if row.chain_state != "confirmed":
        raise Conflict(f"voucher {row.id} is not on chain yet ({row.chain_state})")
    max_share = check_redeem(session, row, product, amount_fen)
    remaining = row.amount_fen - row.redeemed_fen - row.reclaimed_fen
    use = min(remaining, max_share) if requested_fen is None else requested_fen
    if use > amount_fen:
        raise RuleViolation("VoucherAboveAmount", voucherAmount=use, amount=amount_fen)
    if use > max_share:
        raise RuleViolation("VoucherShareExceeded", voucherId=vid, paid=use, maxShare=max_share)
    if use > remaining:
        raise RuleViolation("VoucherExceeded", voucherId=vid, requested=use, remaining=remaining)
    return row, use


def add_redeemed(session: Session, voucher_id: str, delta_fen: int) -> None:
    """Track redemptions (the chain holds the truth; this mirrors it for early checks and statements)."""
    session.execute(sa.update(Voucher).where(col(Voucher.id) == voucher_id)
                    .values(redeemed_fen=col(Voucher.redeemed_fen) + delta_fen))


def voucher_view(row: Voucher) -> VoucherOut:
    return VoucherOut(id=row.id, programme_id=row.programme_id, authority_id=row.authority_id,
                      holder_id=row.holder_id, amount_fen=row.amount_fen, redeemed_fen=row.redeemed_fen,
                      reclaimed_fen=row.reclaimed_fen,
                      remaining_fen=row.amount_fen - row.redeemed_fen - row.reclaimed_fen,
                      expires_at=datetime.fromtimestamp(row.expires_at, UTC),
                      expired=time.time() >= row.expires_at, sectors=row.sectors, chain=receipt_of(row))
