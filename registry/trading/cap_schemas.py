"""Request and response bodies of the price caps per charge form (registry.trading.caps)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from registry.limits import Fen
from registry.schemas import ChainReceiptOut, Strict

UnixTime = Annotated[int, Field(strict=True, ge=0, le=2**40, description="unix seconds")]
ChargeForm = Literal["one_off", "metered", "subscription"]  # per item, per call, per period (= the offer kind)


class PriceCapRuleIn(Strict):
    """The authority's cap on one charge form of a product (Settlement.setFormCap); 0 falls through to the
    product's cap."""

    cap_fen: Fen = Field(description="highest unit price in fen from `effective_from`; 0: none")
    effective_from: UnixTime = Field(description="unix seconds from which `cap_fen` binds")
    trial_cap_fen: Fen = Field(0, description="highest unit price in fen before `trial_until` (试行价格); 0: none")
    trial_until: UnixTime = Field(0, description="unix seconds at which the trial period ends")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "cap_fen": 300, "effective_from": 1_767_196_800, "trial_cap_fen": 200, "trial_until": 1_767_196_800}]})


class PriceCapRuleOut(BaseModel):
    product_id: str
    kind: str = Field(description="the charge form: one_off per item, metered per call, subscription per period")
    cap_fen: int
    effective_from: int
    trial_cap_fen: int
    trial_until: int
    cap_now_fen: int | None = Field(description="the unit-price cap binding this form now; null: none")
    chain: ChainReceiptOut
