"""Request and response shapes of the registration procedure: public notice, objections, revisions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from registry.schemas import Checklist, Strict

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


class RevisionOut(BaseModel):
    id: str
    product_id: str
    proposer_id: str
    base_version: int
    changes: dict[str, Any]
    metadata_hash: str
    status: str = Field(description="pending, approved (the operator publishes it), rejected or published")
    review_id: str | None
    reasons: str | None
    created_at: datetime
    decided_at: datetime | None
