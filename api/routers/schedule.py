"""The public charge schedule: listed products' prices and caps, no account needed (JSON or CSV)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Response

from api.deps import SessionDep
from registry.limits import MAX_CURSOR
from registry.trading.schedule import MAX_PAGE, charge_schedule, schedule_csv
from registry.trading.schemas import ChargeScheduleOut

router = APIRouter(prefix="/charge-schedule", tags=["trading"])


@router.get("", response_model=ChargeScheduleOut, summary="Public charge schedule: prices and caps (public)",
            responses={200: {"content": {"text/csv": {}}}})
def schedule(s: SessionDep, limit: int = Query(100, ge=1, le=MAX_PAGE), cursor: int = Query(0, ge=0, le=MAX_CURSOR),
             sector: str | None = Query(None, pattern=r"^[a-z][a-z0-9_]{0,63}$"),
             format: Literal["json", "csv"] = "json") -> Response:
    page = charge_schedule(s, limit, cursor, sector)
    if format == "csv":
        return Response(schedule_csv(page), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="charge-schedule.csv"'})
    return Response(page.model_dump_json(), media_type="application/json")
