"""Readable codes for humans, derived from a row's sequence number."""

from __future__ import annotations

from datetime import UTC, datetime


def readable_code(prefix: str, seq: int, year: int | None = None) -> str:
    """e.g. `PX-2026-000123` (product), `PXR-2026-000007` (resource)."""
    return f"{prefix}-{year or datetime.now(UTC).year}-{seq:06d}"
