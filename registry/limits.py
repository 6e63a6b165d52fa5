"""The bounds every amount, quantity, count and nesting depth is held to: one definition for the schemas,
the database columns (BIGINT) and the chain calls (uint256), stated exactly in the OpenAPI.

- `MAX_FEN` (10^15 fen, ten trillion CNY) bounds every amount and unit price. A BIGINT holds about 9,223
  of them, so sums over statements and balances cannot overflow, and it is below 2^53, so JavaScript
  clients read it exactly.
- `MAX_QUANTITY` (10^9) bounds quantities: licenses, periods or queries bought at once. The price of a
  quantity (computed by the contract) must itself stay within `MAX_FEN`.
- `MAX_CURSOR` bounds pagination cursors (row ids are INTEGER on PostgreSQL).
- `MAX_JSON_DEPTH` (8 levels) and `MAX_SAMPLE_BYTES` (16 KiB) bound free-form JSON (product samples), so
  that every record carrying it stays within the ledger's canonical-JSON limits.

Strict types: an amount is a JSON integer, never `true`/`false` or a string; a float is a JSON number.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, Field

MAX_FEN = 10**15
MAX_QUANTITY = 10**9
MAX_CURSOR = 2**31 - 1
MAX_JSON_DEPTH = 8
MAX_SAMPLE_BYTES = 16 * 1024

Fen = Annotated[int, Field(strict=True, ge=0, le=MAX_FEN, description=f"integer fen (0.01 CNY), at most {MAX_FEN}")]
PositiveFen = Annotated[int, Field(strict=True, ge=1, le=MAX_FEN,
                                   description=f"integer fen (0.01 CNY), at most {MAX_FEN}")]
Quantity = Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY,
                                description=f"units: 1 (one-off), periods or queries; at most {MAX_QUANTITY}")]
Cursor = Annotated[int, Field(ge=0, le=MAX_CURSOR, description="return rows after this id")]



def json_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """The nesting depth of `value` (a scalar is 0), counted only up to `limit + 1`."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def bounded_sample(value: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A product sample within `MAX_JSON_DEPTH` levels and `MAX_SAMPLE_BYTES` bytes (pydantic validator)."""
    if json_depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels (the limit)")
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_SAMPLE_BYTES:
        raise ValueError(f"{size} bytes, over the limit of {MAX_SAMPLE_BYTES}")
    return value


Sample = Annotated[list[dict[str, Any]], Field(max_length=20, description=(
    f"a few synthetic rows; at most 20 rows, {MAX_JSON_DEPTH} levels deep and {MAX_SAMPLE_BYTES} bytes")),
    AfterValidator(bounded_sample)]
