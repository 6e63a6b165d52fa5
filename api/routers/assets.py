"""Data-asset evidence (数据资产入表): the operator declares a product's costs; its operator and the overseers read
its cost and revenue ledger and download the accountant's evidence export."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from api.deps import OperatorCtx, ReaderCtx
from registry.assets import costs as svc
from registry.assets.evidence import evidence_files, evidence_zip
from registry.assets.schemas import AssetLedgerOut, CostIn, CostOut
from registry.reports.period import FIRST_YEAR, LAST_YEAR

router = APIRouter(tags=["assets"])
YEAR = Query(..., ge=FIRST_YEAR, le=LAST_YEAR, examples=[2026], description="calendar year, China Standard Time")


@router.post("/products/{ref}/costs", status_code=201, response_model=CostOut,
             summary="Declare a cost of the product, or correct an earlier entry (its own operator)")
def declare(ref: str, body: CostIn, c: OperatorCtx) -> CostOut:
    row = svc.declare_cost(c.session, c.actor, ref, body)
    c.commit()
    return svc.cost_view(row)


@router.get("/products/{ref}/costs", response_model=list[CostOut],
            summary="The product's declared cost entries, oldest first, with their corrections")
def costs(ref: str, c: ReaderCtx) -> list[CostOut]:
    return svc.costs_of(c.session, svc.readable_product(c.session, c.actor, ref))


@router.get("/products/{ref}/asset-ledger", response_model=AssetLedgerOut,
            summary="The product's cost and revenue ledger per month, with cumulative totals")
def asset_ledger(ref: str, c: ReaderCtx, year: int | None = Query(None, ge=FIRST_YEAR, le=LAST_YEAR,
                                                                   description="default: every month")) \
        -> AssetLedgerOut:
    return svc.asset_ledger(c.session, c.actor, ref, year)


@router.get("/products/{ref}/asset-evidence", summary="The accountant's evidence export for a year (ZIP)",
            responses={200: {"content": {"application/zip": {}}, "description": "README.txt, ledger.csv, "
                             "periods.csv, asset-ledger.json, certificate.json, product-metadata.json, "
                             "records.jsonl, checkpoint.json, manifest.json"}})
def asset_evidence(ref: str, c: ReaderCtx, year: int = YEAR) -> Response:
    product = svc.readable_product(c.session, c.actor, ref)
    data = evidence_zip(evidence_files(c.session, c.gateway.ledger, product, year))
    name = f"asset-evidence-{product.code}-{year}.zip"
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
