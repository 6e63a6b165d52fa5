"""Destruction confirmation of delivered copies when a license ends."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import BuyerCtx
from registry.trading.destruction import confirm_destruction

router = APIRouter(tags=["licenses"])


class DestructionIn(BaseModel):
    statement: str = Field(min_length=1, max_length=2000,
                           examples=["All query results received under this license were deleted on 2026-11-20."])


class DestructionOut(BaseModel):
    license_id: str
    record_seq: int = Field(description="ledger record of the confirmation")
    receipt: str


@router.post("/licenses/{license_id}/destruction", response_model=DestructionOut, status_code=201,
             summary="Confirm destruction of delivered copies after the license ended (buyer)")
def confirm(license_id: str, body: DestructionIn, c: BuyerCtx) -> dict[str, Any]:
    record = confirm_destruction(c.session, c.actor, license_id, body.statement)
    c.commit()
    return {"license_id": license_id, "record_seq": record.seq, "receipt": f"/ledger/records/{record.seq}"}
