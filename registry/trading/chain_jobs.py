"""Trading's chain jobs (`registry.jobs` tables them with the core ones: same outbox, same order).

Subjects: offers, voucher programmes, vouchers and orders carry their latest receipt like every other chain-backed row.
The purchase (`license.buy`: plan and runner) lives in `registry.trading.orders` because it also creates the
license.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from ledger.acts import Act
from registry.chain import ChainGateway, Planner, Runner
from registry.models import Account
from registry.trading.models import FORM_OF_KIND, Offer
from registry.trading.orders import plan_purchase, send_purchase


def address_of(session: Session, account_id: str) -> str:
    return session.exec(select(Account.address).where(Account.id == account_id)).one()


def _price_cap(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    return [gw.ledger.acts.set_price_cap(p["product_id"], int(p["cap_fen"]))]


def _price_cap_rule(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    return [gw.ledger.acts.set_form_cap(p["product_id"], int(p["form"]), int(p["cap_fen"]), int(p["effective_from"]),
                                        int(p["trial_cap_fen"]), int(p["trial_until"]))]


def _offer_publish(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    """A job queued before payloads named the kind reads it from the offer's row."""
    kind = p.get("kind") or session.exec(select(Offer.kind).where(Offer.id == p["offer_id"])).one()
    return [gw.ledger.acts.publish_offer(
        p["offer_id"], p["product_id"], [(int(q), int(u)) for q, u in p["tiers"]],
        [(a, int(b)) for a, b in p["payees"]], refund_window=int(p["refund_window"]), buyer=p.get("buyer"),
        form=FORM_OF_KIND[kind])]


def _offer_withdraw(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    return [gw.ledger.acts.withdraw_offer(p["offer_id"])]


def _voucher_issue(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    """The voucher is funded from the authority's fen: approve Settlement first when its allowance is short."""
    authority = address_of(session, p["authority_id"])
    short = gw.ledger.allowance(authority) < int(p["amount_fen"])
    acts = [gw.ledger.acts.approve_settlement()] if short else []
    return [*acts, gw.ledger.acts.issue_voucher(p["voucher_id"], p["programme_id"], address_of(session, p["holder_id"]),
                                                int(p["amount_fen"]), int(p["expires_at"]), p["sectors"])]


def _programme_create(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    return [gw.ledger.acts.create_programme(
        p["programme_id"], int(p["annual_budget_fen"]), int(p["max_share_bps"]), int(p["starts_at"]),
        int(p["ends_at"]), p["sectors"], p["product_ids"], [address_of(session, h) for h in p["holder_ids"]])]


def _voucher_reclaim(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    return [gw.ledger.acts.reclaim_voucher(p["voucher_id"])]
def _public_welfare(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    return [gw.ledger.acts.set_public_welfare_user(p["address"], bool(p["eligible"]))]


def _license_refund(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    return [gw.ledger.acts.refund(p["license_id"])]


def _license_release(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    return [gw.ledger.acts.release(p["license_id"])]


TRADING_PLANS: dict[str, Planner] = {
    "price_cap.set": _price_cap,
    "price_cap_rule.set": _price_cap_rule,
    "offer.publish": _offer_publish,
    "offer.withdraw": _offer_withdraw,
    "voucher_programme.create": _programme_create,
    "voucher.issue": _voucher_issue,
    "voucher.reclaim": _voucher_reclaim,
    "public_welfare.set": _public_welfare,
    "license.buy": plan_purchase,
    "license.refund": _license_refund,
    "license.release": _license_release,
}
TRADING_RUNNERS: dict[str, Runner] = {"license.buy": send_purchase}
