"""Ledger records and chain events shown as fields: each value that names an account, product, resource,
authorization or license (by id, address or its bytes32 on chain) is shown by its name and code, never as a bare
UUID; the zero address as an offer's buyer is "any buyer"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from api.client import Json
from api.portal.i18n import MESSAGES, translate
from ledger.ids import chain_id_of

ZERO_ADDRESS = "0x" + "0" * 40
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TRANSLATED = frozenset({"from", "to", "decision", "status", "use", "kind", "classification", "sector", "basis"})
SKIPPED = frozenset({"signed"})  # a participant's signature: shown as "signed", not as its bytes


@dataclass(frozen=True)
class Shown:
    label: str
    text: str  # the name, or the value as text
    code: str = ""  # the code (PX-…, PXA-…) or the raw value kept for the title
    href: str = ""


@dataclass(frozen=True)
class Named:
    name: str
    code: str
    href: str = ""


class Names:
    """Who and what the ids a record mentions are, from what the page already read through the API."""

    def __init__(self, accounts: list[Json] = (), products: list[Json] = (),  # type: ignore[assignment]
                 resources: list[Json] = (), authorizations: list[Json] = (),  # type: ignore[assignment]
                 licenses: list[Json] = ()) -> None:  # type: ignore[assignment]
        self.known: dict[str, Named] = {}
        for a in accounts:
            named = Named(a["name"], a.get("address") or "")
            self._add(a["id"], named)
            if a.get("address"):
                self.known[a["address"].lower()] = named
        for p in products:
            self._add(p["id"], Named(p["title"], p["code"], f"/portal/products/{p['code']}"))
        for r in resources:
            self._add(r["id"], Named(r["name"], r["code"]))
        for z in authorizations:
            self._add(z["id"], Named(", ".join(z.get("purposes") or []) or z["code"], z["code"]))
        for lic in licenses:  # a license by its product and buyer
            product, buyer = self.known.get(lic["product_id"]), self.known.get(lic["buyer_id"])
            if product and buyer:
                self._add(lic["id"], Named(f"{product.name} · {buyer.name}", product.code, product.href))

    def _add(self, key: str, named: Named) -> None:
        self.known[key] = named
        self.known["0x" + chain_id_of(key).hex()] = named

    def of(self, value: Any) -> Named | None:
        return self.known.get(str(value).lower()) if isinstance(value, str) else None


def _label(key: str, lang: str) -> str:
    for known in (f"f_{key}", key):
        if known in MESSAGES:
            return translate(known, lang)
    return key.replace("_", " ")


def _text(key: str, value: Any, names: Names, lang: str) -> Shown:
    label = _label(key, lang)
    if isinstance(value, str) and value.lower() == ZERO_ADDRESS and key == "buyer":
        return Shown(label, translate("any_buyer", lang), value)
    named = names.of(value)
    if named:
        return Shown(label, named.name, named.code, named.href)
    if isinstance(value, list):
        parts = [names.of(v) for v in value]
        if value and all(parts):
            return Shown(label, "; ".join(f"{n.name} ({n.code})" for n in parts if n))
        return Shown(label, ", ".join(v[:8] + "…" if isinstance(v, str) and UUID.match(v) else str(v) for v in value))
    if isinstance(value, dict):
        return Shown(label, "; ".join(f"{_label(k, lang)}: {_plain(v)}" for k, v in value.items()))
    if isinstance(value, bool):
        return Shown(label, "✓" if value else "✗")
    if isinstance(value, str) and UUID.match(value):  # something this page cannot name: its id, shortened
        return Shown(label, value[:8] + "…", "")
    text = "—" if value is None else str(value)
    return Shown(label, translate(text, lang) if key in TRANSLATED else text)


def _plain(value: Any) -> str:
    return ("✓" if value else "✗") if isinstance(value, bool) else str(value)


def shown_fields(detail: dict[str, Any], names: Names, lang: str) -> list[Shown]:
    """The detail's fields, labelled in `lang`, each value by name and code where it names something known."""
    out = [_text(k, v, names, lang) for k, v in detail.items() if k not in SKIPPED and v not in (None, "", [], {})]
    if detail.get("signed"):
        out.append(Shown(_label("signed", lang), "✓"))
    return out
