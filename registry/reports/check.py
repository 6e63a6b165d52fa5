"""The auditor's check of a published report: find the `report.published` record of its year and scope in the
verified log, hold the report's hash to the record's, recompute the report from the same log and chain on the
record's basis, and name every difference."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ledger.contracts import Ledger
from ledger.verify import StoredRecord
from registry.reports.build import build_report, differences, report_hash
from registry.reports.sources import load

MAX_DIFFERENCES = 20


@dataclass(frozen=True)
class ReportDivergence:
    kind: str  # report_unrecorded, report_hash, report_mismatch, report_unreadable
    field: str | None
    detail: str
    published: Any = None
    recomputed: Any = None


@dataclass
class ReportCheck:
    ok: bool
    year: int
    scope: str
    record: int | None = None
    report_hash: str | None = None
    divergences: list[ReportDivergence] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _record(records: list[StoredRecord], year: int, scope: str) -> dict[str, Any] | None:
    """The last `report.published` record of `year` and `scope` in the log."""
    found = None
    for r in records:
        if '"report.published"' in r.body:
            rec = json.loads(r.body)
            d = rec["data"]
            if rec["kind"] == "report.published" and d.get("year") == year and d.get("scope") == scope:
                found = rec
    return found


def check_report(records: Iterable[StoredRecord], ledger: Ledger, year: int, scope: str, published: str,
                 stored_hash: str | None = None) -> ReportCheck:
    """`published`: the report's JSON as published (the stored body, or the downloaded file); `stored_hash`: the
    hash the exchange's table holds for it (database mode)."""
    log = list(records)
    out = ReportCheck(ok=False, year=year, scope=scope)
    rec = _record(log, year, scope)
    if rec is None:
        out.divergences.append(ReportDivergence("report_unrecorded", None,
                                                f"no report.published record for {scope} {year} in the log"))
        return out
    d = rec["data"]
    out.record, out.report_hash = rec["seq"], d["report_hash"]
    if stored_hash is not None and stored_hash != d["report_hash"]:
        out.divergences.append(ReportDivergence("report_hash", "published_reports.report_hash",
                                                f"the table holds {stored_hash}; record #{rec['seq']} anchors "
                                                f"{d['report_hash']}", stored_hash, d["report_hash"]))
    try:
        body = json.loads(published)
    except ValueError as exc:
        out.divergences.append(ReportDivergence("report_unreadable", None, f"the published report is not JSON: {exc}"))
        return out
    digest = report_hash(body)
    if digest != d["report_hash"]:
        out.divergences.append(ReportDivergence("report_hash", "report", f"the published report hashes to {digest}; "
                                                f"record #{rec['seq']} anchors {d['report_hash']}",
                                                digest, d["report_hash"]))
    recomputed = build_report(load(log, ledger, int(d["log_size"]), int(d["block"])), year, scope)
    for path, a, b in differences(body, recomputed)[:MAX_DIFFERENCES]:
        out.divergences.append(ReportDivergence("report_mismatch", path, f"published {a!r}, recomputed {b!r}", a, b))
    out.ok = not out.divergences
    return out
