"""Fold the record log into the rows it describes: the last record about a row gives its values, and counters
(queries used, privacy budget spent, voucher redemptions) are the sums of the records that move them."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ledger.verify import Divergence, StoredRecord
from registry.reconcile.facts import Facts, Source
from registry.reconcile.matching import CLAIMING, Claims
from registry.trading.units import delta_units, eps_units


@dataclass
class Replay:
    """What the records say: expected rows, each account's bound address, and the chain events they claim."""

    facts: Facts = field(default_factory=Facts)
    addresses: dict[str, str] = field(default_factory=dict)  # account id -> bound address (lower case)
    claims: Claims = field(default_factory=Claims)
    license_voucher: dict[str, str] = field(default_factory=dict)
    negotiable_offers: set[str] = field(default_factory=set)
    unreadable: list[Divergence] = field(default_factory=list)  # records whose data their kind cannot fold


Fold = Callable[[Replay, dict[str, Any], Source], None]


def _units(value: Any, to: Callable[[float], int]) -> int:
    return to(float(value)) if value not in (None, "", 0, "0") else 0


def _account(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.addresses[rec["actor"]] = str(d["address"]).lower()
    r.facts.set("accounts", rec["actor"], src, address=str(d["address"]).lower(), role=d["role"], name=d["name"])


def _review(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.set("reviews", d["review_id"], src, product_id=rec["subject"], reviewer_id=rec["actor"],
                decision=d["decision"], reasons=d["reasons"], checklist=d["checklist"], product_version=d["version"],
                metadata_hash=d["metadata_hash"], record_seq=rec["seq"])


def _objection(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.set("objections", d["objection_id"], src, product_id=rec["subject"], filer_id=rec["actor"],
                reasons=d["reasons"], status="open", resolver_id=None, resolution=None)


def _objection_resolved(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.update("objections", d["objection_id"], src, status=d["decision"], resolver_id=rec["actor"],
                   resolution=d["reasons"])


def _revision(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.set("product_revisions", d["revision_id"], src, product_id=rec["subject"], proposer_id=rec["actor"],
                base_version=d["base_version"], changes=d["changes"], metadata_hash=d["metadata_hash"],
                status="pending", review_id=None, reasons=None,
                kind="correction" if rec["kind"] == "correction.filed" else "change", grounds=d.get("evidence"))


def _cancellation(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.set("product_revisions", d["revision_id"], src, product_id=rec["subject"], proposer_id=rec["actor"],
                base_version=d["version"], changes={}, metadata_hash=d["metadata_hash"], status="pending",
                review_id=None, reasons=None, kind="cancellation", grounds=d["reasons"])


def _cancellation_decided(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.update("product_revisions", d["revision_id"], src, reasons=d["reasons"],
                   status="approved" if d["decision"] == "approve" else "rejected")


def _revision_decided(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    _review(r, rec, src)
    r.facts.update("product_revisions", d["revision_id"], src, review_id=d["review_id"], reasons=d["reasons"],
                   status="approved" if d["decision"] == "approve" else "rejected")


def _revision_published(r: Replay, rec: dict[str, Any], src: Source) -> None:
    r.facts.update("product_revisions", rec["data"]["revision_id"], src, status="published")


def _authorization_revoked(r: Replay, rec: dict[str, Any], src: Source) -> None:
    r.facts.set("authorizations", rec["subject"], src, revoked=True)


def _authorization_limited(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.set("authorizations", rec["subject"], src, valid_until=d["valid_until"], purposes=d["purposes"],
                purpose_hash=d["purpose_hash"])


def _price_cap(r: Replay, rec: dict[str, Any], src: Source) -> None:
    r.facts.set("price_caps", rec["subject"], src, cap_fen=rec["data"]["cap_fen"], authority_id=rec["actor"])


def _price_cap_rule(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.set("price_cap_rules", f"{rec['subject']}/{d['kind']}", src, product_id=rec["subject"], kind=d["kind"],
                cap_fen=d["cap_fen"], effective_from=d["effective_from"], trial_cap_fen=d["trial_cap_fen"],
                trial_until=d["trial_until"], authority_id=rec["actor"])


def _offer(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    if d["kind"] == "negotiable":
        r.negotiable_offers.add(d["offer_id"])
    r.facts.set("offers", d["offer_id"], src, product_id=rec["subject"], operator_id=rec["actor"], kind=d["kind"],
                basis=d["basis"], tiers=d["tiers"], payees=d["payees"], buyer_id=d["buyer_id"], active=True)


def _offer_withdrawn(r: Replay, rec: dict[str, Any], src: Source) -> None:
    r.facts.update("offers", rec["data"]["offer_id"], src, active=False)


def _voucher(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.set("vouchers", rec["subject"], src, authority_id=rec["actor"], holder_id=d["holder_id"],
                amount_fen=d["amount_fen"], expires_at=d["expires_at"], sectors=d["sectors"], redeemed_fen=0,
                reclaimed_fen=0, programme_id=d.get("programme_id"))


def _voucher_reclaim(r: Replay, rec: dict[str, Any], src: Source) -> None:
    r.facts.update("vouchers", rec["subject"], src, reclaimed_fen=rec["data"]["reclaimed_fen"])


def _programme(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.set("voucher_programmes", rec["subject"], src, authority_id=rec["actor"], name=d["name"],
                annual_budget_fen=d["annual_budget_fen"], max_share_bps=d["max_share_bps"],
                starts_at=d["starts_at"], ends_at=d["ends_at"], sectors=d["sectors"], product_ids=d["product_ids"],
                holder_ids=d["holder_ids"])


def _order(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.set("orders", d["order_id"], src, buyer_id=rec["actor"], product_id=rec["subject"],
                offer_id=d["offer_id"], quantity=d["quantity"], license_id=d["license_id"],
                voucher_id=d["voucher_id"], terms_hash=d["terms_hash"], state="pending",
                use=d.get("use", "commercial"))  # records before use categories: commercial


def _order_failed(r: Replay, rec: dict[str, Any], src: Source) -> None:
    r.facts.update("orders", rec["data"]["order_id"], src, state="failed")


def _purchase(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.update("orders", d["order_id"], src, state="paid", amount_fen=d["amount_fen"],
                   voucher_fen=d["voucher_fen"], tx_hash=d["tx_hash"])
    r.facts.set("licenses", d["license_id"], src, order_id=d["order_id"], buyer_id=rec["actor"],
                product_id=rec["subject"], offer_id=d["offer_id"], quantity=d["quantity"], amount_fen=d["amount_fen"],
                voucher_fen=d["voucher_fen"], terms_hash=d["terms_hash"], status=d["status"], payouts=d["payouts"],
                queries_used=0, eps_spent=0, delta_spent=0, rho_spent=0,  # tx_hash: the row's latest act's
                use=d.get("use", "commercial"))
    if d.get("voucher_id") and d["voucher_fen"]:
        r.license_voucher[d["license_id"]] = d["voucher_id"]
        r.facts.add("vouchers", d["voucher_id"], src, redeemed_fen=int(d["voucher_fen"]))


def _refund(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.update("licenses", d["license_id"], src, status="refunded")
    voucher = r.license_voucher.get(d["license_id"])
    if voucher and d["voucher_fen"]:
        r.facts.add("vouchers", voucher, src, redeemed_fen=-int(d["voucher_fen"]))


def _release(r: Replay, rec: dict[str, Any], src: Source) -> None:
    r.facts.update("licenses", rec["data"]["license_id"], src, status="paid")


def _spend(rec: dict[str, Any]) -> dict[str, int]:
    d = rec["data"]
    return {"eps": _units(d["epsilon"], eps_units), "delta": _units(d["delta"], delta_units),
            "rho": _units(d.get("rho"), eps_units)}


def _charge(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d, units = rec["data"], _spend(rec)
    r.facts.set("license_charges", d["charge_id"], src, license_id=d["license_id"], buyer_id=rec["actor"],
                product_id=rec["subject"], unit_price_fen=d["unit_price_fen"], kinds=d["kinds"], refunded=False,
                spend=units, **units)
    _move_budget(r, d["license_id"], rec["actor"], rec["subject"], units, 1, src)


def _charge_refunded(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    charge = r.facts.row("license_charges", d["charge_id"])
    if charge is None:
        return
    r.facts.set("license_charges", d["charge_id"], src, refunded=True)
    _move_budget(r, d["license_id"], rec["actor"], rec["subject"], charge.columns["spend"][0], -1, src)


def _move_budget(r: Replay, license_id: str, buyer: str, product: str, units: dict[str, int], sign: int,
                 src: Source) -> None:
    r.facts.add("licenses", license_id, src, queries_used=sign, eps_spent=sign * units["eps"],
                delta_spent=sign * units["delta"], rho_spent=sign * units["rho"])
    key = f"{product}/{buyer}"
    if r.facts.row("buyer_budgets", key) is None:
        r.facts.set("buyer_budgets", key, src, eps_spent=0, delta_spent=0, rho_spent=0)
    r.facts.add("buyer_budgets", key, src, eps_spent=sign * units["eps"], delta_spent=sign * units["delta"],
                rho_spent=sign * units["rho"])
    if r.facts.row("product_budgets", product) is None:
        r.facts.set("product_budgets", product, src, eps_spent=0, delta_spent=0, rho_spent=0)
    r.facts.add("product_budgets", product, src, eps_spent=sign * units["eps"], delta_spent=sign * units["delta"],
                rho_spent=sign * units["rho"])


def _budget_policy(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.set("budget_policies", rec["subject"], src, eps_cap=_units(d["epsilon"], eps_units),
                delta_cap=_units(d["delta"], delta_units), rho_cap=_units(d["rho"], eps_units) or None)


def _total_budget(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    if r.facts.row("product_budgets", rec["subject"]) is None:
        r.facts.set("product_budgets", rec["subject"], src, eps_spent=0, delta_spent=0, rho_spent=0)
    r.facts.update("product_budgets", rec["subject"], src, eps_cap=_units(d["epsilon"], eps_units),
                   delta_cap=_units(d["delta"], delta_units))


def _model_fit(r: Replay, rec: dict[str, Any], src: Source) -> None:
    """A model product's fit spends from the product-wide budget (never from a license)."""
    units, product = _spend(rec), rec["subject"]
    if r.facts.row("product_budgets", product) is None:
        r.facts.set("product_budgets", product, src, eps_spent=0, delta_spent=0, rho_spent=0)
    r.facts.add("product_budgets", product, src, eps_spent=units["eps"], delta_spent=units["delta"],
                rho_spent=units["rho"])


NEGOTIATION_COLUMNS = ("unit_price_fen", "quantity", "license_id", "reason")


def _negotiation(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    opened = d["from"] is None  # the buyer's request; a counter-request is `negotiation.requested` too
    if opened:
        r.facts.set("negotiations", d["negotiation_id"], src, product_id=rec["subject"], buyer_id=rec["actor"],
                    base_offer_id=d["offer_id"], kind=d["kind"], quantity=d["quantity"])
    cols: dict[str, Any] = {"state": d["to"], **{c: d[c] for c in NEGOTIATION_COLUMNS if c in d}}
    if opened:
        cols["unit_price_fen"] = d.get("unit_price_fen")
    if d["to"] == "agreed" and "offer_id" in d:
        cols["agreed_offer_id"] = d["offer_id"]
    r.facts.update("negotiations", d["negotiation_id"], src, **cols)
    agreed = r.facts.row("negotiations", d["negotiation_id"])
    if d["to"] == "terminated" and agreed is not None and "agreed_offer_id" in agreed.columns:
        r.facts.update("offers", agreed.columns["agreed_offer_id"][0], src, active=False)  # its private offer ends


def _provider_node(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.set("provider_nodes", rec["actor"], src, node_id=d["node_id"], url=d["url"], public_key=d["public_key"],
                policy_hash=d["policy_hash"])


def _public_welfare(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.set("public_welfare_users", rec["subject"], src, address=d["address"], eligible=d["eligible"],
                reason=d["reason"], authority_id=rec["actor"])


def _allowance(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.set("revenue_allowances", f"{rec['subject']}/{d['year']}", src, allowed_fen=d["allowed_fen"],
                authority_id=rec["actor"])


def _report(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.set("published_reports", rec["subject"], src, year=d["year"], scope=d["scope"], publisher_id=rec["actor"],
                report_hash=d["report_hash"], record_seq=rec["seq"])


def _cost(r: Replay, rec: dict[str, Any], src: Source) -> None:
    d = rec["data"]
    r.facts.set("declared_costs", d["cost_id"], src, product_id=rec["subject"], operator_id=rec["actor"],
                incurred_on=d["incurred_on"], category=d["category"], amount_fen=d["amount_fen"],
                description=d["description"], evidence_hash=d["evidence_hash"], corrects_id=d["corrects"],
                record_seq=rec["seq"])


FOLDS: dict[str, Fold] = {
    "account.bound": _account, "review.decided": _review, "authorization.revoked": _authorization_revoked,
    "authorization.limited": _authorization_limited,
    "price_cap.set": _price_cap, "price_cap_rule.set": _price_cap_rule, "offer.publish": _offer,
    "offer.withdraw": _offer_withdrawn,
    "voucher_programme.create": _programme, "voucher.issue": _voucher, "voucher.reclaim": _voucher_reclaim,
    "order.placed": _order,
    "order.failed": _order_failed,
    "license.purchase": _purchase, "license.refund": _refund, "license.release": _release,
    "query.charge": _charge, "query.charge_refunded": _charge_refunded, "budget_policy.set": _budget_policy,
    "total_budget.set": _total_budget, "model.fit": _model_fit,
    "provider.node": _provider_node, "public_welfare.set": _public_welfare, "revenue_allowance.set": _allowance,
    "report.published": _report, "objection.filed": _objection, "objection.resolved": _objection_resolved,
    "revision.proposed": _revision, "revision.decided": _revision_decided, "revision.published": _revision_published,
    "cost.declared": _cost,
    "correction.filed": _revision, "correction.decided": _revision_decided, "cancellation.applied": _cancellation,
    "cancellation.decided": _cancellation_decided,
}


def replay(records: Iterable[StoredRecord]) -> Replay:
    """Fold a verified record log (in sequence order) into expected rows (the collector paused: the rows are
    many small objects that all live until the comparison ends)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return _replay(records)
    finally:
        if paused:
            gc.enable()


def _replay(records: Iterable[StoredRecord]) -> Replay:
    out = Replay()
    for stored in records:
        kind = stored.kind  # a database row's kind column (None from an export): skip what nothing reads
        if kind is not None and kind not in FOLDS and kind not in CLAIMING and not kind.startswith("negotiation."):
            continue
        rec = json.loads(stored.body)
        fold = FOLDS.get(rec["kind"]) or (_negotiation if rec["kind"].startswith("negotiation.") else None)
        try:
            if fold is not None:
                fold(out, rec, Source(record=rec["seq"]))
            out.claims.note(rec, out.negotiable_offers)
        except (KeyError, TypeError, ValueError) as exc:
            out.unreadable.append(Divergence("record_unreadable", "ledger_records", rec["seq"], "data", None,
                                             f"a {rec['kind']} record without what its kind holds: {exc!r}",
                                             record=rec["seq"]))
    return out
