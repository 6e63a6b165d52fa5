"""Role pages: the buyer's licenses and queries, the exchange's review queue, the authority's resources and
vouchers, the auditor's provenance and verification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Depends
from fastapi.responses import RedirectResponse, Response

from api.client import ApiError, Json
from api.portal import charts
from api.portal.web import (
    CHECKS,
    Page,
    field_errors,
    form_data,
    page,
    portal_router,
)

router = portal_router()


# ------------------------------------------------------------------------------------ buyer

def _buyer_view(p: Page, license_id: str | None, **extra: Any) -> Response:
    licenses = p.client.licenses()
    products = {pid: p.client.product(pid) for pid in {lic["product_id"] for lic in licenses}}
    chosen = next((lic for lic in licenses if lic["id"] == license_id), licenses[0] if licenses else None)
    columns: list[Json] = []
    meter = None
    if chosen:
        allowed = set(chosen["terms"].get("columns", []))
        columns = [c for c in products[chosen["product_id"]]["columns"] if c["name"] in allowed]
        meter = charts.gauge(chosen["epsilon_left"], chosen["terms"].get("epsilon"))
    result = extra.get("result")
    chart = charts.bar_chart(result["groups"]) if result else None
    default_sql = ""
    if columns:
        group = next((c["name"] for c in columns if c.get("group_by")), None)
        num = next((c["name"] for c in columns if c["type"] in ("number", "integer")), None)
        default_sql = f"SELECT COUNT(*){f', AVG({num})' if num else ''} FROM data" + (
            f" GROUP BY {group}" if group else "")
    values = {"sql": default_sql, "epsilon": "0.1", **extra.pop("values", {})}
    return p.render("buyer.html", status=extra.pop("status", 200), licenses=licenses, products=products,
                    chosen=chosen, columns=columns, gauge=meter, chart=chart, values=values, **extra)


@router.get("/buyer")
def buyer(license: str | None = None, p: Page = Depends(page("buyer"))) -> Response:
    return _buyer_view(p, license)


@router.post("/buyer/query")
def run_query(form: dict[str, str] = Depends(form_data), p: Page = Depends(page("buyer"))) -> Response:
    license_id = form.get("license_id", "")
    try:
        epsilon = float(form["epsilon"]) if form.get("epsilon") else None
    except ValueError:
        return _buyer_view(p, license_id, values=form, errors={"epsilon": "not a number"}, status=422)
    try:
        result = p.client.query(license_id, form.get("sql", ""), epsilon=epsilon)
    except ApiError as e:
        errors = field_errors(e)
        if "_" in errors:
            errors = {"sql": errors.pop("_")}
        return _buyer_view(p, license_id, values=form, errors=errors, status=e.status)
    return _buyer_view(p, license_id, values=form, result=result)


# ------------------------------------------------------------------------------------ exchange

def _exchange_view(p: Page, **extra: Any) -> Response:
    def items(status: str) -> list[Json]:
        return list(p.client.catalog_all(status=status))

    queue = items("submitted") + items("under_review")
    live = items("listed") + items("suspended")
    rejected = items("rejected")
    return p.render("exchange.html", status=extra.pop("status", 200), queue=queue, live=live, rejected=rejected,
                    checks=CHECKS, **extra)


@router.get("/exchange")
def exchange(p: Page = Depends(page("exchange"))) -> Response:
    return _exchange_view(p, errors={}, ref=None)


@router.post("/exchange/{ref}/start")
def exchange_start(ref: str, p: Page = Depends(page("exchange"))) -> Response:
    try:
        p.client.start_review(ref)
    except ApiError as e:
        return _exchange_view(p, errors=field_errors(e), ref=ref, status=e.status)
    return RedirectResponse("/portal/exchange", status_code=303)


@router.post("/exchange/{ref}/review")
def exchange_review(ref: str, form: dict[str, str] = Depends(form_data),
                    p: Page = Depends(page("exchange"))) -> Response:
    checklist = {c: c in form for c in CHECKS}
    try:
        p.client.review(ref, form.get("decision", ""), checklist, form.get("reasons", ""))
    except ApiError as e:
        return _exchange_view(p, errors=field_errors(e), ref=ref, values=form, status=e.status)
    return RedirectResponse("/portal/exchange", status_code=303)


@router.post("/exchange/{ref}/status")
def exchange_status(ref: str, form: dict[str, str] = Depends(form_data),
                    p: Page = Depends(page("exchange"))) -> Response:
    action = form.get("action", "")
    try:
        if action not in ("suspend", "relist", "delist"):
            raise ApiError(422, "invalid_input", "choose suspend, relist or delist", {"field": "action"})
        p.client.set_status(ref, action, form.get("reason", ""))
    except ApiError as e:
        return _exchange_view(p, errors=field_errors(e), ref=ref, values=form, status=e.status)
    return RedirectResponse("/portal/exchange", status_code=303)


# ------------------------------------------------------------------------------------ authority

def _authority_view(p: Page, **extra: Any) -> Response:
    accounts = {a["id"]: a for a in p.client.accounts()}
    return p.render("authority.html", status=extra.pop("status", 200), resources=p.client.resources(),
                    authorizations=p.client.authorizations(), vouchers=p.client.vouchers(), accounts=accounts,
                    buyers=[a for a in accounts.values() if a["role"] == "buyer"],
                    errors=extra.pop("errors", {}), **extra)


@router.get("/authority")
def authority(p: Page = Depends(page("authority"))) -> Response:
    return _authority_view(p, ref=None, values={})


@router.post("/authority/authorizations/{ref}/revoke")
def authority_revoke(ref: str, form: dict[str, str] = Depends(form_data),
                     p: Page = Depends(page("authority"))) -> Response:
    try:
        p.client.revoke_authorization(ref, form.get("reason", ""))
    except ApiError as e:
        return _authority_view(p, errors=field_errors(e), ref=ref, values=form, status=e.status)
    return RedirectResponse("/portal/authority", status_code=303)


@router.post("/authority/vouchers")
def authority_voucher(form: dict[str, str] = Depends(form_data), p: Page = Depends(page("authority"))) -> Response:
    try:
        amount = round(float(form.get("amount_yuan") or "0") * 100)
        days = int(form.get("days") or "0")
    except ValueError:
        return _authority_view(p, errors={"amount_fen": "not a number"}, ref="voucher", values=form, status=422)
    body = {"holder_id": form.get("holder_id", ""), "amount_fen": amount,
            "expires_at": (datetime.now(UTC) + timedelta(days=days)).isoformat(),
            "sectors": [s.strip() for s in form.get("sectors", "").split(",") if s.strip()]}
    try:
        p.client.issue_voucher(body)
    except ApiError as e:
        return _authority_view(p, errors=field_errors(e), ref="voucher", values=form, status=e.status)
    return RedirectResponse("/portal/authority", status_code=303)


# ------------------------------------------------------------------------------------ auditor

def _auditor_view(p: Page, product: str | None, **extra: Any) -> Response:
    products = sorted(p.client.catalog_all(limit=100), key=lambda x: x["code"])
    ref = product or (products[0]["code"] if products else None)
    trace = p.client.trace(ref) if ref else None
    return p.render("auditor.html", products=products, ref=ref, trace=trace, **extra)


@router.get("/auditor")
def auditor(product: str | None = None, p: Page = Depends(page("auditor"))) -> Response:
    return _auditor_view(p, product)


@router.post("/auditor/verify")
def auditor_verify(form: dict[str, str] = Depends(form_data), p: Page = Depends(page("auditor"))) -> Response:
    return _auditor_view(p, form.get("product") or None, report=p.client.verify())


@router.get("/auditor/records/{seq}")
def auditor_record(seq: int, p: Page = Depends(page("auditor"))) -> Response:
    return p.render("record.html", receipt=p.client.record(seq))
