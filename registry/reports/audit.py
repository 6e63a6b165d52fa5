"""`provex audit report`: verify the record log against the chain, then check a published report against it
(`registry.reports.check`), from the database or from an export. The log check is `provex audit verify`'s."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session

from ledger.contracts import Ledger
from ledger.role_history import RoleHistory
from ledger.statements import statement_domain
from ledger.verify import StoredRecord, chain_checkpoints, verify_log
from registry.reports.check import ReportCheck, ReportDivergence, check_report
from registry.reports.publish import latest_published
from registry.verification import stored_records, stored_rows


def outcome(verify: dict[str, Any], check: ReportCheck | None) -> dict[str, Any]:
    """What the command prints: the log check's outcome and, when the log holds, the report's."""
    return {"ok": bool(verify["ok"]) and check is not None and check.ok,
            "log": {k: verify.get(k) for k in ("ok", "records", "anchored", "checkpoints", "divergence")},
            "report": check.as_dict() if check is not None else None}


def audit_database(session: Session, ledger: Ledger, year: int, scope: str,
                   published: str | None = None) -> dict[str, Any]:
    """The database's log against the chain (leaves, checkpoints, signatures, roles), then the latest published
    report of `year` and `scope` (or the copy `published`, e.g. a download) against its record and a
    recomputation."""
    log = verify_log(stored_rows(session), chain_checkpoints(ledger.client, ledger),
                     domain=statement_domain(ledger.deployment), roles=RoleHistory.read(ledger)).as_dict()
    if not log["ok"]:
        return outcome(log, None)
    row = latest_published(session, year, scope)
    if row is None and published is None:
        missing = ReportCheck(ok=False, year=year, scope=scope, divergences=[ReportDivergence(
            "report_unpublished", None, f"the exchange holds no published report for {scope} {year}")])
        return outcome(log, missing)
    text = published if published is not None else row.body  # type: ignore[union-attr]
    stored_hash = row.report_hash if row is not None and published is None else None
    return outcome(log, check_report(stored_records(session), ledger, year, scope, text, stored_hash))


def audit_export(verified: dict[str, Any], records: Iterable[StoredRecord], ledger: Ledger, year: int, scope: str,
                 published: str) -> dict[str, Any]:
    """An export already verified (`verified`: `provex audit verify --from`'s report), then the published report."""
    if not verified["ok"]:
        return outcome(verified, None)
    return outcome(verified, check_report(records, ledger, year, scope, published))
