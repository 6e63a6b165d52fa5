"""Account statements: spending and income by product and period, vouchers, metered charges and the
on-chain receipts of every purchase; the settlement-token balance on chain, and test fen on dev chains.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, Literal

from sqlmodel import Session, col, select

from ledger.errors import ChainUnavailable
from registry.accounts import get_account
from registry.actor import Actor
from registry.chain import ChainGateway
from registry.errors import ChainUnavailableError, Forbidden
from registry.models import Role
from registry.trading.models import License, LicenseCharge, LicenseStatus, Order, OrderState, Voucher
from registry.trading.vouchers import voucher_view

Period = Literal["day", "month", "year"]
FORMATS = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}


def _key(at: datetime, period: Period) -> str:
    return at.strftime(FORMATS[period])


def statement(session: Session, actor: Actor, period: Period = "month") -> dict[str, Any]:
    """Income (payouts received or held in escrow) and spending (licenses bought) by product and period."""
    spending: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"licenses": 0, "amount_fen": 0, "voucher_fen": 0, "paid_fen": 0, "refunded_fen": 0})
    receipts: list[dict[str, Any]] = []
    orders = session.exec(select(Order).where(Order.buyer_id == actor.id).order_by(col(Order.pk))).all()
    licenses = {lic.id: lic for lic in session.exec(select(License).where(License.buyer_id == actor.id)).all()}
    for o in orders:
        if o.state != OrderState.PAID:
            continue
        lic = licenses.get(o.license_id)
        s = spending[(o.product_id, _key(o.paid_at or o.created_at, period))]
        s["licenses"] += 1
        s["amount_fen"] += o.amount_fen or 0
        s["voucher_fen"] += o.voucher_fen or 0
        s["paid_fen"] += (o.amount_fen or 0) - (o.voucher_fen or 0)
        if lic is not None and lic.status == LicenseStatus.REFUNDED:
            s["refunded_fen"] += lic.amount_fen - lic.voucher_fen
        receipts.append({"order_id": o.id, "license_id": o.license_id, "product_id": o.product_id,
                         "amount_fen": o.amount_fen, "voucher_fen": o.voucher_fen, "tx_hash": o.tx_hash,
                         "block_number": o.block_number, "log_index": o.log_index,
                         "license_status": lic.status if lic else None})
    income: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(
        lambda: {"licenses": 0, "amount_fen": 0, "escrowed_fen": 0})
    if actor.role != Role.BUYER:
        for lic in session.exec(select(License).where(col(License.status) != LicenseStatus.REFUNDED)
                                .order_by(col(License.pk))).all():
            for payout in lic.payouts:
                if payout["account_id"] != actor.id:
                    continue
                i = income[(lic.product_id, _key(lic.created_at, period), payout["role"])]
                i["licenses"] += 1
                i["escrowed_fen" if lic.status == LicenseStatus.ESCROWED else "amount_fen"] += payout["amount_fen"]
    charges = session.exec(select(LicenseCharge).where(LicenseCharge.buyer_id == actor.id)
                           .order_by(col(LicenseCharge.pk))).all()
    vouchers = session.exec(select(Voucher).where((col(Voucher.holder_id) == actor.id)
                                                  | (col(Voucher.authority_id) == actor.id))
                            .order_by(col(Voucher.pk))).all()
    spend_rows = [{"product_id": p, "period": k, **v} for (p, k), v in sorted(spending.items())]
    income_rows = [{"product_id": p, "period": k, "role": r, **v} for (p, k, r), v in sorted(income.items())]
    return {
        "account_id": actor.id, "period": period,
        "spending": spend_rows, "income": income_rows,
        "metered": [{"charge_id": c.id, "license_id": c.license_id, "product_id": c.product_id,
                     "unit_price_fen": c.unit_price_fen, "kinds": c.kinds, "refunded": c.refunded,
                     "at": c.created_at.isoformat()} for c in charges],
        "vouchers": [voucher_view(v).model_dump(mode="json") for v in vouchers],
        "receipts": receipts,
        "totals": {"spent_fen": sum(r["paid_fen"] - r["refunded_fen"] for r in spend_rows),
                   "voucher_fen": sum(r["voucher_fen"] for r in spend_rows),
                   "income_fen": sum(r["amount_fen"] for r in income_rows),
                   "escrowed_fen": sum(r["escrowed_fen"] for r in income_rows),
                   "metered_drawn_fen": sum(c.unit_price_fen for c in charges if not c.refunded)},
    }


def chain_balance(gateway: ChainGateway, actor: Actor) -> dict[str, Any]:
    """The actor's settlement-token balance on chain (fen); 503 when the chain does not answer."""
    try:
        balance = gateway.ledger.balance_of(actor.address)
    except ChainUnavailable as exc:
        raise ChainUnavailableError(str(exc)) from exc
    return {"account_id": actor.id, "address": actor.address, "balance_fen": balance}


def mint_test_fen(session: Session, gateway: ChainGateway, actor: Actor, account_id: str,
                  amount_fen: int) -> dict[str, Any]:
    """The exchange has test fen minted to an account by the dev token's minter, the dev deployer (dev chains
    only: the route exists in dev only)."""
    actor.require(Role.EXCHANGE)
    minter = gateway.minter
    if minter is None or not gateway.ledger.deployment.dev_token:
        raise Forbidden("this deployment settles in an existing ERC-20: nothing here can mint")
    account = get_account(session, account_id)
    try:
        receipt = gateway.ledger.mint(minter, account.address, amount_fen)
        balance = gateway.ledger.balance_of(account.address)
    except ChainUnavailable as exc:
        raise ChainUnavailableError(str(exc)) from exc
    return {"account_id": account.id, "balance_fen": balance, "tx_hash": receipt.tx_hash}
