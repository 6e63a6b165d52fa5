"""Voucher programmes (算力券/数据券 programmes): the authority's annual budget and the rules its vouchers obey.

The chain enforces every rule (contracts/VoucherProgrammes.sol, called by Settlement); `check_issue` and
`check_redeem` apply the same rules first, under the contract's error names, so a refused request writes nothing.
Budget year: the calendar year in UTC+8 of the issuing time (`budget_year`, the contract's `budgetYear`). Reclaim:
the unspent part of an expired voucher goes back to the authority that reclaims it (fen) and to the budget of the
year it was issued in.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ledger.ids import chain_id_of, hex32
from ledger.records import append_record
from registry.access import oversees
from registry.actor import Actor
from registry.chain import ChainGateway, submit
from registry.errors import Conflict, InvalidInput, NotFound, RuleViolation, found
from registry.models import Account, ChainState, Product, Role
from registry.signing import new_id
from registry.trading.models import Voucher, VoucherProgramme
from registry.trading.offers import receipt_of
from registry.trading.schemas import ProgrammeDetailOut, ProgrammeIn, ProgrammeOut, VoucherOut

BUDGET_TZ = timezone(timedelta(hours=8))  # China Standard Time: the budget year is its calendar year
TOTAL_BPS = 10_000


def budget_year(ts: float) -> int:
    """The budget year of unix time `ts` (as the contract's `budgetYear`)."""
    return datetime.fromtimestamp(ts, BUDGET_TZ).year


def _buyers(session: Session, ids: list[str], field: str) -> list[Account]:
    rows = {a.id: a for a in session.exec(select(Account).where(col(Account.id).in_(ids)))}
    for i in ids:
        if i not in rows or rows[i].role != Role.BUYER:
            raise InvalidInput(field, f"{i} is not a buyer account")
    return [rows[i] for i in ids]


def create_programme(session: Session, gateway: ChainGateway, actor: Actor, data: ProgrammeIn) -> VoucherProgramme:
    """The authority creates a programme on chain with its own signed act (`createProgramme`)."""
    actor.require(Role.AUTHORITY)
    start, end = int(data.starts_at.timestamp()), int(data.ends_at.timestamp())
    if end <= start:
        raise InvalidInput("ends_at", "BadProgramme(reason=window): must be after starts_at")
    holders = _buyers(session, list(dict.fromkeys(data.holder_ids)), "holder_ids")
    products = list(dict.fromkeys(data.product_ids))
    known = set(session.exec(select(Product.id).where(col(Product.id).in_(products))))
    if unknown := [p for p in products if p not in known]:
        raise InvalidInput("product_ids", f"unknown products: {', '.join(unknown)}")
    row = VoucherProgramme(id=new_id(session), authority_id=actor.id, name=data.name,
                           annual_budget_fen=data.annual_budget_fen, max_share_bps=data.max_share_bps,
                           starts_at=start, ends_at=end, sectors=list(dict.fromkeys(data.sectors)),
                           product_ids=products, holder_ids=[h.id for h in holders])
    session.add(row)
    session.flush()
    facts = {"name": row.name, "annual_budget_fen": row.annual_budget_fen, "max_share_bps": row.max_share_bps,
             "starts_at": start, "ends_at": end, "sectors": row.sectors, "product_ids": row.product_ids,
             "holder_ids": row.holder_ids}
    submit(session, gateway, subject_type="voucher_programme", subject_id=row.id, action="voucher_programme.create",
           payload={"programme_id": row.id, **facts})
    append_record(session, kind="voucher_programme.create", actor=actor.id, subject=row.id, data=facts)
    return row


def get_programme(session: Session, programme_id: str) -> VoucherProgramme:
    return found(session.exec(select(VoucherProgramme).where(VoucherProgramme.id == programme_id)).first(),
                 f"voucher programme {programme_id}")


def _sees(actor: Actor, row: VoucherProgramme) -> bool:
    """Overseers see every programme; a buyer those it is allow-listed in."""
    return oversees(actor) or actor.id in row.holder_ids


def visible_programme(session: Session, actor: Actor, programme_id: str) -> VoucherProgramme:
    row = get_programme(session, programme_id)
    if not _sees(actor, row):
        raise NotFound(f"voucher programme {programme_id} not found")
    return row


def list_programmes(session: Session, actor: Actor) -> list[VoucherProgramme]:
    rows = session.exec(select(VoucherProgramme).order_by(col(VoucherProgramme.pk))).all()
    return [r for r in rows if _sees(actor, r)]


def issued_in(session: Session, programme_id: str, year: int) -> int:
    """Fen issued under the programme in budget year `year`, less what was reclaimed (vouchers the chain did not
    refuse)."""
    rows = session.exec(select(Voucher.amount_fen, Voucher.reclaimed_fen, Voucher.created_at)
                        .where(Voucher.programme_id == programme_id)
                        .where(col(Voucher.chain_state) != ChainState.FAILED)).all()
    return sum(a - r for a, r, at in rows if budget_year(at.replace(tzinfo=at.tzinfo or UTC).timestamp()) == year)


def check_issue(session: Session, programme_id: str, holder: Account, amount_fen: int) -> VoucherProgramme:
    """The programme rules of issuing (UnknownProgramme, HolderNotAllowed, ProgrammeBudgetExceeded)."""
    row = session.exec(select(VoucherProgramme).where(VoucherProgramme.id == programme_id)).first()
    if row is None:
        raise InvalidInput("programme_id", f"UnknownProgramme: no voucher programme {programme_id}")
    pid = hex32(chain_id_of(row.id))
    if row.chain_state == ChainState.FAILED:
        raise Conflict(f"voucher programme {row.id} was refused by the chain")
    if holder.id not in row.holder_ids:
        raise RuleViolation("HolderNotAllowed", programmeId=pid, holder=holder.address)
    year = budget_year(time.time())
    left = row.annual_budget_fen - issued_in(session, row.id, year)
    if amount_fen > left:
        raise RuleViolation("ProgrammeBudgetExceeded", programmeId=pid, year=year, requested=amount_fen,
                            remaining=left)
    return row


def check_redeem(session: Session, voucher: Voucher, product: Product, price_fen: int) -> int:
    """The programme rules of paying with `voucher` (VoucherOutsideWindow, VoucherSectorIneligible,
    VoucherProductIneligible); returns the most of `price_fen` the voucher may pay (VoucherShareExceeded above)."""
    if voucher.programme_id is None:
        return price_fen
    row = get_programme(session, voucher.programme_id)
    vid, now = hex32(chain_id_of(voucher.id)), int(time.time())
    if not row.starts_at <= now < row.ends_at:
        raise RuleViolation("VoucherOutsideWindow", voucherId=vid, start=row.starts_at, end=row.ends_at, nowTs=now)
    if row.sectors and product.sector not in row.sectors:
        raise RuleViolation("VoucherSectorIneligible", voucherId=vid, sector=product.sector)
    if row.product_ids and product.id not in row.product_ids:
        raise RuleViolation("VoucherProductIneligible", voucherId=vid, productId=hex32(chain_id_of(product.id)))
    return price_fen * row.max_share_bps // TOTAL_BPS


def programme_view(session: Session, row: VoucherProgramme) -> ProgrammeOut:
    year = budget_year(time.time())
    issued = issued_in(session, row.id, year)
    redeemed = session.execute(sa.select(sa.func.coalesce(sa.func.sum(col(Voucher.redeemed_fen)), 0))
                               .where(col(Voucher.programme_id) == row.id)).scalar_one()
    return ProgrammeOut(id=row.id, authority_id=row.authority_id, name=row.name,
                        annual_budget_fen=row.annual_budget_fen, max_share_bps=row.max_share_bps,
                        starts_at=datetime.fromtimestamp(row.starts_at, UTC),
                        ends_at=datetime.fromtimestamp(row.ends_at, UTC), sectors=row.sectors,
                        product_ids=row.product_ids, holder_ids=row.holder_ids, budget_year=year, issued_fen=issued,
                        remaining_fen=row.annual_budget_fen - issued, redeemed_fen=int(redeemed),
                        chain=receipt_of(row))


def programme_detail(session: Session, row: VoucherProgramme, vouchers: list[VoucherOut]) -> ProgrammeDetailOut:
    return ProgrammeDetailOut(**programme_view(session, row).model_dump(), vouchers=vouchers)


def programme_vouchers(session: Session, row: VoucherProgramme) -> list[Voucher]:
    return list(session.exec(select(Voucher).where(Voucher.programme_id == row.id).order_by(col(Voucher.pk))).all())
