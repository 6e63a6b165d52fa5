"""Role pages: the buyer's licenses and queries, the exchange's review queue, the authority's resources and
vouchers, the auditor's provenance and verification."""

from __future__ import annotations

from typing import Any

from fastapi import Depends
from fastapi.responses import Response
from pydantic import BaseModel

from api.client import Json
from api.portal import charts
from api.portal.web import CHECKS, Page, page, portal_router
from api.routers.audit import VerifyOut
from registry.queries.schemas import QueryOut

router = portal_router()


class Shown(BaseModel):
    """What `signer.js` posts to draw an act's answer: the form's fields and the API's JSON answer."""

    form: dict[str, str]
    response: dict[str, Any]


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
    return p.render("buyer.html", licenses=licenses, products=products, chosen=chosen, columns=columns,
                    gauge=meter, chart=chart, values=values, **extra)


@router.get("/buyer")
def buyer(license: str | None = None, p: Page = Depends(page("buyer"))) -> Response:
    return _buyer_view(p, license)


@router.post("/buyer/result")
def buyer_result(shown: Shown, p: Page = Depends(page("buyer"))) -> Response:
    """The buyer page showing a query's result: `signer.js` ran the signed query through the API and posts its
    answer here to be drawn (the portal holds no key, so it cannot run the query itself)."""
    result = QueryOut.model_validate(shown.response).model_dump(mode="json")
    return _buyer_view(p, result["license_id"], values=shown.form, result=result)


# ------------------------------------------------------------------------------------ exchange

@router.get("/exchange")
def exchange(p: Page = Depends(page("exchange"))) -> Response:
    def items(status: str) -> list[Json]:
        return list(p.client.catalog_all(status=status))

    return p.render("exchange.html", queue=items("submitted") + items("under_review"),
                    live=items("listed") + items("suspended"), rejected=items("rejected"), checks=CHECKS)


# ------------------------------------------------------------------------------------ authority

@router.get("/authority")
def authority(p: Page = Depends(page("authority"))) -> Response:
    accounts = {a["id"]: a for a in p.client.accounts()}
    return p.render("authority.html", resources=p.client.resources(), authorizations=p.client.authorizations(),
                    vouchers=p.client.vouchers(), accounts=accounts,
                    buyers=[a for a in accounts.values() if a["role"] == "buyer"])


# ------------------------------------------------------------------------------------ auditor

def _auditor_view(p: Page, product: str | None, **extra: Any) -> Response:
    products = sorted(p.client.catalog_all(limit=100), key=lambda x: x["code"])
    ref = product or (products[0]["code"] if products else None)
    trace = p.client.trace(ref) if ref else None
    return p.render("auditor.html", products=products, ref=ref, trace=trace, checkpoints=p.client.checkpoints(limit=10),
                    **extra)


@router.get("/auditor")
def auditor(product: str | None = None, p: Page = Depends(page("auditor"))) -> Response:
    return _auditor_view(p, product)


@router.post("/auditor/report")
def auditor_report(shown: Shown, p: Page = Depends(page("auditor"))) -> Response:
    """The auditor page showing a verification report `signer.js` obtained from the API by a signed request."""
    report = VerifyOut.model_validate(shown.response).model_dump(mode="json")
    return _auditor_view(p, shown.form.get("product") or None, report=report)


@router.get("/auditor/records/{seq}")
def auditor_record(seq: int, p: Page = Depends(page("auditor"))) -> Response:
    return p.render("record.html", receipt=p.client.record(seq))
