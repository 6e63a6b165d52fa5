"""How each table's columns read on chain: a database id as its chain id, an account as its bound address, a
product status as the chain status it stands for. Works on database rows and on a record's values alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from registry.reconcile.matching import cid
from registry.statuses import chain_status_of
from registry.trading.models import FORM_OF_KIND


class Addresses:
    """Account id -> address: the holder's signed binding (records) first, the database only as a fallback."""

    def __init__(self, bound: dict[str, str], stored: dict[str, str]) -> None:
        self.bound, self.stored = bound, stored

    def of(self, account_id: str | None) -> str | None:
        if not account_id:
            return None
        return self.bound.get(account_id) or (self.stored.get(account_id) or account_id).lower()


Convert = Callable[[Any, Addresses], Any]


def same(v: Any, a: Addresses) -> Any:
    return v


def account(v: Any, a: Addresses) -> Any:
    return a.of(v)


def accounts(v: Any, a: Addresses) -> Any:
    return sorted(str(a.of(x)) for x in v)


def chain_id(v: Any, a: Addresses) -> Any:
    return cid(v) if v else None


def chain_ids(v: Any, a: Addresses) -> Any:
    return sorted(cid(x) for x in v)


def status(v: Any, a: Addresses) -> Any:
    chain = chain_status_of(v)
    return chain.name.lower() if chain else None


def payees(v: Any, a: Addresses) -> Any:
    return [[str(p.get("address") or a.of(p["account_id"])).lower(), int(p["bps"])] for p in v]


def form(v: Any, a: Addresses) -> Any:
    """An offer's kind as the chain's charge form (Settlement `form`)."""
    return FORM_OF_KIND.get(v)


def payouts(v: Any, a: Addresses) -> Any:
    return sorted([str(a.of(p["account_id"])), int(p["amount_fen"])] for p in v)


CHAIN_COLUMNS: dict[str, dict[str, Convert]] = {
    "resources": {"classification": same, "content_hash": same, "metadata_hash": same},
    "authorizations": {"operator_id": account, "resource_ids": chain_ids, "purpose_hash": same, "valid_from": same,
                       "valid_until": same, "max_classification": same, "revoked": same},
    "products": {"operator_id": account, "authorization_id": chain_id, "resource_ids": chain_ids,
                 "metadata_hash": same, "sector": chain_id, "version": same, "status": status},
    "price_caps": {"cap_fen": same},
    "price_cap_rules": {"cap_fen": same, "effective_from": same, "trial_cap_fen": same, "trial_until": same},
    "offers": {"product_id": chain_id, "buyer_id": account, "tiers": same, "payees": payees, "refund_window": same,
               "kind": form},
    "voucher_programmes": {"annual_budget_fen": same, "max_share_bps": same, "starts_at": same, "ends_at": same,
                           "sectors": chain_ids, "product_ids": chain_ids, "holder_ids": accounts},
    "vouchers": {"holder_id": account, "amount_fen": same, "expires_at": same, "sectors": chain_ids,
                 "redeemed_fen": same, "reclaimed_fen": same, "programme_id": chain_id},
    "licenses": {"buyer_id": account, "product_id": chain_id, "offer_id": chain_id, "quantity": same,
                 "amount_fen": same, "voucher_fen": same, "terms_hash": same, "status": same, "payouts": payouts,
                 "use": same},
    "public_welfare_users": {"address": same, "eligible": same},
    "orders": {"buyer_id": account, "quantity": same, "amount_fen": same, "voucher_fen": same, "state": same,
               "tx_hash": same},
}


def on_chain(table: str, values: dict[str, Any], a: Addresses) -> dict[str, Any]:
    """The chain's reading of `values` (a row's or a record's): only the columns both can say."""
    return {c: conv(values[c], a) for c, conv in CHAIN_COLUMNS.get(table, {}).items() if c in values}


def record_view(table: str, values: dict[str, Any]) -> dict[str, Any]:
    """A row's columns as its records write them."""
    if table == "accounts":
        return {**values, "address": str(values["address"]).lower()}
    if table == "offers":
        return {**values, "payees": [{k: p.get(k) for k in ("account_id", "role", "bps")} for p in values["payees"]]}
    return values
