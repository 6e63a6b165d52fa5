"""Anchoring lag: how long records waited for the checkpoint that anchored them. For each of the newest confirmed
checkpoints, the records it newly covers (from the previous checkpoint's tree size up to its own) and the seconds
from each record's writing to the checkpoint's."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from ledger.records import LedgerCheckpoint, LedgerRecord


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def anchoring_lag(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    """Oldest first: per confirmed checkpoint its index, tree size, time, the records it newly anchored and their
    lag in seconds (min, median, max)."""
    newest = list(session.exec(select(LedgerCheckpoint).where(col(LedgerCheckpoint.confirmed))
                               .order_by(col(LedgerCheckpoint.tree_size).desc()).limit(limit + 1)).all())
    newest.reverse()
    out: list[dict[str, Any]] = []
    for prev, cp in zip([None, *newest], newest, strict=False):
        if prev is None and len(newest) > limit:
            continue  # only the bound of the next one
        start = prev.tree_size if prev else 0
        times = session.exec(select(LedgerRecord.created_at).where(col(LedgerRecord.seq) >= start)
                             .where(col(LedgerRecord.seq) < cp.tree_size)).all()
        at = _aware(cp.created_at)
        lags = sorted(max(0.0, (at - _aware(t)).total_seconds()) for t in times)
        out.append({"index": cp.chain_index, "tree_size": cp.tree_size, "at": at.isoformat(), "records": len(lags),
                    "min_s": lags[0] if lags else None, "median_s": statistics.median(lags) if lags else None,
                    "max_s": lags[-1] if lags else None})
    return out
