"""The buyer's purchase in the portal: choose an offer, a quantity and a voucher (a GET form), see the quote with its
split among the payees (the API's `GET /products/{ref}/quote`, computed by the settlement contract), then buy: the
buy form is signed in the browser by the buyer's key (`static/signer.js`, `POST /orders` through the proxy) and its
answer comes back to `POST /portal/buyer/bought`, which redirects to the licenses page (post/redirect/get).

The licenses page shows each license's terms, usage and budget left, and serves the receipt of its purchase (the
`license.purchase` ledger record with its inclusion proof, `GET /licenses/{id}/receipt`) as a JSON download."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends
from fastapi.responses import Response

from api.client import ApiError, Json
from api.portal import budgets
from api.portal.i18n import translate
from api.portal.i18n_buying import BUY_ERRORS
from api.portal.pages import Shown, shown_of
from api.portal.refusals import refusal_text
from api.portal.web import Page, page, portal_router, see_other

router = portal_router()
BUYABLE_KINDS = ("one_off", "subscription", "metered")  # a negotiable offer is negotiated, not bought


def refusal(code: str, field: str | None, lang: str) -> tuple[str, str] | None:
    """The field an API refusal is about and its message in `lang`, if the buying pages know the refusal."""
    known = BUY_ERRORS.get(f"{code}:{field}") or BUY_ERRORS.get(code)
    return (known[0], translate(known[1], lang)) if known else None


def error_texts(lang: str) -> str:
    """The buy form's `data-errors`: each known refusal's field and message, for `signer.js`."""
    return json.dumps({k: {"field": f, "text": translate(m, lang)} for k, (f, m) in BUY_ERRORS.items()},
                      ensure_ascii=False)


def _buyable(p: Page, product: Json) -> list[Json]:
    """The product's offers this buyer can buy now: active, priced, public or made for this buyer."""
    return [o for o in p.client.offers(product["id"])
            if o["active"] and o["kind"] in BUYABLE_KINDS and o["buyer_id"] in (None, p.me["id"])]


def _my_vouchers(p: Page) -> list[Json]:
    return [v for v in p.client.vouchers()
            if v["holder_id"] == p.me["id"] and v["remaining_fen"] > 0 and not v["expired"]]


def _balance(p: Page) -> int | None:
    """The buyer's balance on chain, or None while the chain does not answer (the pages still show the rest)."""
    try:
        return int(p.client.balance()["balance_fen"])
    except ApiError:
        return None


def _quantity(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and 0 < int(text) <= 10**6 else None


@router.get("/buy")
def buy(product: str = "", offer: str = "", quantity: str = "", voucher: str = "",
        p: Page = Depends(page("buyer"))) -> Response:
    """Choose a product (when none is named), then an offer, a quantity and a voucher; with an offer chosen, the
    quote with its split and the signed buy form. Refusals are shown at their field, in the page's language."""
    if not product:
        products = sorted(p.client.catalog_all(status="listed"), key=lambda x: x["code"])
        return p.render("buy.html", product=None, products=products)
    prod = p.client.product(product)
    offers = _buyable(p, prod)
    chosen = next((o for o in offers if o["id"] == offer), offers[0] if len(offers) == 1 else None)
    values = {"offer": chosen["id"] if chosen else "", "quantity": quantity or "1", "voucher": voucher}
    errors: dict[str, str] = {}
    quote = balance = None
    amount = _quantity(values["quantity"])
    if offer and chosen is None:
        errors["offer_id"] = translate("err_offer", p.lang)
    if amount is None:
        errors["quantity"] = translate("err_quantity", p.lang)
    elif chosen and offer:
        quote, errors = _quote(p, prod, chosen, amount, voucher or None)
        balance = _balance(p) if quote else None
        if quote and balance is not None and balance < quote["payable_fen"]:
            errors["quantity"] = translate("err_balance", p.lang)
    return p.render("buy.html", product=prod, offers=offers, chosen=chosen, vouchers=_my_vouchers(p), values=values,
                    errors=errors, quote=quote, balance=balance, error_texts=error_texts(p.lang))


def _quote(p: Page, prod: Json, offer: Json, quantity: int, voucher: str | None) -> tuple[Json | None, dict[str, str]]:
    """The API's quote, or the refusal at its field."""
    try:
        return p.client.quote(prod["id"], offer["id"], quantity, voucher), {}
    except ApiError as e:
        field, text = refusal(e.code, e.field, p.lang) or (e.field or "offer_id",
                                                           refusal_text(e.code, e.detail, p.lang))
        return None, {field: text}


@router.post("/buyer/bought")
def bought(shown: Shown = Depends(shown_of), p: Page = Depends(page("buyer"))) -> Response:
    """`signer.js` bought the license through the API and posts its answer here: a flash, then the licenses page
    with the new license (a reload or a language switch shows it again and buys nothing)."""
    lic = shown.response.get("license") or {}
    license_id = lic.get("id") if isinstance(lic, dict) else None
    p.notes.flash(p.session_id, "done_bought" if license_id else "done_order_pending")
    query = f"?{urlencode({'new': license_id})}" if isinstance(license_id, str) else ""
    return see_other("/portal/buyer/licenses" + query)


@router.get("/buyer/licenses")
def licenses(new: str = "", p: Page = Depends(page("buyer"))) -> Response:
    """Every license of the buyer with its terms, usage and budget left, and its receipt to download; a license
    for verification calls (核验) lists its calls (the CLI makes and opens them: answers are sealed to the buyer)."""
    items = list(reversed(p.client.licenses()))
    products = {pid: p.client.product(pid) for pid in {lic["product_id"] for lic in items}}
    figures = {lic["id"]: budgets.license_figure(p.client, lic) for lic in items}
    calls = {lic["id"]: p.client.verifications(lic["id"]) for lic in items if "verify" in lic["terms"]["query_kinds"]}
    nodes = {lid: _verification_nodes(p, lid) for lid in calls}
    return p.render("licenses.html", licenses=items, products=products, balance=_balance(p), new=new,
                    figures=figures, calls=calls, nodes=nodes)


def _verification_nodes(p: Page, license_id: str) -> list[Any]:
    """The nodes a verification question is sealed to (the tab checks each node's signature on its sealing key);
    none when a node cannot be reached (the form then says so)."""
    try:
        return p.client.verification_nodes(license_id)
    except ApiError:
        return []


@router.get("/buyer/licenses/{license_id}/receipt")
def receipt(license_id: str, p: Page = Depends(page("buyer"))) -> Response:
    """The purchase's ledger receipt (record, leaf hash, checkpoint, inclusion proof), fetched as the signed-in
    buyer and handed to the browser as a JSON file."""
    body: dict[str, Any] = p.client.license_receipt(license_id)
    name = f"provex-receipt-{body['seq']}-license-{license_id[:8]}.json"
    return Response(json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                    media_type="application/json", headers={"Content-Disposition": f'attachment; filename="{name}"'})
