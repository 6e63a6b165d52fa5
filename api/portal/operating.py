"""The operator's work in the portal: its products with their stage, revisions, review reasons, offers against
the price caps and provider nodes with their live state; revenue over time; and the forms to register a product,
submit it, edit a draft or propose a revision, publish an approved revision, publish and withdraw offers.

Every form is an act signed in the browser by the operator's own key (`static/signer.js`, through the portal's
proxy); the portal only reads the API as the signed-in operator. A registered product's answer comes back to
`POST /portal/operator/registered`, which redirects to its page (post/redirect/get); the other acts go through
`/portal/done`. API refusals are shown at their field in the page's language (`i18n_operator.OPERATOR_ERRORS`).
"""

from __future__ import annotations

import json
from typing import get_args
from urllib.parse import quote

from fastapi import Depends
from fastapi.responses import Response

from api.client import ApiError, Json
from api.portal.i18n import translate
from api.portal.i18n_operator import OPERATOR_ERRORS
from api.portal.pages import Shown, shown_of
from api.portal.revenue_chart import revenue_chart
from api.portal.web import Page, page, portal_router, see_other
from registry.trading.schemas import QueryKind

router = portal_router()
OFFER_KINDS = ("one_off", "subscription", "metered", "negotiable")
BASES = ("revenue", "cost", "negotiated")
QUERY_KINDS: tuple[str, ...] = get_args(QueryKind)  # what an offer may license: the registry's one list
COLUMN_TYPES = ("string", "integer", "number", "date", "boolean")
FREQUENCIES = ("realtime", "daily", "weekly", "monthly", "quarterly", "yearly", "irregular")
EDITABLE = ("draft",)
REVISABLE = ("listed", "suspended")
COLUMN_ROWS = 6
TIER_ROWS = 3


def error_texts(lang: str) -> str:
    """A form's `data-errors`: each known refusal's field and message in `lang`, for `signer.js`."""
    return json.dumps({k: {"field": f, "text": translate(m, lang)} for k, (f, m) in OPERATOR_ERRORS.items()},
                      ensure_ascii=False)


def _revenue(p: Page) -> tuple[Json | None, list[Json]]:
    """The operator's statement by month (income rows) and its rows summed per product; None if it fails."""
    try:
        statement = p.client.statement("month")
    except ApiError:
        return None, []
    by_product: dict[str, dict[str, int]] = {}
    for row in statement["income"]:
        sums = by_product.setdefault(row["product_id"], {"amount_fen": 0, "escrowed_fen": 0, "licenses": 0})
        for k in sums:
            sums[k] += int(row.get(k) or 0)
    return statement, [{"product_id": k, **v} for k, v in by_product.items()]


def _nodes(p: Page, product_id: str) -> list[Json]:
    try:
        return p.client.product_nodes(product_id)
    except ApiError:
        return []


@router.get("/operator")
def operator_home(p: Page = Depends(page("operator"))) -> Response:
    """The operator's products (stage, version, offers, nodes), and revenue by month with its chart."""
    products = sorted(p.client.catalog_all(operator=p.me["id"]), key=lambda x: x["code"])
    nodes = {x["id"]: _nodes(p, x["id"]) for x in products}
    statement, per_product = _revenue(p)
    titles = {x["id"]: x for x in products}
    return p.render("operator.html", products=products, nodes=nodes, statement=statement,
                    per_product=per_product, titles=titles,
                    chart=revenue_chart(statement["income"]) if statement else None)


def _caps(p: Page, product_id: str) -> dict[str, int | None]:
    """The cap binding each charge form now (fen; None: no cap)."""
    try:
        return p.client.price_caps_now(product_id)
    except ApiError:
        return {}


def _reviews(p: Page, product_id: str) -> list[Json]:
    try:
        return p.client.reviews(product_id)
    except ApiError:
        return []


def _revisions(p: Page, prod: Json) -> list[Json]:
    if prod["status"] in ("draft", "submitted", "under_review", "rejected"):
        return []
    try:
        return p.client.revisions(prod["id"])
    except ApiError:
        return []


@router.get("/operator/products/{ref}")
def operator_product(ref: str, p: Page = Depends(page("operator"))) -> Response:
    """One product of the operator: its facts, review decisions with reasons, revisions, provider nodes, offers
    with the caps, and the forms that act on it."""
    prod = p.client.product(ref)
    if prod["operator_id"] != p.me["id"]:
        return p.render("error.html", status=403, message=translate("op_not_yours", p.lang))
    nodes = _nodes(p, prod["id"])
    try:
        purposes = p.client.authorization(prod["authorization_id"])["purposes"]
    except ApiError:
        purposes = []
    return p.render("operator_product.html", product=prod, nodes=nodes, offers=p.client.offers(prod["id"]),
                    policy=p.client.query_policy(prod["id"]),
                    caps=_caps(p, prod["id"]), reviews=_reviews(p, prod["id"]), revisions=_revisions(p, prod),
                    editable=prod["status"] in EDITABLE, revisable=prod["status"] in REVISABLE,
                    kinds=OFFER_KINDS, bases=BASES, purposes=purposes, query_kinds=QUERY_KINDS,
                    tier_rows=range(TIER_ROWS),
                    error_texts=error_texts(p.lang), frequencies=FREQUENCIES)


@router.get("/operator/register")
def register_form(p: Page = Depends(page("operator"))) -> Response:
    """The form to register a product: descriptive fields, the authorization and resources it rests on, its
    providers (those with a registered node) and a small table of query columns."""
    authorizations = [a for a in p.client.authorizations() if a["status"] == "active"]
    resources = {r["id"]: r for r in p.client.resources()}
    return p.render("operator_register.html", authorizations=authorizations, resources=resources,
                    nodes=p.client.nodes(), column_types=COLUMN_TYPES, column_rows=range(COLUMN_ROWS),
                    frequencies=FREQUENCIES, error_texts=error_texts(p.lang))


@router.post("/operator/registered")
def registered(shown: Shown = Depends(shown_of), p: Page = Depends(page("operator"))) -> Response:
    """`signer.js` drafted the product through the API and posts its answer here: a flash, then its page."""
    code = shown.response.get("code")
    if not isinstance(code, str) or not code:
        return see_other("/portal/operator")
    p.notes.flash(p.session_id, "done_product_registered")
    return see_other(f"/portal/operator/products/{quote(code, safe='')}")
