"""The database's business tables held against the records and the chain, column by column, in both
directions: a row no record or event describes, a column that differs, a record or event with no row."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from ledger.verify import Divergence
from registry.assets.models import DeclaredCost
from registry.models import Account, Authorization, Objection, Product, ProductRevision, Resource, Review
from registry.queries.models import ProviderNode
from registry.reconcile.chain_side import ChainSide
from registry.reconcile.facts import Facts, Row, Source, mismatch, norm
from registry.reconcile.matching import cid
from registry.reconcile.replay import Replay
from registry.reconcile.views import Addresses, on_chain, record_view
from registry.reports.models import PublishedReport, RevenueAllowance
from registry.trading.models import (
    FORM_OF_KIND,
    BudgetPolicy,
    BuyerBudget,
    License,
    LicenseCharge,
    Negotiation,
    Offer,
    Order,
    PriceCap,
    PriceCapRule,
    ProductBudget,
    PublicWelfareUser,
    Voucher,
    VoucherProgramme,
)


@dataclass(frozen=True)
class Table:
    """A business table: its model, the key records name a row by, and whether every row needs a record."""

    name: str
    model: type[SQLModel]
    key: Callable[[Any], str] = lambda r: str(r["id"])
    recorded: bool = True  # every row needs a record (else it was written outside the exchange's acts)
    chain_key: Callable[[Any], str] | None = None  # the row's chain id, when the chain describes it

    def pk(self, row: dict[str, Any]) -> int | str:
        return row["pk"] if row.get("pk") is not None else self.key(row)

    def on_chain(self, row: dict[str, Any]) -> bool:
        """The chain has the row's latest act (nothing of it is still in the outbox)."""
        return row.get("chain_state", "confirmed") == "confirmed" and row.get("state", "paid") == "paid"


def _by_id(r: dict[str, Any]) -> str:
    return cid(r["id"])


TABLES = (
    Table("accounts", Account),
    Table("resources", Resource, recorded=False, chain_key=_by_id),
    Table("authorizations", Authorization, recorded=False, chain_key=_by_id),
    Table("products", Product, recorded=False, chain_key=_by_id),
    Table("reviews", Review),
    Table("objections", Objection),
    Table("product_revisions", ProductRevision),
    Table("price_caps", PriceCap, key=lambda r: str(r["product_id"]), chain_key=lambda r: cid(r["product_id"])),
    Table("price_cap_rules", PriceCapRule, key=lambda r: f"{r['product_id']}/{r['kind']}",
          chain_key=lambda r: f"{cid(r['product_id'])}/{FORM_OF_KIND[r['kind']]}"),
    Table("offers", Offer, chain_key=_by_id),
    Table("voucher_programmes", VoucherProgramme, chain_key=_by_id),
    Table("vouchers", Voucher, chain_key=_by_id),
    Table("public_welfare_users", PublicWelfareUser, chain_key=lambda r: str(r["address"]).lower()),
    Table("orders", Order, chain_key=lambda r: cid(r["license_id"])),
    Table("licenses", License, chain_key=_by_id),
    Table("license_charges", LicenseCharge),
    Table("budget_policies", BudgetPolicy, key=lambda r: str(r["product_id"])),
    Table("buyer_budgets", BuyerBudget, key=lambda r: f"{r['product_id']}/{r['buyer_id']}"),
    Table("product_budgets", ProductBudget, key=lambda r: str(r["product_id"])),
    Table("negotiations", Negotiation),
    Table("provider_nodes", ProviderNode, key=lambda r: str(r["account_id"])),
    Table("revenue_allowances", RevenueAllowance, key=lambda r: f"{r['operator_id']}/{r['year']}"),
    Table("published_reports", PublishedReport),
    Table("declared_costs", DeclaredCost),
)
ZERO_BUDGET = {"eps_spent": 0, "delta_spent": 0, "rho_spent": 0}


def _columns(table: str, pk: int | str, actual: dict[str, Any], expected: Row, against: str) -> Iterator[Divergence]:
    for column, (value, source) in expected.columns.items():
        if column.startswith("_") or column not in actual:
            continue
        if norm(actual[column]) != norm(value):
            yield mismatch(table, pk, column, actual[column], value, source, against)


def _row(t: Table, row: dict[str, Any], replay: Replay, chain: ChainSide,
         addresses: Addresses) -> Iterator[Divergence]:
    """One row against its records, then (when its chain acts are confirmed) against the chain."""
    expected = replay.facts.row(t.name, t.key(row))
    if expected is None and t.name in ("buyer_budgets", "product_budgets"):  # made by a spend refused whole
        expected = Row(Source(), {c: (0, Source()) for c in ZERO_BUDGET})
    if expected is None and t.recorded:
        yield Divergence("row_unrecorded", t.name, t.pk(row), None, None,
                         f"no record describes {t.name} row {t.key(row)}")
    elif expected is not None:
        yield from _columns(t.name, t.pk(row), record_view(t.name, row), expected, "records")
    if t.chain_key is None or not t.on_chain(row):
        return
    on = chain.facts.row(t.name, t.chain_key(row))
    if on is None:
        yield Divergence("row_not_on_chain", t.name, t.pk(row), "chain_state", None,
                         f"{t.name} row {t.key(row)} says confirmed; the chain has no event for it")
        return
    yield from _columns(t.name, t.pk(row), on_chain(t.name, row, addresses), on, "chain")


def _rows(session: Session, t: Table) -> list[dict[str, Any]]:
    """The table's rows as plain mappings (no ORM objects), in pk order."""
    table = t.model.__table__  # type: ignore[attr-defined]
    stmt = sa.select(table)
    if "pk" in table.c:
        stmt = stmt.order_by(table.c.pk)
    return [dict(r._mapping) for r in session.execute(stmt)]


def compare_tables(session: Session, replay: Replay, chain: ChainSide,
                   progress: Callable[[str, int], None] | None = None) -> Iterator[Divergence]:
    """Every business row against its records and the chain; then records and events with no row."""
    stored = {str(i): str(a) for i, a in session.execute(sa.select(Account.id, Account.address))}  # type: ignore[call-overload]
    addresses = Addresses(replay.addresses, stored)
    for t in TABLES:
        rows = _rows(session, t)
        for i, row in enumerate(rows):
            yield from _row(t, row, replay, chain, addresses)
            if progress and (i + 1) % 1000 == 0:
                progress(t.name, i + 1)
        yield from _missing(t, {t.key(r) for r in rows}, replay.facts)
        if t.chain_key is not None and t.name != "orders":
            yield from _chain_only(t, {t.chain_key(r) for r in rows}, chain.facts)


def _missing(t: Table, present: set[str], facts: Facts) -> Iterator[Divergence]:
    for key, row in facts.tables.get(t.name, {}).items():
        if key not in present:
            yield Divergence("row_missing", t.name, key, None, None,
                             f"record {row.origin.record} describes {t.name} row {key}; the database has none",
                             record=row.origin.record)


def _chain_only(t: Table, present: set[str], facts: Facts) -> Iterator[Divergence]:
    for key, row in facts.tables.get(t.name, {}).items():
        if key not in present:
            yield Divergence("chain_only", t.name, key, None, None,
                             f"{row.origin.event} at block {row.origin.block}: the database has no {t.name} row",
                             tx=row.origin.tx)
