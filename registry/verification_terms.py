"""What a product declares when it offers verification calls (核验): its key column, the claims a buyer may
make, and the call rate one license may use.

Checked at registration against the product's own columns: the key is an integer or string column, each
claim column an integer or number column (its bounds are what the providers' nodes clip to)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from registry.errors import InvalidInput

ClaimOp = Literal["=", ">=", "<=", ">", "<", "between", "within_pct"]  # privacy.verify.OPS (a test keeps them equal)
Column = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")]
DEFAULT_PER_MINUTE = 30
DEFAULT_PER_DAY = 1000


class ClaimSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: Column
    ops: Annotated[list[ClaimOp], Field(min_length=1, max_length=7)]


class VerificationSpec(BaseModel):
    """``{"key": "herder_id", "claims": [{"column": "head_count", "ops": [">=", "between"]}]}``; the rate
    limits bound each license's calls per rolling minute and per rolling day (past them: 429)."""

    model_config = ConfigDict(extra="forbid")
    key: Column
    claims: Annotated[list[ClaimSpec], Field(min_length=1, max_length=20)]
    per_minute: Annotated[int, Field(strict=True, ge=1, le=10_000)] = DEFAULT_PER_MINUTE
    per_day: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] = DEFAULT_PER_DAY


def check_against_columns(spec: VerificationSpec, columns: list[Any]) -> None:
    """InvalidInput naming the field unless the key and claim columns are declared with fitting types."""
    types = {c.name: c.type for c in columns}
    if types.get(spec.key) not in ("integer", "string"):
        raise InvalidInput("verification.key", f"{spec.key!r} must be one of the product's integer or string columns")
    names = [c.column for c in spec.claims]
    if len(set(names)) != len(names):
        raise InvalidInput("verification.claims", "each column at most once")
    for i, c in enumerate(spec.claims):
        if types.get(c.column) not in ("integer", "number"):
            raise InvalidInput(f"verification.claims[{i}].column",
                               f"{c.column!r} must be one of the product's integer or number columns")
