"""A product's privacy unit as the registry states it: its privacy-ID column, if any, and the bounds its query
policy sets (R rows per ID per group, G groups per ID) with P, the providers one ID may span (all of them: the
worst case). None means row-level privacy. The plan-side meaning is `privacy.unit`."""

from __future__ import annotations

from typing import Any

DEFAULT_ROWS_PER_ID = 10
DEFAULT_GROUPS_PER_ID = 10


def one_privacy_id(columns: list[Any]) -> list[Any]:
    """A product's columns declare at most one privacy-ID column (validation error naming them otherwise)."""
    ids = [c.name for c in columns if c.privacy_id]
    if len(ids) > 1:
        raise ValueError(f"at most one privacy-ID column; {', '.join(ids)} are all marked privacy_id")
    return columns


def privacy_id_column(columns: list[dict[str, Any]]) -> str | None:
    """The product's privacy-ID column (None: a row is the unit)."""
    return next((c["name"] for c in columns if c.get("privacy_id")), None)


def privacy_unit_view(columns: list[dict[str, Any]], providers: int, max_rows: int | None,
                      max_groups: int | None, partitioned: Any = False) -> dict[str, Any] | None:
    """What the catalog shows: {column, max_rows_per_id, max_groups_per_id, providers_per_id[, ids_partitioned]}, or
    None. P is 1 when IDs are partitioned by provider, else every provider (the worst case)."""
    column = privacy_id_column(columns)
    if column is None:
        return None
    view: dict[str, Any] = {"column": column, "max_rows_per_id": max_rows or DEFAULT_ROWS_PER_ID,
                            "max_groups_per_id": max_groups or DEFAULT_GROUPS_PER_ID,
                            "providers_per_id": 1 if partitioned else max(1, providers)}
    if partitioned:
        view["ids_partitioned"] = True
    return view
