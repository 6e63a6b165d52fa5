"""Audit: ledger record receipts, provenance traces, account actions, verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import AnyCtx, AuditorCtx, OverseerCtx, SettingsDep
from api.security import recent_events
from ledger.verify import CheckpointCosigners, Divergence
from registry.anchoring_lag import anchoring_lag
from registry.audit import account_actions, checkpoint_cosigners, record_receipt, trace_product
from registry.limits import MAX_CURSOR
from registry.schemas import Strict
from registry.verification import verify_with_witnesses

router = APIRouter(tags=["audit"])


class CheckpointOut(BaseModel):
    index: int | None
    tree_size: int
    root: str
    tx_hash: str | None
    block_number: int | None


class PromiseOut(BaseModel):
    format: str = Field(description="provex-promise/1 (docs/ledger-format.md)")
    chain_id: int
    log: str = Field(description="the CheckpointLog the record will be anchored in")
    seq: int
    leaf_hash: str
    issued_at: int = Field(description="unix seconds")
    max_delay_s: int
    signer: str = Field(description="the recorder, who anchors")
    signature: str = Field(description="EIP-191 over the canonical JSON of the other fields")
    deadline: int = Field(description="issued_at + max_delay_s: the anchoring block's latest timestamp")
    status: str | None = Field(description="kept, pending or broken on the chain now (null: chain unavailable)")


class RecordReceipt(BaseModel):
    seq: int
    record: dict[str, Any] = Field(description="the canonical record as stored")
    leaf_hash: str = Field(description="SHA-256(0x00 || canonical record), hex")
    anchored: bool
    promise: PromiseOut | None = Field(description="the recorder's signed promise made when the record was written")
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
    notes: list[str] = Field(default_factory=list)
    witnesses: list[CheckpointCosigners] = Field(
        default_factory=list, description="per checkpoint, the witnesses that cosigned it (`Cosigned` events)")
    promises: dict[str, int] = Field({}, description="promises made at write time: kept, pending, broken")


Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]


class VerifyIn(Strict):
    witnesses: list[Address] = Field(default_factory=list, max_length=64,
                                     description="witness addresses expected to cosign every checkpoint")
    require_witness: bool = Field(False, description="a checkpoint an expected witness lacks is a divergence, "
                                                     "not a note")


class CosignerOut(BaseModel):
    id: str | None
    name: str | None
    role: str | None
    address: str


class ChainCheckpointOut(BaseModel):
    index: int
    tree_size: int
    root: str
    tx_hash: str
    block_number: int
    cosigners: list[CosignerOut] = Field(description="witnesses that cosigned it, named when they hold an account")


@router.get("/ledger/records/{seq}", response_model=RecordReceipt, summary="A ledger record with its receipt")
def get_record(c: AnyCtx, seq: int = Path(ge=0, le=MAX_CURSOR)) -> dict[str, Any]:
    return record_receipt(c.session, c.actor, seq, c.gateway.ledger)


@router.get("/audit/products/{ref}/trace", response_model=TraceOut, summary="A product's provenance, in order")
def trace(ref: str, c: OverseerCtx) -> dict[str, Any]:
    return trace_product(c.session, c.gateway.ledger, ref).as_dict()


@router.get("/audit/accounts/{account_id}/actions", response_model=ActionsOut,
            summary="Everything an account did, and under which authorization")
def actions(account_id: str, c: OverseerCtx) -> dict[str, Any]:
    return account_actions(c.session, c.gateway.ledger, account_id)


@router.post("/audit/verify", response_model=VerifyOut,
             summary="Recompute from the database and compare with the chain; names the first divergence")
def verify(c: AuditorCtx, body: VerifyIn | None = None) -> dict[str, Any]:
    body = body or VerifyIn()
    return verify_with_witnesses(c.session, c.gateway.ledger, body.witnesses, body.require_witness).as_dict()


@router.get("/audit/checkpoints", response_model=list[ChainCheckpointOut],
            summary="The newest checkpoints on chain, newest first, with the witnesses that cosigned each")
def checkpoints(c: OverseerCtx, limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    return checkpoint_cosigners(c.session, c.gateway.ledger, limit)


class AnchoringLagOut(BaseModel):
    index: int | None = Field(description="the checkpoint's index in CheckpointLog")
    tree_size: int
    at: str = Field(description="when the checkpoint was sent (ISO 8601)")
    records: int = Field(description="records this checkpoint anchored that the previous one did not")
    min_s: float | None
    median_s: float | None
    max_s: float | None = Field(description="seconds from writing a record to sending its checkpoint")


@router.get("/audit/anchoring-lag", response_model=list[AnchoringLagOut],
            summary="Per confirmed checkpoint, oldest first: how long its newly anchored records waited")
def anchoring(c: OverseerCtx, limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
    return anchoring_lag(c.session, limit)


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
