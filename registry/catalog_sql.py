"""The catalog's SQL: the product view's columns, and one search statement per query shape, built once.

A shape says which filters a search has, which plan it takes and in which order it reads; the values
(filter values, keywords, cursor, limit) are bound at execution. Building a 36-column select with its
conditions costs more than running it on SQLite, so a shape's statement is built on first use and kept.

Plans (`Shape.plan`):
- `plain`: no FTS table (no keyword, only short terms, or PostgreSQL's `search_tsv`).
- `fts_drive`: SQLite's FTS5 matches walked in rowid (= pk) order and joined to their products: the
  page of the newest (oldest) matches costs a few hundred row reads however many match.
- `fts_in`: all FTS5 matches as a rowid set, then the filters and, for title/price order, a sort of the
  matches (cheap when few match: `registry.catalog` probes their number first).
- `walk`: the title/price index walked in order, each product checked for every term with LIKE (the
  trigram FTS5 match is a case-insensitive substring match, as SQLite's LIKE is for ASCII): when many
  products match, a page ends after a few rows.
With `Shape.walk_index` a SQLite statement's filters are written so that no index serves them: it reads
through the order's index.
"""

from __future__ import annotations

import functools
from typing import Any, Literal, NamedTuple

import sqlalchemy as sa
from sqlmodel import AutoString

from registry.access import PUBLIC_STATUSES
from registry.models import Product, ProductProvider
from registry.queries.models import QueryPolicy

Sort = Literal["newest", "oldest", "title", "title_desc", "price", "price_desc"]
NO_PRICE = 2**62  # the price key of a product without a price: it sorts as the highest price

_TABLE: sa.Table = Product.__table__  # type: ignore[attr-defined]
_POLICIES: sa.Table = QueryPolicy.__table__  # type: ignore[attr-defined]
# The price order's key; `ix_products_price_key_pk` (migration 0820) indexes exactly this expression, so the
# constant is literal SQL (an index on an expression is used only for the same expression, not a parameter).
PRICE_KEY = sa.func.coalesce(_TABLE.c.price_from_fen, sa.literal_column(str(NO_PRICE), sa.BigInteger()))


class Order(NamedTuple):
    key: Any  # the order's column or expression; None: the primary key alone
    desc: bool
    index_name: str | None  # the index that reads in this order (migration 0820)


ORDERS: dict[str, Order] = {
    "newest": Order(None, True, None), "oldest": Order(None, False, None),
    "title": Order(_TABLE.c.title, False, "ix_products_title_pk"),
    "title_desc": Order(_TABLE.c.title, True, "ix_products_title_pk"),
    "price": Order(PRICE_KEY, False, "ix_products_price_key_pk"),
    "price_desc": Order(PRICE_KEY, True, "ix_products_price_key_pk"),
}

# Columns a product view is rendered from, read raw: JSON columns as their stored text, timestamps as
# the driver returns them, strings without sqlmodel's (identity) type decorator. The raw row is then
# the exact input of the rendering, so it keys the cache of rendered views (no stale entries: any change
# to any rendered column is a different key), and only a cache miss decodes JSON and timestamps.
JSON_COLUMNS = ("resource_ids", "provider_ids", "keywords", "columns", "sample", "quality", "offers", "model_spec",
                "verification")
VIEW_COLUMNS = ("pk", "id", "code", "status", "version", "title", "description", "publisher", "operator_id",
                "sector", "keywords", "region_code", "temporal_start", "temporal_end", "update_frequency",
                "license", "source_statement", "authorization_id", "authorization_basis", "resource_ids",
                "provider_ids", "classification", "scale", "columns", "sample", "quality", "offers",
                "price_from_fen", "metadata_hash", "chain_state", "tx_hash", "block_number", "log_index",
                "created_at", "updated_at", "listed_at", "notice_ends_at", "deliverable", "model_spec", "verification",
                "max_rows_per_id", "max_groups_per_id", "ids_partitioned")
POLICY_COLUMNS = ("max_rows_per_id", "max_groups_per_id", "ids_partitioned")  # the privacy unit, from the policy
TIME_COLUMNS = ("created_at", "updated_at", "listed_at", "notice_ends_at")


def _raw(name: str) -> Any:
    if name in POLICY_COLUMNS:  # null without a policy row (the defaults apply)
        return sa.select(_POLICIES.c[name]).where(_POLICIES.c.product_id == _TABLE.c.id).scalar_subquery().label(name)
    column = _TABLE.c[name]
    if name in JSON_COLUMNS:
        return sa.cast(column, sa.Text).label(name)
    if name in TIME_COLUMNS or isinstance(column.type, AutoString):
        return sa.type_coerce(column, sa.String()).label(name)
    return column


VIEW_STMT = sa.select(*(_raw(n) for n in VIEW_COLUMNS))
BY_ID = VIEW_STMT.where(_TABLE.c.id == sa.bindparam("ref"))
BY_CODE = VIEW_STMT.where(_TABLE.c.code == sa.bindparam("ref"))
_FTS = sa.table("product_fts", sa.column("rowid", sa.Integer))
_PUBLIC: list[Any] = [sa.literal_column(f"'{s.value}'") for s in PUBLIC_STATUSES]  # constants: no expanding IN


class Shape(NamedTuple):
    """What a search statement depends on besides bound values (each `True` means its parameter is bound)."""

    dialect: str
    sort: str
    plan: Literal["plain", "fts_drive", "fts_in", "walk"]
    visibility: Literal["all", "public", "public_or_own"]  # `me`: the operator's own id
    equals: tuple[str, ...]  # columns that must equal the value bound under their name
    provider: bool
    price_min: bool
    price_max: bool
    match: bool  # `m`: an FTS5 MATCH expression (SQLite) or the words of a tsquery (PostgreSQL)
    likes: int  # `t0`, `t1`, ...: LIKE patterns each product must match in title, description or keywords
    cursor: bool  # `ck` (the order key, unless the order is by pk) and `cp` (the pk) of the last row seen
    walk_index: bool
    window: bool  # `wk`, `wp`: the walk ends at this order key and pk (`window_end`)


def _like(term: int, dialect: str) -> Any:
    """Pattern `t<term>` in title, description or keywords (`LIKE` is case-insensitive on SQLite for ASCII)."""
    pattern: Any = sa.bindparam(f"t{term}")
    cols = (_TABLE.c.title, _TABLE.c.description, _TABLE.c.keywords_text)
    if dialect == "sqlite":
        return sa.or_(*(c.like(pattern, escape="\\") for c in cols))
    return sa.or_(*(c.ilike(pattern, escape="\\") for c in cols))


def _column(shape: Shape, name: str, no_index: bool = False) -> Any:
    """A products column for a filter; when the statement walks an order's index on SQLite (or `no_index`),
    as `+column` (SQLite's way to keep an index from serving a term), so that the planner does not read a
    filter's index and then sort every row the filter keeps."""
    if (shape.walk_index or no_index) and shape.dialect == "sqlite":
        return sa.literal_column(f"+{_TABLE.name}.{name}", _TABLE.c[name].type)
    return _TABLE.c[name]


def _filters(shape: Shape) -> list[Any]:
    conds: list[Any] = []
    if shape.visibility != "all":
        # never through the status index: nearly every product is public, and its (status, pk) ranges for
        # the two public statuses cost a second look-up per row read
        public = _column(shape, "status", no_index=True).in_(_PUBLIC)
        conds.append(public if shape.visibility == "public"
                     else sa.or_(public, _column(shape, "operator_id") == sa.bindparam("me")))
    conds += [_column(shape, f) == sa.bindparam(f) for f in shape.equals]
    if shape.provider:
        conds.append(_TABLE.c.id.in_(sa.select(ProductProvider.product_id)  # type: ignore[call-overload]
                                     .where(ProductProvider.provider_id == sa.bindparam("provider"))))
    if shape.price_min:
        conds.append(_column(shape, "price_from_fen") >= sa.bindparam("price_min"))
    if shape.price_max:
        conds.append(_column(shape, "price_from_fen") <= sa.bindparam("price_max"))
    conds += _key_range(shape)
    if shape.match:
        if shape.dialect != "sqlite":
            conds.append(sa.literal_column("search_tsv").op("@@")(
                sa.func.plainto_tsquery("simple", sa.bindparam("m"))))
        elif shape.plan == "fts_drive":
            conds.append(sa.text("product_fts MATCH :m"))
        else:
            conds.append(_TABLE.c.pk.in_(sa.text("SELECT rowid FROM product_fts WHERE product_fts MATCH :m")))
    conds += [_like(i, shape.dialect) for i in range(shape.likes)]
    return conds


def _key_range(shape: Shape) -> list[Any]:
    """A price range as bounds on the price order's key too: then a range of its index (unpriced products,
    keyed NO_PRICE, stay out as the column's bounds keep them out)."""
    if ORDERS[shape.sort].key is not PRICE_KEY:
        return []
    return ([PRICE_KEY >= sa.bindparam("price_min")] if shape.price_min else []) + (  # noqa: SIM300
        [PRICE_KEY <= sa.bindparam("price_max")] if shape.price_max else [])  # noqa: SIM300


def _after(order: Order, pk: Any, cursor: bool) -> list[Any]:
    """After the last row seen (`ck`, `cp`), in the order's direction; a bound on the key alone first: a range
    of the order's index (a row value is not, for an indexed expression)."""
    if not cursor:
        return []
    if order.key is None:
        return [pk < sa.bindparam("cp") if order.desc else pk > sa.bindparam("cp")]
    key, ck, cp = order.key, sa.bindparam("ck"), sa.bindparam("cp")  # type: ignore[var-annotated]
    if order.desc:
        return [key <= ck, sa.or_(key < ck, pk < cp)]
    return [key >= ck, sa.or_(key > ck, pk > cp)]


@functools.lru_cache(maxsize=64)
def window_end(shape: Shape) -> sa.Select[Any]:
    """The order key and pk `budget` index entries after the cursor (or the start): where a walk stops."""
    order = ORDERS[shape.sort]
    keys = [order.key, _TABLE.c.pk]
    stmt = sa.select(*keys).where(*_after(order, _TABLE.c.pk, shape.cursor), *_key_range(shape))
    stmt = stmt.order_by(*(k.desc() for k in keys) if order.desc else keys)
    return stmt.limit(1).offset(sa.bindparam("budget"))


@functools.lru_cache(maxsize=512)
def search_statement(shape: Shape) -> sa.Select[Any]:
    """The statement of a shape: the page's raw view rows (`VIEW_COLUMNS`) plus one (`lim`)."""
    order = ORDERS[shape.sort]
    stmt = VIEW_STMT
    pk: Any = _TABLE.c.pk
    if shape.plan == "fts_drive":
        stmt = stmt.select_from(_FTS).join(_TABLE, _TABLE.c.pk == _FTS.c.rowid)
        pk = _FTS.c.rowid  # order and cursor on the FTS rowid, so that FTS5 consumes them
    else:
        stmt = stmt.select_from(_TABLE)
    stmt = stmt.where(*_filters(shape))
    keys = [pk] if order.key is None else [order.key, pk]
    stmt = stmt.where(*_after(order, pk, shape.cursor))
    if shape.window:  # up to the window's end, included
        key, wk, wp = order.key, sa.bindparam("wk"), sa.bindparam("wp")  # type: ignore[var-annotated]
        stmt = stmt.where(*([key >= wk, sa.or_(key > wk, pk >= wp)] if order.desc
                            else [key <= wk, sa.or_(key < wk, pk <= wp)]))
    stmt = stmt.order_by(*(k.desc() for k in keys) if order.desc else keys)
    return stmt.limit(sa.bindparam("lim"))
