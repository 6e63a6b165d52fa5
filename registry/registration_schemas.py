"""Request and response shapes of the registration procedure: public notice, objections, revisions, corrections
and cancellations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from registry.schemas import Checklist, ProductPatch, Strict

Reasons = Annotated[str, Field(min_length=1, max_length=5000)]


class ObjectionIn(Strict):
    """An objection to a product in its public notice, with the reasons (any signed-in account)."""

    reasons: Reasons

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "reasons": "The sample shows herd counts of a single named farm: personal information."}]})


class ObjectionResolutionIn(Strict):
    """upheld: the product is rejected with the objection as reason; dismissed: the notice goes on."""

    decision: Literal["upheld", "dismissed"]
    reasons: Reasons

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "decision": "dismissed", "reasons": "The sample is synthetic; no farm is identifiable."}]})


class ObjectionOut(BaseModel):
    id: str
    product_id: str
    filer_id: str
    reasons: str
    status: str
    resolver_id: str | None
    resolution: str | None
    created_at: datetime
    resolved_at: datetime | None


class NoticeOut(BaseModel):
    """A product's public notice (公示), readable without an account."""

    product_id: str
    code: str
    title: str
    publisher: str
    status: str
    notice_ends_at: datetime | None
    ended: bool = Field(description="the notice period is over")
    objections: int = Field(description="objections filed")
    open_objections: int = Field(description="objections not yet resolved (listing waits for none)")


class RevisionDecisionIn(Strict):
    """The exchange's review of a revision (the same checklist as the product's review)."""

    decision: Literal["approve", "reject"]
    checklist: Checklist
    reasons: Reasons

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "decision": "approve", "reasons": "The new description matches the data.", "checklist": {
        "lawful_source": True, "valid_authorization": True, "classification_consistent": True,
        "personal_information_removed": True, "sample_synthetic": True}}]})


class CorrectionIn(Strict):
    """A correction (更正登记) of registration facts that were wrong: the corrected fields and the evidence."""

    changes: ProductPatch
    evidence: Reasons = Field(description="why the registered facts were wrong, and what shows the right ones")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "changes": {"temporal_start": "2019-01-01"},
        "evidence": "The registered start year was a typing error: the source tables begin in 2019 (bureau "
                    "letter 2026-17)."}]})


class CancellationIn(Strict):
    """The operator's application to cancel a product's registration (注销登记), with its reasons."""

    reasons: Reasons

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "reasons": "The source survey is discontinued; the product will not be updated any more."}]})


class CancellationDecisionIn(Strict):
    """approve: the product is delisted (on chain too) and its certificates show `cancelled`; reject: nothing
    changes."""

    decision: Literal["approve", "reject"]
    reasons: Reasons

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "decision": "approve",
        "reasons": "The operator's reasons are confirmed; existing licenses keep their terms."}]})


class RevisionOut(BaseModel):
    """An application about a registered product: a change, a correction or a cancellation."""

    id: str
    product_id: str
    kind: str = Field(description="change (变更), correction (更正) or cancellation (注销)")
    proposer_id: str
    grounds: str | None = Field(description="the applicant's reasons: a correction's evidence, a cancellation's "
                                            "reasons (none for a change)")
    base_version: int
    changes: dict[str, Any]
    metadata_hash: str
    status: str = Field(description="pending, approved (a change or correction: the operator publishes it; a "
                                    "cancellation: done, the product is delisted), rejected or published")
    review_id: str | None
    reasons: str | None
    created_at: datetime
    decided_at: datetime | None
