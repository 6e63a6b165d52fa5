"""API shapes of registration certificates (登记证书) and their checks against the chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from registry.schemas import ChainReceiptOut


class CancellationNote(BaseModel):
    """Why and when a product's registration was cancelled (注销登记): the approved application."""

    application_id: str
    cancelled_at: datetime | None
    reasons: str | None = Field(description="the operator's reasons for applying")
    decision_reasons: str | None = Field(description="the exchange's reasons for approving")


class CertificateOut(BaseModel):
    code: str
    product_id: str
    product_code: str
    holder: dict[str, Any]
    basis: dict[str, Any]
    body: dict[str, Any]
    cert_hash: str
    chain: ChainReceiptOut
    issued_at: datetime
    status: str = Field("in_force", description="in_force, or cancelled (the product's registration was "
                                                "cancelled: see `cancellation`)")
    cancellation: CancellationNote | None = None
    correction: dict[str, Any] | None = Field(None, description="the correction (更正登记) this certificate's "
                                                                "version applied: `id`, `evidence`")


class CertificateCheck(BaseModel):
    code: str
    valid: bool
    checks: dict[str, bool]
    chain_status: str | None
    chain_metadata_hash: str | None
    status: str = Field("valid", description="valid, cancelled (the registration was cancelled: not valid) or "
                                             "invalid (a check failed)")
    cancellation: CancellationNote | None = None
