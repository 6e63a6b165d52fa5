"""An annual report: the authority's disclosure, or one operator's disclosure and operating report, assembled from
the sections (`registry.reports.sections`) over `Sources`, and its canonical hash (what its record anchors)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from registry.hashing import canonical_hash
from registry.reports import sections as s
from registry.reports.sources import Sources

FORMAT = "provex-annual-report/1"
AUTHORITY = "authority"
NOT_COUNTED = ("verification calls are not recorded per operator and are not counted")

Section = Callable[[Sources, int], Any]
OperatorSection = Callable[[Sources, int, str], Any]
# Each section, by the name it takes in the report. Add new ones here (e.g. voucher programmes, purposes).
AUTHORITY_SECTIONS: dict[str, Section] = {
    "authorizations_granted": s.authorizations_granted,
    "authorizations_revoked": s.authorizations_revoked,
    "price_caps": lambda src, year: s.price_caps(src, year),
    "allowed_revenue": lambda src, year: s.allowed_revenue(src, year),
}
DISCLOSURE_SECTIONS: dict[str, OperatorSection] = {
    "authorizations": s.operator_authorizations,
    "products": s.operator_products,
    "prices": s.operator_prices,
    "price_caps": lambda src, year, op: s.price_caps(src, year, set(_products(src, op))),
}
# Sections shown only in a year that has some: a report published before they existed recomputes as it was.
WHEN_ANY: dict[str, Section] = {"authorizations_limited": s.authorizations_limited}
OPERATING_SECTIONS: dict[str, OperatorSection] = {
    "sales": s.sales,
    "vouchers": s.vouchers_redeemed,
    "usage": s.usage,
    "revenue": lambda src, year, op: s.allowed_revenue(src, year, op)[0],
    "costs": s.declared_costs,
    "public_welfare": s.public_welfare,
}


def _products(src: Sources, operator: str) -> list[str]:
    return [p for p, op in src.operator_of().items() if op == operator]


def build_report(src: Sources, year: int, scope: str) -> dict[str, Any]:
    """The report of `scope` ("authority" or an operator's account id) for `year`."""
    head: dict[str, Any] = {"format": FORMAT, "year": year, "scope": scope,
                            "basis": {"log_size": src.log_size, "block": src.block}}
    if scope == AUTHORITY:
        some = {k: v for k, f in WHEN_ANY.items() if (v := f(src, year))}
        return {**head, "authority": {**{k: f(src, year) for k, f in AUTHORITY_SECTIONS.items()}, **some}}
    resources = sorted({r for a in s.operator_authorizations(src, year, scope) for r in a["resources"]})
    return {**head, "operator": {"id": scope, "name": src.names.get(scope)},
            "disclosure": {"resources": resources, **{k: f(src, year, scope) for k, f in DISCLOSURE_SECTIONS.items()}},
            "operating": {**{k: f(src, year, scope) for k, f in OPERATING_SECTIONS.items()},
                          "notes": [NOT_COUNTED]}}


def report_hash(report: dict[str, Any]) -> str:
    """SHA-256 (hex) of the report's canonical JSON (`ledger.canonical`): what `report.published` anchors."""
    return canonical_hash(report)


def differences(published: Any, computed: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Where two reports differ: (path, published value, recomputed value), in document order."""
    if isinstance(published, dict) and isinstance(computed, dict):
        out = []
        for k in sorted(set(published) | set(computed)):
            out += differences(published.get(k), computed.get(k), f"{path}.{k}" if path else k)
        return out
    if isinstance(published, list) and isinstance(computed, list) and len(published) == len(computed):
        return [d for i, (a, b) in enumerate(zip(published, computed, strict=True))
                for d in differences(a, b, f"{path}[{i}]")]
    return [] if published == computed else [(path, published, computed)]
