"""The governance pages: the exchange's review, notices, orders and settlements and suspensions; the authority's
resources, authorizations (grant, limit, revoke), price caps, voucher programmes and disclosures; the auditor's
timeline, record pages, verification, witnesses, anchoring lag and downloads.

Every form that changes state is signed in the browser by the participant's own key (`static/signer.js`) and sent
through the portal's proxy; its refusals are shown at their field in the page's language (`GOV_ERRORS`), and a
success comes back through `/portal/done` to the GET page (post/redirect/get)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends
from fastapi.responses import Response

from api.client import Json
from api.portal import charts_time
from api.portal.fields import Names, Shown, shown_fields
from api.portal.i18n import MESSAGES, translate
from api.portal.i18n_governance import GOV_ERRORS, LIMIT_ERRORS
from api.portal.pages import Shown as Answer
from api.portal.pages import _valid, shown_of
from api.portal.web import CHECKS, Page, page, portal_router, see_other
from api.routers.audit import VerifyOut
from registry.reports.period import year_of

router = portal_router()
RECENT_ORDERS = 30
SECTORS = ("agriculture", "energy", "health")
FREQUENCIES = ("realtime", "daily", "weekly", "monthly", "quarterly", "yearly", "irregular")
CLASSIFICATIONS = ("general", "important", "core")


def error_texts(lang: str, own: dict[str, tuple[str, str]] | None = None) -> str:
    """A governance form's `data-errors`: each known refusal's field and message (the form's `own` first), for
    `signer.js`."""
    errors = {**GOV_ERRORS, **(own or {})}
    return json.dumps({k: {"field": f, "text": translate(m, lang)} for k, (f, m) in errors.items()},
                      ensure_ascii=False)


def _products(p: Page) -> list[Json]:
    return sorted(p.client.catalog_all(limit=100), key=lambda x: x["code"])


# ------------------------------------------------------------------------------------ exchange

def _settlements(p: Page, orders: list[Json]) -> list[Json]:
    """The newest orders with the buyer's and product's names and the settlement state of their license."""
    licenses = {lic["id"]: lic for lic in p.client.licenses()}
    return [{**o, "settlement": licenses[o["license_id"]]["status"] if o["license_id"] in licenses else "none"}
            for o in reversed(orders[-RECENT_ORDERS:])]


@router.get("/exchange")
def exchange(p: Page = Depends(page("exchange"))) -> Response:
    def items(status: str) -> list[Json]:
        return list(p.client.catalog_all(status=status))

    live, noticed = items("listed") + items("suspended"), items("in_notice")
    notices = [{"product": n, "objections": p.client.objections(n["id"])} for n in noticed]
    pending = [(prod, r) for prod in live + noticed for r in p.client.revisions(prod["id"]) if r["status"] == "pending"]
    orders = p.client.all_orders()
    paid = [o for o in orders if o["state"] == "paid"]
    names = Names(p.client.accounts(), _products(p))
    return p.render("exchange.html", queue=items("submitted") + items("under_review"), live=live,
                    rejected=items("rejected"), checks=CHECKS, notices=notices,
                    revisions=[{"product": prod, "revision": r, "fields": shown_fields(r["changes"], names, p.lang)}
                               for prod, r in pending if r["kind"] != "cancellation"],
                    cancellations=[{"product": prod, "revision": r} for prod, r in pending
                                   if r["kind"] == "cancellation"],
                    orders=_settlements(p, orders), order_chart=charts_time.orders_chart(orders),
                    order_counts=Counter(o["state"] for o in orders),
                    paid_total=sum(int(o["amount_fen"] or 0) for o in paid),
                    names=names, error_texts=error_texts(p.lang))


# ------------------------------------------------------------------------------------ authority

@router.get("/authority")
def authority(p: Page = Depends(page("authority"))) -> Response:
    accounts = {a["id"]: a for a in p.client.accounts()}
    capped = [x for x in _products(p) if x["status"] in ("listed", "in_notice", "suspended", "under_review")]
    disclosures = [r for r in p.client.published_reports() if r["scope"] == "authority"]
    return p.render("authority.html", resources=p.client.resources(), authorizations=p.client.authorizations(),
                    vouchers=p.client.vouchers(), programmes=p.client.voucher_programmes(), accounts=accounts,
                    buyers=[a for a in accounts.values() if a["role"] == "buyer"],
                    operators=[a for a in accounts.values() if a["role"] == "operator"],
                    welfare_users=p.client.public_welfare_users(),
                    welfare_licenses=p.client.licenses(use="public_welfare"), products=capped,
                    disclosures=disclosures, sectors=SECTORS, frequencies=FREQUENCIES,
                    classifications=CLASSIFICATIONS, error_texts=error_texts(p.lang),
                    limit_error_texts=error_texts(p.lang, LIMIT_ERRORS), year=year_of(datetime.now(UTC)) - 1)


# ------------------------------------------------------------------------------------ auditor

def _names(p: Page, products: list[Json], licenses: bool = False) -> Names:
    return Names(p.client.accounts(), products, p.client.resources(), p.client.authorizations(),
                 p.client.licenses() if licenses else [])


def stage_key(stage: str) -> str:
    key = f"stage_{stage}"
    return key if key in MESSAGES else "stage_other"


def _step(s: Json, names: Names, lang: str) -> Json:
    """A timeline step as the page shows it: stage and kind by name (with the kind's code), the actor by name and
    role, the detail as fields."""
    return {**s, "stage_key": stage_key(s["stage"]), "kind_key": f"k_{s['kind']}" if f"k_{s['kind']}" in MESSAGES
            else None, "fields": shown_fields(s["detail"], names, lang)}


def _auditor_view(p: Page, product: str | None, **extra: Any) -> Response:
    products = _products(p)
    ref = product or (products[0]["code"] if products else None)
    trace = p.client.trace(ref) if ref else None
    names = _names(p, products)
    steps = [_step(s, names, p.lang) for s in trace["steps"]] if trace else []
    lag = p.client.anchoring_lag()
    return p.render("auditor.html", status=extra.pop("status", 200), products=products, ref=ref, trace=trace,
                    steps=steps, checkpoints=p.client.checkpoints(limit=10), lag=lag,
                    lag_chart=charts_time.lag_chart(lag), **extra)


@router.get("/auditor")
def auditor(product: str | None = None, p: Page = Depends(page("auditor"))) -> Response:
    return _auditor_view(p, product)


@router.post("/auditor/report")
def auditor_report(shown: Answer = Depends(shown_of), p: Page = Depends(page("auditor"))) -> Response:
    """A verification report `signer.js` obtained from the API by a signed request: kept for this session, and
    the browser goes to the page showing it."""
    report = _valid(VerifyOut, shown.response)
    note = p.keep("report", {"report": report, "product": shown.form.get("product") or None})
    return see_other(f"/portal/auditor/reports/{note}")


@router.get("/auditor/reports/{note}")
def auditor_report_page(note: str, p: Page = Depends(page("auditor"))) -> Response:
    kept = p.kept("report", note)
    if kept is None:
        return _auditor_view(p, None, status=404, gone=True)
    return _auditor_view(p, kept["product"], report=kept["report"])


def _record_fields(p: Page, record: Json) -> list[Shown]:
    names = _names(p, _products(p), licenses=True)
    head = {"actor": record.get("actor"), "subject": record.get("subject"),
            "authorization": record.get("authorization")}
    return shown_fields(head, names, p.lang) + shown_fields(record.get("data") or {}, names, p.lang)


@router.get("/auditor/records/{seq}")
def auditor_record(seq: int, p: Page = Depends(page("auditor"))) -> Response:
    receipt = p.client.record(seq)
    kind = receipt["record"].get("kind", "")
    return p.render("record.html", receipt=receipt, fields=_record_fields(p, receipt["record"]),
                    kind_key=f"k_{kind}" if f"k_{kind}" in MESSAGES else None)


@router.get("/auditor/records/{seq}/receipt")
def auditor_record_receipt(seq: int, p: Page = Depends(page("auditor"))) -> Response:
    """The record's receipt (record, leaf hash, checkpoint, inclusion proof) as a JSON file."""
    body = p.client.record(seq)
    return Response(json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                    media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="provex-record-{seq}.json"'})


@router.get("/auditor/anchoring-lag.csv")
def auditor_lag_csv(p: Page = Depends(page("auditor"))) -> Response:
    """The anchoring lag per checkpoint as CSV."""
    out = io.StringIO()
    fields = ("index", "tree_size", "at", "records", "min_s", "median_s", "max_s")
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(p.client.anchoring_lag(limit=500))
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="provex-anchoring-lag.csv"'})

