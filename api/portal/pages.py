"""Role pages: the buyer's licenses and queries, revenue against the maximum allowed and the annual reports, the
operator's data-asset ledger. (The exchange's, the authority's and the auditor's pages: `api.portal.governance`.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from api.client import ApiError, Json
from api.portal import budgets, charts
from api.portal.web import Page, form_data, page, portal_router, see_other
from registry.assets.categories import CATEGORIES
from registry.queries.schemas import PreviewOut, QueryOut
from registry.reports.period import CST, FIRST_YEAR, LAST_YEAR, year_of

router = portal_router()


class Shown(BaseModel):
    """What `signer.js` posts after an act whose answer is to be shown: the form's fields and the API's JSON answer
    (as JSON, or as a form's `form` and `response` fields holding JSON)."""

    form: dict[str, str]
    response: dict[str, Any]


async def shown_of(request: Request) -> Shown:
    body = await request.body()
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            return Shown.model_validate_json(body)
        fields = await form_data(request)
        return Shown(form=json.loads(fields.get("form") or "{}"), response=json.loads(fields.get("response") or "{}"))
    except (ValueError, ValidationError) as e:
        raise HTTPException(422, f"not an answer to show: {e}") from e


# ------------------------------------------------------------------------------------ buyer

def _buyer_view(p: Page, license_id: str | None, **extra: Any) -> Response:
    licenses = p.client.licenses()
    products = {pid: p.client.product(pid) for pid in {lic["product_id"] for lic in licenses}}
    chosen = next((lic for lic in licenses if lic["id"] == license_id), licenses[0] if licenses else None)
    columns: list[Json] = []
    figures: list[budgets.BudgetFigure] = []
    if chosen:
        allowed = set(chosen["terms"].get("columns", []))
        columns = [c for c in products[chosen["product_id"]]["columns"] if c["name"] in allowed]
        figures = [budgets.license_figure(p.client, chosen), *budgets.product_figures(p.client, chosen["product_id"])]
    model = _license_model(p, chosen, products)
    result = extra.get("result")
    fit = result and any(isinstance(v, dict) for g in result["groups"] for v in g["values"].values())
    chart = charts.bar_chart(result["groups"]) if result and not fit else None
    default_sql = ""
    if columns:
        group = next((c["name"] for c in columns if c.get("group_by")), None)
        num = next((c["name"] for c in columns if c["type"] in ("number", "integer")), None)
        default_sql = f"SELECT COUNT(*){f', AVG({num})' if num else ''} FROM data" + (
            f" GROUP BY {group}" if group else "")
    values = {"sql": default_sql, "epsilon": "0.1", **extra.pop("values", {})}
    return p.render("buyer.html", status=extra.pop("status", 200), licenses=licenses, products=products,
                    chosen=chosen, columns=columns, figures=figures, chart=chart, values=values, model=model,
                    **extra)


def _license_model(p: Page, chosen: Json | None, products: dict[str, Json]) -> Json | None:
    """The fitted model a license on a model product delivers (None: not a model product, or not fitted yet)."""
    if not chosen or products[chosen["product_id"]].get("deliverable") != "model":
        return None
    try:
        return p.client.license_model(chosen["id"])
    except ApiError as e:
        if e.status != 404:
            raise
        return None


@router.get("/buyer")
def buyer(license: str | None = None, p: Page = Depends(page("buyer"))) -> Response:
    return _buyer_view(p, license)


@router.post("/buyer/result")
def buyer_result(shown: Shown = Depends(shown_of), p: Page = Depends(page("buyer"))) -> Response:
    """`signer.js` ran the signed query through the API (the portal holds no key, so it cannot run it itself) and
    posts the answer here: it is kept for this session and the browser goes to the page showing it, which a
    reload shows again without running the query (or spending ε) again."""
    result = _valid(QueryOut, shown.response)
    note = p.keep("query", {"result": result, "values": shown.form})
    return see_other(f"/portal/buyer/results/{note}")


@router.get("/buyer/results/{note}")
def buyer_result_page(note: str, p: Page = Depends(page("buyer"))) -> Response:
    kept = p.kept("query", note)
    if kept is None:
        return _buyer_view(p, None, status=404, gone=True)
    return _buyer_view(p, kept["result"]["license_id"], values=dict(kept["values"]), result=kept["result"])


@router.post("/buyer/preview")
def buyer_preview(shown: Shown = Depends(shown_of), p: Page = Depends(page("buyer"))) -> Response:
    """The query form's Preview button: `signer.js` sent the query to `POST /queries/preview` (signed like every
    POST; nothing is spent) and posts the answer here; it is kept and shown beside the form on a GET page."""
    preview = _valid(PreviewOut, shown.response)
    values = {k: str(shown.form.get(k, "")) for k in ("license_id", "sql", "epsilon")}
    note = p.keep("preview", {"preview": preview, "values": values})
    return see_other(f"/portal/buyer/previews/{note}")


@router.get("/buyer/previews/{note}")
def buyer_preview_page(note: str, p: Page = Depends(page("buyer"))) -> Response:
    kept = p.kept("preview", note)
    if kept is None:
        return _buyer_view(p, None, status=404, gone=True)
    values = dict(kept["values"])
    return _buyer_view(p, values.pop("license_id", None), values=values, preview=kept["preview"])


def _valid(model: type[BaseModel], value: dict[str, Any]) -> dict[str, Any]:
    try:
        return model.model_validate(value).model_dump(mode="json")
    except ValidationError as e:
        raise HTTPException(422, f"not an answer of the API: {e}") from e


# ------------------------------------------------------------------------------------ revenue and reports

@router.get("/reports")
def reports(year: int | None = Query(None, ge=FIRST_YEAR, le=LAST_YEAR), p: Page = Depends(page("reports"))) \
        -> Response:
    """Revenue against the maximum allowed (the authority sets it here), and the published reports (the authority
    and operators publish theirs here)."""
    year = year or year_of(datetime.now(UTC))
    accounts = {p.me["id"]: p.me} if p.me["role"] == "operator" else {a["id"]: a for a in p.client.accounts()}
    return p.render("reports.html", year=year, rows=p.client.revenue(year), published=p.client.published_reports(),
                    accounts=accounts, operators=[a for a in accounts.values() if a["role"] == "operator"])


# ------------------------------------------------------------------------------------ data assets (operator)

@router.get("/assets")
def assets(product: str | None = None, year: int | None = Query(None, ge=FIRST_YEAR, le=LAST_YEAR),
           p: Page = Depends(page("assets"))) -> Response:
    """The operator's products: one's cost and revenue ledger for a year, its cost entries, the form to declare
    or correct a cost (signed by the operator's key), and the accountant's evidence export."""
    year = year or year_of(datetime.now(UTC))
    products = sorted(p.client.catalog_all(operator=p.me["id"]), key=lambda x: x["code"])
    chosen = next((x for x in products if product in (x["id"], x["code"])), products[0] if products else None)
    book = p.client.asset_ledger(chosen["id"], year) if chosen else None
    entries = p.client.costs(chosen["id"]) if chosen else []
    return p.render("assets.html", products=products, chosen=chosen, year=year, book=book, entries=entries,
                    categories=CATEGORIES, today=datetime.now(CST).date().isoformat())


@router.get("/assets/evidence")
def assets_evidence(product: str, year: int = Query(..., ge=FIRST_YEAR, le=LAST_YEAR),
                    p: Page = Depends(page("assets"))) -> Response:
    """The evidence export, fetched from the API as the signed-in operator and handed to the browser."""
    data = p.client.asset_evidence_zip(product, year)
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="asset-evidence-{year}.zip"'})
