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
IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*([._][a-z0-9]+)+$")
PAGE_NAMES = frozenset({"buyer", "exchange", "authority", "auditor", "catalog", "reports", "assets", "statement"})
SKIPPED = frozenset({"signed"})  # a participant's signature: shown as "signed", not as its bytes


@dataclass(frozen=True)
class Shown:
    label: str
    text: str  # the name, or the value as text ("" when the value is shown as a code only)
    code: str = ""  # the code (PX-…, PXA-…, an address), or a value no message names
    href: str = ""
    raw_label: bool = False  # a field no message names: its key, shown as a code


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


def _label(key: str, lang: str) -> str | None:
    for known in (f"f_{key}", key):
        if known in MESSAGES and known not in PAGE_NAMES:
            return translate(known, lang)
    return None


def _word(text: str, lang: str) -> Shown | None:
    """A value that is a known word (a role, a status, a kind...) in `lang`; one that looks like an identifier as a
    code; None for anything else (shown as it is)."""
    for known in (f"role_{text}", text):
        if known in MESSAGES and known not in PAGE_NAMES:
            return Shown("", translate(known, lang))
    return Shown("", "", text) if IDENTIFIER.match(text) else None


def _field(key: str, value: Any, names: Names, lang: str) -> Shown:
    label = _label(key, lang)
    shown = _text(label or key, key, value, names, lang)
    return Shown(shown.label, shown.text, shown.code, shown.href, raw_label=label is None)


def _text(label: str, key: str, value: Any, names: Names, lang: str) -> Shown:
    if isinstance(value, str) and value.lower() == ZERO_ADDRESS and key == "buyer":
        return Shown(label, translate("any_buyer", lang), value)
    named = names.of(value)
    if named:
        return Shown(label, named.name, named.code, named.href)
    if isinstance(value, list):
        parts = [names.of(v) for v in value]
        if value and all(parts):
            return Shown(label, "; ".join(f"{n.name} ({n.code})" for n in parts if n))
        words = [_item(v, lang) for v in value]
        if value and all(code for _, code in words):  # identifiers no message names: the list as a code
            return Shown(label, "", ", ".join(text for text, _ in words))
        return Shown(label, "; ".join(_inline(v, names, lang) for v in value))
    if isinstance(value, dict):
        return Shown(label, _inline(value, names, lang))
    if isinstance(value, bool):
        return Shown(label, "✓" if value else "✗")
    if isinstance(value, str) and UUID.match(value):  # something this page cannot name: its id, shortened
        return Shown(label, value[:8] + "…", "")
    text = "—" if value is None else str(value)
    word = _word(text, lang) if isinstance(value, str) else None
    return Shown(label, word.text, word.code) if word else Shown(label, text)


def _item(value: Any, lang: str) -> tuple[str, bool]:
    """A list item as text, and whether it is a code."""
    if isinstance(value, str) and UUID.match(value):
        return value[:8] + "…", False
    word = _word(value, lang) if isinstance(value, str) else None
    return (word.text, False) if word and word.text else ((word.code, True) if word else (str(value), False))


def _inline(value: Any, names: Names, lang: str) -> str:
    """A nested value (an object of a list, say a payee) as one line of text, by names where it names something."""
    if isinstance(value, dict):
        return ", ".join(f"{_label(k, lang) or k}: {_inline(v, names, lang)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_inline(v, names, lang) for v in value)
    if isinstance(value, bool):
        return "✓" if value else "✗"
    named = names.of(value)
    return named.name if named else _item(value, lang)[0]


def shown_fields(detail: dict[str, Any], names: Names, lang: str) -> list[Shown]:
    """The detail's fields, labelled in `lang`, each value by name and code where it names something known."""
    out = [_field(k, v, names, lang) for k, v in detail.items() if k not in SKIPPED and v not in (None, "", [], {})]
    if detail.get("signed"):
        out.append(Shown(translate("f_signed", lang), "✓"))
    return out
