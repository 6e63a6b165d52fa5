"""Publishing a report: the authority its disclosure, an operator its own disclosure and operating report. The
report is computed from the record log and the chain as they are now (its `basis` says how far), stored, and
anchored by a `report.published` record, signed by the publisher, holding the report's canonical hash."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from ledger.canonical import canonical_json
from ledger.contracts import Ledger
from ledger.errors import ChainUnavailable
from ledger.records import append_record, record_count
from registry.actor import Actor
from registry.errors import ChainUnavailableError, InvalidInput, NotFound
from registry.models import Role
from registry.reports.build import AUTHORITY, build_report, report_hash
from registry.reports.models import PublishedReport
from registry.reports.period import FIRST_YEAR, LAST_YEAR
from registry.reports.sources import load
from registry.signing import new_id
from registry.verification import stored_records


def check_year(year: int) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput("year", f"must be between {FIRST_YEAR} and {LAST_YEAR}")
    return year


def publish_report(session: Session, ledger: Ledger, actor: Actor, year: int) -> PublishedReport:
    """The authority publishes its disclosure, an operator its own report, for `year` (503 when the chain is down:
    a report reads the chain's events)."""
    actor.require(Role.AUTHORITY, Role.OPERATOR)
    check_year(year)
    scope = AUTHORITY if actor.role == Role.AUTHORITY else actor.id
    try:
        block = ledger.client.block_number()
        src = load(stored_records(session), ledger, record_count(session), block)
    except ChainUnavailable as exc:
        raise ChainUnavailableError(f"a report reads the chain's events, and the chain is unreachable: {exc}") from exc
    report = build_report(src, year, scope)
    digest = report_hash(report)
    row = PublishedReport(id=new_id(session), year=year, scope=scope, publisher_id=actor.id,
                          body=canonical_json(report).decode("utf-8"), report_hash=digest, record_seq=0)
    rec = append_record(session, kind="report.published", actor=actor.id, subject=row.id,
                        data={"year": year, "scope": scope, "report_hash": digest, **report["basis"]})
    row.record_seq = rec.seq
    session.add(row)
    return row


def published_view(row: PublishedReport) -> dict[str, Any]:
    return {"id": row.id, "year": row.year, "scope": row.scope, "publisher_id": row.publisher_id,
            "report_hash": row.report_hash, "record_seq": row.record_seq, "created_at": row.created_at.isoformat()}


def list_published(session: Session, year: int | None = None) -> list[dict[str, Any]]:
    stmt = select(PublishedReport).order_by(col(PublishedReport.pk).desc())
    if year is not None:
        stmt = stmt.where(PublishedReport.year == year)
    return [published_view(r) for r in session.exec(stmt.limit(500))]


def get_published(session: Session, report_id: str) -> PublishedReport:
    row = session.exec(select(PublishedReport).where(PublishedReport.id == report_id)).first()
    if row is None:
        raise NotFound(f"published report {report_id} not found")
    return row


def latest_published(session: Session, year: int, scope: str) -> PublishedReport | None:
    return session.exec(select(PublishedReport).where(PublishedReport.year == year)
                        .where(PublishedReport.scope == scope).order_by(col(PublishedReport.pk).desc())).first()
