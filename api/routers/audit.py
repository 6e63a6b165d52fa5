"""Audit: ledger record receipts, provenance traces, account actions, verification."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import AnyCtx, AuditorCtx, OverseerCtx, SettingsDep
from api.security import recent_events
from ledger.verify import Divergence
from registry.audit import account_actions, record_receipt, trace_product, verify_database
from registry.limits import MAX_CURSOR

router = APIRouter(tags=["audit"])


class CheckpointOut(BaseModel):
    index: int | None
    tree_size: int
    root: str
    tx_hash: str | None
    block_number: int | None


class RecordReceipt(BaseModel):
    seq: int
    record: dict[str, Any] = Field(description="the canonical record as stored")
    leaf_hash: str = Field(description="SHA-256(0x00 || canonical record), hex")
    anchored: bool
    checkpoint: CheckpointOut | None = Field(description="the first confirmed checkpoint covering the record")
    inclusion_proof: list[str] | None = Field(description="RFC 6962 audit path, leaf to root, hex")


class TraceStepOut(BaseModel):
    at: str
    stage: str
    kind: str
    actor: dict[str, Any] | None
    detail: dict[str, Any]
    link: dict[str, Any] = Field(description="tx_hash/block_number/log_index, or record_seq/receipt")


class TraceOut(BaseModel):
    product: dict[str, Any]
    steps: list[TraceStepOut]
    open_destructions: list[str] = Field(description="licenses whose delivered copies are not confirmed destroyed")


class ActionsOut(BaseModel):
    account: dict[str, Any]
    actions: list[dict[str, Any]]


class VerifyOut(BaseModel):
    ok: bool
    records: int
    anchored: int
    unanchored: int
    checkpoints: int
    seconds: float
    divergence: Divergence | None = Field(description="the first place database and chain disagree")
    also: list[Divergence] = Field(default_factory=list, description="further divergences after the first")


@router.get("/ledger/records/{seq}", response_model=RecordReceipt, summary="A ledger record with its receipt")
def get_record(c: AnyCtx, seq: int = Path(ge=0, le=MAX_CURSOR)) -> dict[str, Any]:
    return record_receipt(c.session, c.actor, seq)


@router.get("/audit/products/{ref}/trace", response_model=TraceOut, summary="A product's provenance, in order")
def trace(ref: str, c: OverseerCtx) -> dict[str, Any]:
    return trace_product(c.session, c.gateway.ledger, ref).as_dict()


@router.get("/audit/accounts/{account_id}/actions", response_model=ActionsOut,
            summary="Everything an account did, and under which authorization")
def actions(account_id: str, c: OverseerCtx) -> dict[str, Any]:
    return account_actions(c.session, c.gateway.ledger, account_id)


@router.post("/audit/verify", response_model=VerifyOut,
             summary="Recompute from the database and compare with the chain; names the first divergence")
def verify(c: AuditorCtx) -> dict[str, Any]:
    return verify_database(c.session, c.gateway.ledger).as_dict()


class SecurityEvent(BaseModel):
    at: str
    kind: str
    status: int
    method: str
    path: str
    client: str | None
    key_fingerprint: str | None = Field(description="SHA-256 prefix of the presented credential")
    detail: str
    count: int | None = Field(None, description="`rate_limited` and `suppressed` events: how many refusals")


@router.get("/audit/security-events", response_model=list[SecurityEvent],
            summary="Refused authentications and authorizations, newest last")
def security_events(_: AuditorCtx, settings: SettingsDep,
                    limit: int = Query(200, ge=1, le=5000)) -> list[dict[str, Any]]:
    return recent_events(settings.home, limit)
