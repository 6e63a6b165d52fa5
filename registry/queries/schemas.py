"""Request and response shapes of provider nodes, query policies and queries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from privacy.unit import MAX_GROUPS_PER_ID, MAX_ROWS_PER_ID
from registry.privacy_unit import DEFAULT_GROUPS_PER_ID, DEFAULT_ROWS_PER_ID
from registry.schemas import Strict, Uuid

Hex32 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="Ed25519 public key, 32 bytes, lower-case hex")]


class NodeIn(Strict):
    node_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                                  description="the id the node was started with (`--id`)")]
    url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?$", max_length=500,
                              description="base URL the exchange reaches the node at")]
    public_key: Hex32
    policy_hash: Annotated[str | None, Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the signed policy the node enforces (`provex provider "
        "policy show`); the node must report the same; null only for a node without a policy")] = None

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "node_id": "hohhot-agri-1", "url": "http://10.0.0.5:8801", "public_key": "ab" * 32,
        "policy_hash": "cd" * 32}]})


class NodeOut(BaseModel):
    account_id: str
    node_id: str
    url: str
    public_key: str
    policy_hash: str | None = Field(description="the node's registered policy hash; the coordinator refuses the "
                                                "node when it reports another")
    registered_at: datetime
    updated_at: datetime


class CoordinatorIdentity(BaseModel):
    public_key: str = Field(description="the exchange's coordinator Ed25519 key (hex); nodes trust only it")
    protocol: str


class QueryPolicyIn(Strict):
    """How a product answers queries. `noise: false` only for products without personal information."""

    noise: bool = True
    threshold: Annotated[int | None, Field(strict=True, ge=1, le=50, description="providers needed; a majority; "
                                           "default floor(n/2)+1")] = None
    min_group_size: Annotated[int, Field(strict=True, ge=0, le=10_000, description="groups with a smaller (noised) "
                                         "count are suppressed")] = 10
    default_epsilon: Annotated[float, Field(
        strict=True, gt=0, le=100, description="per query when the buyer names none")] = 0.1
    default_delta: Annotated[float, Field(strict=True, gt=0, lt=1e-3)] = 1e-6
    max_rows_per_id: Annotated[int, Field(strict=True, ge=1, le=MAX_ROWS_PER_ID, description=(
        "R: rows each privacy ID may contribute to each group, at each provider (products with a privacy-ID "
        "column; chosen at random)"))] = DEFAULT_ROWS_PER_ID
    max_groups_per_id: Annotated[int, Field(strict=True, ge=1, le=MAX_GROUPS_PER_ID, description=(
        "G: groups each privacy ID may contribute to, at each provider"))] = DEFAULT_GROUPS_PER_ID
    ids_partitioned: bool = Field(False, description="each privacy ID is held by one provider only: every node's "
                                  "policy declares its own, non-overlapping ID prefixes and drops other IDs")


class QueryPolicyOut(BaseModel):
    product_id: str
    noise: bool
    threshold: int = Field(description="effective threshold")
    providers: int
    min_group_size: int
    default_epsilon: float
    default_delta: float
    max_rows_per_id: int
    max_groups_per_id: int
    ids_partitioned: bool
    privacy_unit: dict[str, Any] | None = Field(description="the product's privacy unit (column, R, G and how many "
                                                            "providers one ID may span); null: a row is the unit")


class QueryIn(Strict):
    license_id: Uuid
    sql: Annotated[str, Field(min_length=1, max_length=20_000)]
    epsilon: Annotated[float | None, Field(strict=True, gt=0, le=100, description="privacy cost of this query "
                                           "(default: the product's); not allowed when it answers exactly")] = None
    delta: Annotated[float | None, Field(strict=True, gt=0, lt=1e-3)] = None

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "license_id": "00000000-0000-4000-8000-000000000001",
        "sql": "SELECT COUNT(*), AVG(yield_t) FROM data GROUP BY county", "epsilon": 0.5}]})


class BudgetLeft(BaseModel):
    epsilon: float | None
    delta: float | None
    queries: int | None


class QueryOut(BaseModel):
    query_id: str
    license_id: str
    product_id: str
    plan_hash: str
    result_hash: str = Field(description="SHA-256 of the canonical JSON of `result`")
    result: dict[str, Any] = Field(description="groups with their `values`, standard errors `se` and 95 % "
                                   "intervals `ci95` (0 and [v, v] when exact); a cell over fewer rows than the "
                                   "minimum group size is null, a suppressed group has null values")
    groups: list[dict[str, Any]]
    suppressed_groups: list[dict[str, Any]]
    noised: bool
    providers: int = Field(description="how many provider nodes' data is in the result (not which)")
    providers_dropped: int = Field(description="how many of the product's nodes did not take part")
    epsilon_spent: float
    delta_spent: float
    rho_spent: float
    budget_left: BudgetLeft
    receipt: dict[str, Any] = Field(description="ledger record seq and where to fetch its receipt")


class PreviewQuery(Strict):
    sql: Annotated[str, Field(min_length=1, max_length=20_000)]
    epsilon: Annotated[float | None, Field(strict=True, gt=0, le=100)] = None
    delta: Annotated[float | None, Field(strict=True, gt=0, lt=1e-3)] = None


class PreviewIn(Strict):
    """One query or a batch, to be priced as if run in this order under one license; nothing is spent. One query
    may also be given flat (`sql`, `epsilon`, `delta`, as `POST /queries` takes it)."""

    license_id: Uuid
    queries: Annotated[list[PreviewQuery] | None, Field(min_length=1, max_length=20)] = None
    sql: Annotated[str | None, Field(min_length=1, max_length=20_000)] = None
    epsilon: Annotated[float | None, Field(strict=True, gt=0, le=100)] = None
    delta: Annotated[float | None, Field(strict=True, gt=0, lt=1e-3)] = None

    @model_validator(mode="after")
    def _one_or_batch(self) -> PreviewIn:
        if (self.queries is None) == (self.sql is None):
            raise ValueError("queries: give a batch (`queries`) or one query (`sql`), not both")
        if self.sql is not None:
            self.queries = [PreviewQuery(sql=self.sql, epsilon=self.epsilon, delta=self.delta)]
        elif self.epsilon is not None or self.delta is not None:
            raise ValueError("epsilon: give it per query in `queries`")
        return self

    def batch(self) -> list[PreviewQuery]:
        return self.queries or []

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "license_id": "00000000-0000-4000-8000-000000000001",
        "queries": [{"sql": "SELECT COUNT(*), AVG(yield_t) FROM data GROUP BY county", "epsilon": 0.5},
                    {"sql": "SELECT SUM(yield_t) FROM data"}]}]})


class ExpectedError(BaseModel):
    stat: str = Field(description="the released total: count_star, count, sum, sumsq or hist (each bin); or a "
                                  "quantile, min or max, whose sd is in rows of rank and quantum its bin width")
    column: str | None
    bins: int | None = None
    sd: float = Field(description="standard deviation of its noise, in the column's own units (0 when exact); an "
                                  "average's error is about sd / n of its group's count n")
    ci95_half_width: float
    quantum: float = Field(description="per-row rounding of a quantised total (0 when none)")


class PreviewItem(BaseModel):
    sql: str
    kinds: list[str]
    noised: bool
    epsilon: float = Field(description="what the query would be charged (what POST /queries charges)")
    delta: float
    rho: float
    price_fen: int = Field(description="the per-query charge of a metered license (0 otherwise)")
    expected_error: list[ExpectedError] = Field(description="per released total, with every registered provider "
                                                            "taking part (fewer survivors add less noise)")
    refused: dict[str, Any] | None = Field(None, description="set when the license would refuse this query here "
                                                             "(the rule and what is left); nothing after it is priced")


class PreviewOut(BaseModel):
    license_id: str
    product_id: str
    queries: list[PreviewItem]
    budget_left: BudgetLeft = Field(description="on the license after the priced queries (in its current budget "
                                                "window when it has one)")
    budget_window: str | None = Field(None, description="the license's budget window: day, week, month; null: never")
    window_start: datetime | None = Field(None, description="the window the queries would be charged to (UTC)")
    window_refreshes_at: datetime | None = Field(None, description="when the next window starts fresh (UTC)")
    product_budget_left: BudgetLeft = Field(description="the buyer's budget on the product across its licenses "
                                                        "after the priced queries")
    product_total_left: BudgetLeft = Field(description="what all buyers together have left on the product after "
                                                       "the priced queries (null: no product-wide cap)")
    spent: bool = Field(False, description="always false: a preview spends nothing")
