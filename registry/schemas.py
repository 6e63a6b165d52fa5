"""Request and response shapes of the registry services (pydantic; the API uses them as-is)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ledger.statements import StatementDomain
from privacy.plan import MAX_DECIMALS
from privacy.plan import ColumnSpec as PlanColumn
from registry.bindings import SignedBinding
from registry.limits import Sample
from registry.model_schemas import Deliverable, ModelSpec, check_model_spec
from registry.privacy_unit import one_privacy_id
from registry.verification_terms import VerificationSpec

Name = Annotated[str, Field(min_length=1, max_length=200)]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", examples=["agriculture"])]
RegionCode = Annotated[str, Field(pattern=r"^\d{6}$", description="GB/T 2260 division code",
                                  examples=["150100"])]
Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256, lower-case hex")]
Uuid = Annotated[str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
Frequency = Literal["realtime", "daily", "weekly", "monthly", "quarterly", "yearly", "irregular"]
ClassificationName = Literal["general", "important", "core"]
SensitivityTag = Literal["personal_information", "commercial_secret", "location", "health", "financial",
                         "minors", "public_security"]
RoleName = Literal["authority", "operator", "provider", "exchange", "buyer", "auditor"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ accounts

class AccountIn(Strict):
    """An account for the holder of `address`, who signed the `ProvexBinding` (docs/signing.md)."""

    role: RoleName
    name: Name
    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    nonce: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    deadline: int = Field(ge=0, lt=2**48)
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"role": "operator", "name": "Hohhot Data Operations Co.",
                      "address": "0x" + "11" * 20, "nonce": "0x" + "22" * 32, "deadline": 1796000000,
                      "signature": "0x" + "33" * 65}]})

    def binding(self, domain: StatementDomain) -> SignedBinding:
        return SignedBinding.of(self.model_dump(), self.role, self.name, domain)


class AccountOut(BaseModel):
    id: str
    name: str
    role: str
    address: str
    chain_state: str
    created_at: datetime


class AccountCreated(AccountOut):
    api_key: str = Field(description="shown once; only its hash is stored")


# ----------------------------------------------------------------- resources

class ColumnSpec(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")]
    type: Literal["integer", "number", "string", "date", "boolean"]
    description: Annotated[str, Field(max_length=500)] = ""


class ResourceIn(Strict):
    name: Name
    department: Name
    sector: Code
    region_code: RegionCode
    classification: ClassificationName
    sensitivity_tags: Annotated[list[SensitivityTag], Field(max_length=10)] = []
    content_hash: Hex64
    column_schema: Annotated[list[ColumnSpec], Field(min_length=1, max_length=200)]
    update_frequency: Frequency
    volume: Annotated[int, Field(strict=True, ge=0, le=10**15, description="rows")]

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Hohhot crop yield by county", "department": "Hohhot Agriculture Bureau",
        "sector": "agriculture", "region_code": "150100", "classification": "general",
        "sensitivity_tags": ["commercial_secret"], "content_hash": "ab" * 32,
        "column_schema": [{"name": "county", "type": "string"}, {"name": "yield_t", "type": "number"}],
        "update_frequency": "yearly", "volume": 120000}]})


class ResourceOut(BaseModel):
    id: str
    code: str
    name: str
    department: str
    sector: str
    region_code: str
    classification: str
    sensitivity_tags: list[str]
    content_hash: str
    column_schema: list[dict[str, Any]]
    update_frequency: str
    volume: int
    metadata_hash: str
    registered_by: str
    chain_state: str
    tx_hash: str | None
    block_number: int | None
    log_index: int | None
    created_at: datetime


# ------------------------------------------------------------ authorizations

class AuthorizationIn(Strict):
    operator_id: Uuid
    resource_ids: Annotated[list[Uuid], Field(min_length=1, max_length=100)]
    purposes: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]],
                        Field(min_length=1, max_length=20)]
    valid_from: datetime
    valid_until: datetime
    max_classification: Literal["general", "important"]

    @field_validator("valid_from", "valid_until")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a timezone (e.g. 2026-01-01T00:00:00Z)")
        return value

    @field_validator("valid_until")
    @classmethod
    def _window(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("valid_from")
        if start is not None and value <= start:
            raise ValueError("must be after valid_from")
        return value


class RevokeIn(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class LimitIn(Strict):
    """A limit: an earlier end and/or fewer purposes (at least one); widening is a new grant."""

    valid_until: Annotated[datetime | None, Field(description="the new end: before the current one, not past "
                                                              "(a later one: 409 LimitWidens)")] = None
    purposes: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]] | None,
                        Field(min_length=1, max_length=20, description="the purposes kept: some of the granted "
                                                                       "ones, at least one")] = None
    reason: Annotated[str, Field(min_length=1, max_length=2000, description="why; kept in the ledger record")]

    @field_validator("valid_until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a timezone (e.g. 2026-01-01T00:00:00Z)")
        return value


class AuthorizationOut(BaseModel):
    id: str
    code: str
    authority_id: str
    operator_id: str
    resource_ids: list[str]
    purposes: list[str]
    purpose_hash: str
    valid_from: datetime
    valid_until: datetime
    max_classification: str
    status: Literal["active", "expired", "revoked", "pending"]
    revoked_reason: str | None
    revoked_at: datetime | None
    chain_state: str
    tx_hash: str | None
    block_number: int | None
    log_index: int | None
    created_at: datetime


# ------------------------------------------------------------------ products

class QueryColumn(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")]
    type: Literal["integer", "number", "string", "date", "boolean"]
    min: Annotated[float | None, Field(strict=True, description="lower bound (numeric columns)")] = None
    max: Annotated[float | None, Field(strict=True, description="upper bound (numeric columns)")] = None
    decimals: Annotated[int | None, Field(strict=True, ge=0, le=MAX_DECIMALS, description=(
        "number columns: decimal places kept (default 2); a value with more is rounded half away "
        "from zero at this many places (DuckDB ROUND). Integers have 0."))] = None
    group_by: bool = False
    domain: Annotated[list[str], Field(max_length=1000)] = Field(
        default_factory=list, description="public value domain of a group-by column")
    privacy_id: bool = Field(False, description="the privacy-ID column: at most one; never queried or shown")

    @model_validator(mode="after")
    def _bounds(self) -> QueryColumn:
        if self.type in ("integer", "number"):
            if self.min is None or self.max is None:
                raise ValueError(f"numeric column {self.name} needs min and max")
            if self.min >= self.max:
                raise ValueError(f"column {self.name}: min must be below max")
            PlanColumn(self.name, "int" if self.type == "integer" else "float", self.min, self.max,
                       decimals=self.decimals)  # the capacity rule: privacy.plan.ColumnSpec
        elif self.decimals is not None:
            raise ValueError(f"column {self.name}: decimals only apply to number columns")
        if self.group_by and not self.domain:
            raise ValueError(f"group-by column {self.name} needs its public value domain")
        if self.privacy_id and (self.group_by or self.type not in ("string", "integer")):
            raise ValueError(f"privacy-ID column {self.name} must be a string or integer, never group_by")
        return self


class Quality(Strict):
    completeness: Annotated[float, Field(strict=True, ge=0, le=1)]
    timeliness: Annotated[float, Field(strict=True, ge=0, le=1)]
    accuracy: Annotated[float, Field(strict=True, ge=0, le=1)]


class ProductFields(Strict):
    """Editable descriptive fields (DCAT plus the Chinese registration fields)."""

    title: Name
    description: Annotated[str, Field(min_length=1, max_length=20000)]
    sector: Code
    keywords: Annotated[list[Annotated[str, Field(min_length=1, max_length=50)]], Field(max_length=20)] = []
    region_code: RegionCode
    temporal_start: date | None = None
    temporal_end: date | None = None
    update_frequency: Frequency
    license: Name = "Provex standard data license v1"
    source_statement: Annotated[str, Field(min_length=1, max_length=5000)]
    classification: Literal["general", "important"]
    scale: Name
    columns: Annotated[list[QueryColumn], Field(min_length=1, max_length=200), AfterValidator(one_privacy_id)]
    sample: Sample = []
    quality: Quality
    deliverable: Deliverable = "data"
    model: ModelSpec | None = None
    _deliverable = model_validator(mode="after")(check_model_spec)
    verification: VerificationSpec | None = None  # verification calls (核验): registry.verification_terms

    @field_validator("temporal_end")
    @classmethod
    def _temporal(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("temporal_start")
        if value is not None and start is not None and value < start:
            raise ValueError("must not precede temporal_start")
        return value


PRODUCT_EXAMPLE: dict[str, Any] = {
    "title": "Hohhot county crop yields 2015-2024", "description": "Annual yields by county and crop.",
    "sector": "agriculture", "keywords": ["crops", "yield", "农业"], "region_code": "150100",
    "temporal_start": "2015-01-01", "temporal_end": "2024-12-31", "update_frequency": "yearly",
    "source_statement": "Hohhot Agriculture Bureau statistics, authorized operation.",
    "classification": "general", "scale": "9 counties x 10 years x 12 crops",
    "columns": [{"name": "county", "type": "string", "group_by": True, "domain": ["Xincheng", "Huimin"]},
                {"name": "yield_t", "type": "number", "min": 0, "max": 1000000}],
    "sample": [{"county": "Xincheng", "yield_t": 1234.5}],
    "quality": {"completeness": 0.98, "timeliness": 0.9, "accuracy": 0.95},
    "authorization_id": "00000000-0000-4000-8000-000000000001",
    "resource_ids": ["00000000-0000-4000-8000-000000000002"], "provider_ids": []}


class ProductIn(ProductFields):
    authorization_id: Uuid
    resource_ids: Annotated[list[Uuid], Field(min_length=1, max_length=100)]
    provider_ids: Annotated[list[Uuid], Field(max_length=50)] = []

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [PRODUCT_EXAMPLE]})


class ProductPatch(Strict):
    """Any subset of the descriptive fields; drafts change freely, listed products get a new version."""

    title: Name | None = None
    description: Annotated[str, Field(min_length=1, max_length=20000)] | None = None
    keywords: Annotated[list[Annotated[str, Field(min_length=1, max_length=50)]], Field(max_length=20)] | None = None
    temporal_start: date | None = None
    temporal_end: date | None = None
    update_frequency: Frequency | None = None
    license: Name | None = None
    source_statement: Annotated[str, Field(min_length=1, max_length=5000)] | None = None
    scale: Name | None = None
    sample: Sample | None = None
    quality: Quality | None = None

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"title": "New title"}]})


class Checklist(Strict):
    lawful_source: bool
    valid_authorization: bool
    classification_consistent: bool
    personal_information_removed: bool
    sample_synthetic: bool


class ReviewIn(Strict):
    decision: Literal["approve", "reject"]
    checklist: Checklist
    reasons: Annotated[str, Field(min_length=1, max_length=5000)]
    notice_days: float | None = Field(None, ge=0, le=365, description="approval only: the public notice "
                                      "period in days, at least the configured PROVEX_NOTICE_DAYS (its default)")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "decision": "approve", "reasons": "All checks passed.",
        "checklist": {"lawful_source": True, "valid_authorization": True, "classification_consistent": True,
                      "personal_information_removed": True, "sample_synthetic": True}}]})


class StatusChangeIn(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class ChainReceiptOut(BaseModel):
    state: str
    tx_hash: str | None
    block_number: int | None
    log_index: int | None


class ProductOut(BaseModel):
    id: str
    code: str
    status: str
    version: int
    title: str
    description: str
    publisher: str
    operator_id: str
    sector: str
    theme: str
    keywords: list[str]
    region_code: str
    temporal_start: str | None
    temporal_end: str | None
    update_frequency: str
    license: str
    source_statement: str
    authorization_id: str
    authorization_basis: str
    resource_ids: list[str]
    provider_ids: list[str]
    classification: str
    scale: str
    columns: list[dict[str, Any]]
    sample: list[dict[str, Any]]
    quality: dict[str, Any]
    offers: list[dict[str, Any]]
    price_from_fen: int | None
    verification: dict[str, Any] | None = None
    metadata_hash: str
    chain: ChainReceiptOut
    created_at: datetime
    updated_at: datetime
    listed_at: datetime | None
    notice_ends_at: datetime | None = Field(None, description="in_notice: when the public notice period ends")
    privacy_unit: dict[str, Any] | None = Field(None, description="{column, max_rows_per_id, max_groups_per_id, "
                                                "providers_per_id}: the noise hides one ID; null: one row")
    deliverable: Deliverable = "data"
    model: dict[str, Any] | None = None


class ReviewOut(BaseModel):
    id: str
    product_id: str
    reviewer_id: str
    decision: str
    checklist: dict[str, Any]
    reasons: str
    product_version: int
    metadata_hash: str
    record_seq: int | None
    created_at: datetime


class CatalogPage(BaseModel):
    items: list[ProductOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null at the end")
