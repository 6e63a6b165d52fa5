"""Catalog orders, multi-word search and cursor pages on a bulk-loaded catalog (no chain: catalog rows only),
against the expected listing computed here; SQLite's plans read the order's index (EXPLAIN)."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

import registry.catalog as catalog
from bench.catalog import load
from registry.actor import Actor
from registry.catalog import CatalogQuery, search_json
from registry.catalog_sql import NO_PRICE, ORDERS, search_statement
from registry.db import make_engine
from registry.errors import InvalidInput
from registry.models import Product, Role
from tests.utils.server import BACKENDS, _database, drop_database

N = 3000
BUYER = Actor(id="buyer", name="buyer", role=Role.BUYER, address="0x" + "00" * 20)
SORTS = list(ORDERS)


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    """N listed products (bench data: titles and descriptions of 3 of 20 words, random prices); every 10th
    without a price, every 25th a draft (buyers do not see it)."""
    url, name = _database(request.param, tmp_path_factory.mktemp("catalog"))
    load(url, N)
    eng = make_engine(url)
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE products SET price_from_fen = NULL WHERE pk % 10 = 0"))
        conn.execute(sa.text("UPDATE products SET status = 'draft' WHERE pk % 25 = 0"))
    yield eng
    eng.dispose()
    if name:
        drop_database(name)


def _rows(eng: sa.Engine) -> list[dict[str, Any]]:
    with eng.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(
            "SELECT pk, id, title, description, keywords_text, sector, price_from_fen, status FROM products"))]


def expected(eng: sa.Engine, sort: str, q: str | None, sector: str | None) -> list[str]:
    """The listing as the database orders the matching rows (its own collation for titles)."""
    terms = (q or "").lower().split()
    keep = [r for r in _rows(eng) if r["status"] == "listed" and (sector is None or r["sector"] == sector)
            and all(any(t in r[c].lower() for c in ("title", "description", "keywords_text")) for t in terms)]
    if not keep:
        return []
    order = ORDERS[sort]
    keys = [sa.column("pk")] if order.key is None else [
        sa.text("title") if sort.startswith("title") else sa.text(f"coalesce(price_from_fen, {NO_PRICE})"),
        sa.column("pk")]
    stmt = (sa.select(sa.column("id")).select_from(sa.table("products"))
            .where(sa.column("pk").in_([r["pk"] for r in keep]))
            .order_by(*(sa.desc(k) for k in keys) if order.desc else keys))
    with eng.connect() as conn:
        return list(conn.execute(stmt).scalars())


def listing(eng: sa.Engine, limit: int, **params: Any) -> list[str]:
    ids: list[str] = []
    cursor = None
    with Session(eng) as s:
        while True:
            page = json.loads(search_json(s, BUYER, CatalogQuery(**params, limit=limit, cursor=cursor)))
            ids += [p["id"] for p in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                return ids


QUERIES = [None, "wheat", "WHEAT solar", "wheat solar corn", "wh"]


@pytest.mark.parametrize("budget", [catalog.WALK_BUDGET, 7])
def test_every_order_lists_what_it_should(engine: sa.Engine, budget: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each order, with 0-3 words (all must match), with and without a filter, paged to the end: exactly the
    expected products in the expected order. A budget of 7 makes keyword walks stop early and fall back."""
    monkeypatch.setattr(catalog, "WALK_BUDGET", budget)
    checked = 0
    for sort in SORTS:
        for q in QUERIES:
            if q == "wh" and engine.dialect.name != "sqlite":
                continue  # PostgreSQL matches whole words, so a fragment finds nothing there
            for sector in (None, "energy"):
                want = expected(engine, sort, q, sector)
                got = listing(engine, 40, sort=sort, q=q, sector=sector)
                assert got == want, (sort, q, sector)
                checked += len(got)
    assert checked > 5000


def test_cursor_pages_stable_under_inserts(engine: sa.Engine) -> None:
    """Products added between pages (cheaper, dearer, earlier and later titles) neither repeat nor hide one
    that was there when paging began."""
    rng = random.Random(3)
    for sort in SORTS:
        before = set(expected(engine, sort, "soil", None))
        seen: list[str] = []
        cursor = None
        with Session(engine) as s:
            while True:
                page = json.loads(search_json(s, BUYER, CatalogQuery(q="soil", sort=sort, limit=50, cursor=cursor)))
                seen += [p["id"] for p in page["items"]]
                cursor = page["next_cursor"]
                _insert(engine, rng)
                if not cursor:
                    break
        assert len(seen) == len(set(seen)), sort
        assert before <= set(seen), sort


def _insert(eng: sa.Engine, rng: random.Random) -> None:
    with eng.begin() as conn:
        table = Product.__table__  # type: ignore[attr-defined]
        row = dict(conn.execute(sa.select(table).where(table.c.status == "listed").limit(1)).one()._mapping)
        row.pop("pk")
        row.pop("search_tsv", None)
        row.update(id=str(uuid.uuid4()), code=f"PX-NEW-{uuid.uuid4().hex[:10]}",
                   title=rng.choice(["Aaa soil", "Zzz soil", "Mmm soil"]), price_from_fen=rng.randrange(100, 10**6))
        conn.execute(table.insert().values(**row))  # typed columns: JSON and times on both databases


def test_bad_cursors_are_refused(engine: sa.Engine) -> None:
    with Session(engine) as s:
        first = json.loads(search_json(s, BUYER, CatalogQuery(sort="price", limit=5)))["next_cursor"]
        for sort, cursor, says in [("title", first, "sort=price"), ("price", "garbage", "not a cursor"),
                                   ("price", first[:-3], "not a cursor")]:
            with pytest.raises(InvalidInput, match=says) as err:
                search_json(s, BUYER, CatalogQuery(sort=sort, cursor=cursor))
            assert err.value.field == "cursor"


def _plan(s: Session, query: CatalogQuery) -> list[str]:
    shape, params = catalog._shape("sqlite", BUYER, query)
    if shape.plan == "walk":
        shape = shape._replace(window=True)
        params.update(wk=params.get("ck", 0), wp=0)
    compiled = search_statement(shape).compile(dialect=s.get_bind().dialect,
                                               compile_kwargs={"render_postcompile": True})
    values = compiled.construct_params(params)
    args = tuple(values[n] for n in compiled.positiontup or [])
    return [r[-1] for r in s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), args)]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # EXPLAIN QUERY PLAN is SQLite's
def test_ordered_searches_read_the_order_index(engine: sa.Engine) -> None:
    """No sort of every match: title and price orders (either way, with a word, a filter, a cursor) walk
    their index, and so do newest/oldest (the primary key)."""
    with Session(engine) as s:
        for sort in SORTS:
            cursor = json.loads(search_json(s, BUYER, CatalogQuery(sort=sort, limit=3)))["next_cursor"]
            for extra in ({}, {"q": "wheat solar"}, {"sector": "energy"}, {"cursor": cursor},
                          {"price_min": 1000, "price_max": 200000}):
                plan = _plan(s, CatalogQuery(sort=sort, **extra))
                assert not any("TEMP B-TREE" in step for step in plan), (sort, extra, plan)
                index = ORDERS[sort].index_name
                if index:
                    assert any(index in step for step in plan), (sort, extra, plan)
