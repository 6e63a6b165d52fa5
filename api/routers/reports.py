"""Maximum allowed revenue and annual disclosure and operating reports (published ones are public)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi import APIRouter, Query, Response

from api.deps import AuthorityCtx, PublisherCtx, ReaderCtx, SessionDep
from registry.reports import publish as svc
from registry.reports.formats import to_csv, to_html
from registry.reports.period import FIRST_YEAR, LAST_YEAR, year_of
from registry.reports.revenue import revenue_rows, set_allowance
from registry.reports.schemas import AllowanceIn, PublishedOut, PublishIn, ReportFormat, RevenueRow

router = APIRouter(tags=["reports"])
MEDIA = {"json": "application/json", "csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8"}


@router.put("/revenue/allowances", response_model=RevenueRow,
            summary="Set an operator's maximum allowed revenue for a year (authority)")
def allowance(body: AllowanceIn, c: AuthorityCtx) -> RevenueRow:
    set_allowance(c.session, c.actor, body.operator_id, body.year, body.allowed_fen)
    c.commit()
    return RevenueRow(**revenue_rows(c.session, c.actor, body.year, body.operator_id)[0])


@router.get("/revenue", response_model=list[RevenueRow],
            summary="Revenue against the maximum allowed, per operator (an operator: its own)")
def revenue(c: ReaderCtx, year: int | None = Query(None, ge=FIRST_YEAR, le=LAST_YEAR, examples=[2026],
                                                    description="default: the current year"),
            operator_id: str | None = Query(None, max_length=36)) -> list[RevenueRow]:
    year = year or year_of(datetime.now(UTC))
    return [RevenueRow(**r) for r in revenue_rows(c.session, c.actor, year, operator_id)]


@router.post("/reports", status_code=201, response_model=PublishedOut,
             summary="Publish the caller's annual report: the authority's disclosure or an operator's own report")
def publish(body: PublishIn, c: PublisherCtx) -> PublishedOut:
    row = svc.publish_report(c.session, c.gateway.ledger, c.actor, body.year)
    c.commit()
    return PublishedOut(**svc.published_view(row))


@router.get("/reports", response_model=list[PublishedOut], summary="Published reports, newest first (public)")
def published(s: SessionDep, year: int | None = Query(None, ge=FIRST_YEAR, le=LAST_YEAR)) -> list[PublishedOut]:
    return [PublishedOut(**r) for r in svc.list_published(s, year)]


@router.get("/reports/{report_id}", summary="A published report as JSON (its canonical body), CSV or HTML (public)",
            responses={200: {"content": {m: {} for m in MEDIA.values()}}})
def download(report_id: str, s: SessionDep, format: ReportFormat = Query("json")) -> Response:
    row = svc.get_published(s, report_id)
    if format == "json":
        text = row.body
    else:
        body = json.loads(row.body)
        text = to_csv(body) if format == "csv" else to_html(body, row.report_hash, row.record_seq)
    name = f"report-{row.year}-{row.scope}.{format}"
    return Response(text, media_type=MEDIA[format], headers={"Content-Disposition": f'inline; filename="{name}"'})
