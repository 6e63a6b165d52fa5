"""Maximum allowed revenue (最高准许收入): the authority's yearly maximum per operator, the flag written when a
settlement takes an operator's revenue above it, and the carried deduction. The rule, in this one place:

- revenue(op, Y): the `amount_fen` of the `license.purchase` records dated in Y for products `op` operates, less
  the `buyer_fen + voucher_fen` of the `license.refund` records dated in Y for them (Y: `period.year_of`);
- carried(op, Y) = excess(op, Y - 1): last year's excess is deducted from this year's maximum;
- effective(op, Y) = max(0, allowed(op, Y) - carried(op, Y)) when the authority set a maximum for Y; without one,
  the year has no maximum (nothing is flagged, and last year's excess shows as carried but deducts from nothing);
- excess(op, Y) = max(0, revenue(op, Y) - effective(op, Y)), 0 without a maximum.

A settlement is never refused for it (the pricing notice says: flag and deduct): `flag_settlement` appends a
`revenue.exceeded` record when a settlement leaves the year's revenue above the effective maximum.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from ledger.records import LedgerRecord, append_record
from registry.accounts import get_account
from registry.actor import Actor
from registry.errors import Forbidden, InvalidInput
from registry.models import Product, Role
from registry.reports.models import RevenueAllowance
from registry.reports.period import FIRST_YEAR, LAST_YEAR, year_bounds, year_of

SETTLEMENT_KINDS = ("license.purchase", "license.refund")
Key = tuple[str, int]  # (operator id, year)


def settled_fen(rec: dict[str, Any]) -> int:
    """What a settlement record adds to revenue: a purchase its `amount_fen` (the voucher part included), a refund
    minus `buyer_fen + voucher_fen`."""
    d = rec["data"]
    return int(d["amount_fen"]) if rec["kind"] == "license.purchase" else -(int(d["buyer_fen"]) + int(d["voucher_fen"]))


@dataclass
class RevenueBook:
    """Maximums, revenue and flags per (operator, year), folded from records in sequence order."""

    allowed: dict[Key, int] = field(default_factory=dict)
    revenue: dict[Key, int] = field(default_factory=lambda: defaultdict(int))
    flags: dict[Key, list[int]] = field(default_factory=lambda: defaultdict(list))

    def fold(self, rec: dict[str, Any], operator_of: Callable[[str], str | None]) -> None:
        kind, d = rec["kind"], rec["data"]
        if kind == "revenue_allowance.set":
            self.allowed[(rec["subject"], int(d["year"]))] = int(d["allowed_fen"])
            return
        if kind == "revenue.exceeded":
            self.flags[(rec["actor"], int(d["year"]))].append(int(rec["seq"]))
            return
        if kind not in SETTLEMENT_KINDS:
            return
        operator = operator_of(rec["subject"])
        if operator is None:
            return
        self.revenue[(operator, year_of(rec["at"]))] += settled_fen(rec)

    def excess(self, operator: str, year: int) -> int:
        return self.row(operator, year)["excess_fen"]

    def row(self, operator: str, year: int) -> dict[str, Any]:
        """allowed, carried, effective, revenue, excess (fen) and the flags (record seqs) of one operator-year."""
        first = min((y for (op, y) in self.allowed if op == operator), default=year + 1)
        carried = self.excess(operator, year - 1) if year - 1 >= first else 0
        allowed = self.allowed.get((operator, year))
        effective = None if allowed is None else max(0, allowed - carried)
        revenue = self.revenue.get((operator, year), 0)
        excess = 0 if effective is None else max(0, revenue - effective)
        return {"operator_id": operator, "year": year, "allowed_fen": allowed, "carried_fen": carried,
                "effective_fen": effective, "revenue_fen": revenue, "excess_fen": excess,
                "flags": list(self.flags.get((operator, year), []))}

    def operators(self) -> set[str]:
        return {op for op, _ in (*self.allowed, *self.revenue)}


def book_of(records: Iterable[dict[str, Any]], operator_of: Callable[[str], str | None]) -> RevenueBook:
    book = RevenueBook()
    for rec in records:
        book.fold(rec, operator_of)
    return book


# ------------------------------------------------------------------ the database side


def set_allowance(session: Session, actor: Actor, operator_id: str, year: int, allowed_fen: int) -> RevenueAllowance:
    """The authority sets (or resets) an operator's maximum allowed revenue for `year`: a signed ledger record."""
    actor.require(Role.AUTHORITY)
    operator = get_account(session, operator_id)
    if operator.role != Role.OPERATOR:
        raise InvalidInput("operator_id", f"account {operator_id} is a {operator.role}, not an operator")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput("year", f"must be between {FIRST_YEAR} and {LAST_YEAR}")
    row = session.get(RevenueAllowance, (operator.id, year)) or RevenueAllowance(
        operator_id=operator.id, year=year, allowed_fen=0, authority_id=actor.id)
    row.allowed_fen, row.authority_id, row.updated_at = allowed_fen, actor.id, datetime.now(UTC)
    session.add(row)
    append_record(session, kind="revenue_allowance.set", actor=actor.id, subject=operator.id,
                  data={"year": year, "allowed_fen": allowed_fen})
    return row


def _operator_book(session: Session, operator_id: str, years: range) -> RevenueBook:
    """The book of one operator over `years`, from its allowances and the records of its products' settlements."""
    products = set(session.exec(select(Product.id).where(Product.operator_id == operator_id)).all())
    start, end = year_bounds(years.start)[0], year_bounds(years.stop - 1)[1]
    L = LedgerRecord
    stmt = (select(L.body).where(col(L.kind).in_([*SETTLEMENT_KINDS, "revenue.exceeded"]))
            .where(col(L.created_at) >= start).where(col(L.created_at) < end).order_by(col(L.seq)))
    if products:
        stmt = stmt.where(col(L.subject).in_(products) | (col(L.actor) == operator_id))
    else:
        stmt = stmt.where(col(L.actor) == operator_id)
    book = book_of((json.loads(b) for b in session.exec(stmt)), lambda p: operator_id if p in products else None)
    for a in session.exec(select(RevenueAllowance).where(RevenueAllowance.operator_id == operator_id)):
        book.allowed[(operator_id, a.year)] = a.allowed_fen
    return book


def flag_settlement(session: Session, product: Product, license_id: str, amount_fen: int, at: datetime) -> None:
    """After a settlement's `license.purchase` record: a `revenue.exceeded` record when the operator's revenue for
    the year is now above its effective maximum (the purchase stands; the excess is carried to next year)."""
    year = year_of(at)
    allowances = session.exec(select(RevenueAllowance.year).where(RevenueAllowance.operator_id == product.operator_id)
                              .where(RevenueAllowance.year <= year)).all()
    if year not in allowances or amount_fen <= 0:
        return
    row = _operator_book(session, product.operator_id, range(min(allowances), year + 1)).row(product.operator_id, year)
    if row["excess_fen"] <= 0:
        return
    append_record(session, kind="revenue.exceeded", actor=product.operator_id, subject=product.id,
                  data={"license_id": license_id, "year": year, "allowed_fen": row["allowed_fen"],
                        "carried_fen": row["carried_fen"], "effective_fen": row["effective_fen"],
                        "revenue_fen": row["revenue_fen"], "excess_fen": row["excess_fen"],
                        "added_fen": min(amount_fen, row["excess_fen"])})


def revenue_rows(session: Session, actor: Actor, year: int, operator_id: str | None = None) -> list[dict[str, Any]]:
    """Per operator (an operator sees only its own): allowed, carried, effective, revenue, excess and flags."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput("year", f"must be between {FIRST_YEAR} and {LAST_YEAR}")
    if actor.role == Role.OPERATOR:
        if operator_id not in (None, actor.id):
            raise Forbidden("an operator sees only its own revenue")
        operator_id = actor.id
    elif actor.role not in (Role.AUTHORITY, Role.EXCHANGE, Role.AUDITOR):
        raise Forbidden(f"requires role authority, operator, exchange or auditor; you are {actor.role.value}")
    elif operator_id is not None and get_account(session, operator_id).role != Role.OPERATOR:
        raise InvalidInput("operator_id", f"account {operator_id} is not an operator")
    stmt = select(RevenueAllowance.operator_id).where(RevenueAllowance.year.in_([year, year - 1]))  # type: ignore[attr-defined]
    operators = {operator_id} if operator_id else set(session.exec(stmt).all())
    out = []
    for op in sorted(operators):
        first = session.exec(select(RevenueAllowance.year).where(RevenueAllowance.operator_id == op)
                             .order_by(col(RevenueAllowance.year))).first() or year
        out.append(_operator_book(session, op, range(min(first, year), year + 1)).row(op, year))
    return out
