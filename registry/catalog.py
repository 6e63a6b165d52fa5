"""The catalog: filters, keyword search (SQLite FTS5 trigram / PostgreSQL full text), sort, cursors."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic_core import from_json
from sqlmodel import Session

from registry.access import product_visibility, sees_product
from registry.actor import Actor
from registry.catalog_sql import (
    BY_CODE,
    BY_ID,
    JSON_COLUMNS,
    NO_PRICE,
    ORDERS,
    PRICE_KEY,
    TIME_COLUMNS,
    VIEW_COLUMNS,
    Shape,
    Sort,
    search_statement,
    window_end,
)
from registry.errors import InvalidInput, NotFound
from registry.limits import MAX_FEN
from registry.models import Product, ProductStatus
from registry.privacy_unit import privacy_unit_view
from registry.schemas import CatalogPage, ChainReceiptOut, ProductOut

PRODUCTS: sa.Table = Product.__table__  # type: ignore[attr-defined]
SORT_HELP = ("newest (default) or oldest registered; title or title_desc; price or price_desc (by the lowest "
             "offer price, unpriced products last in price and first in price_desc)")


class CatalogQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: Annotated[str | None, Field(max_length=200, examples=["grassland rainfall"],
                                   description="words that must all occur in title, description or keywords "
                                               "(as substrings, case-insensitive)")] = None
    sector: str | None = None
    region_code: str | None = None
    classification: Literal["general", "important"] | None = None
    provider: str | None = Field(None, description="provider account id serving the product")
    operator: str | None = Field(None, description="operator account id (publisher)")
    price_min: Annotated[int | None, Field(ge=0, le=MAX_FEN, description="fen")] = None
    price_max: Annotated[int | None, Field(ge=0, le=MAX_FEN, description="fen")] = None
    status: Literal["draft", "submitted", "under_review", "in_notice", "listed", "rejected", "suspended",
                    "delisted"] | None = None
    sort: Annotated[Sort, Field(description=SORT_HELP, examples=["price"])] = "newest"
    cursor: Annotated[str | None, Field(max_length=1000,
                                        description="`next_cursor` of the previous page, same query")] = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20


def decode_cursor(cursor: str, sort: Sort) -> tuple[Any, int]:
    """The order key and pk of the last row a cursor saw; InvalidInput unless this listing's order made it."""
    key_type = {"title": str, "title_desc": str, "price": int, "price_desc": int}.get(sort, type(None))
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if data["s"] != sort:
            raise InvalidInput("cursor", f"made by sort={data['s']}, not sort={sort}: send the same sort")
        if type(data["p"]) is not int or type(data["k"]) is not key_type:
            raise ValueError("not a cursor")
        return data["k"], data["p"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor", "not a cursor returned by this listing (send `next_cursor` as it came)") \
            from None


_I = {n: i for i, n in enumerate(VIEW_COLUMNS)}
_PK, _TITLE, _PRICE, _STATUS, _OPERATOR = (_I[n] for n in ("pk", "title", "price_from_fen", "status",
                                                           "operator_id"))
VIEW_CACHE_SIZE = 4096


@functools.cache
def _time_converters(dialect: sa.Dialect) -> list[tuple[str, Any]]:
    """What SQLAlchemy would do to each raw timestamp column of this dialect (UTC-aware datetimes)."""
    procs = [(n, PRODUCTS.c[n].type.dialect_impl(dialect).result_processor(dialect, None)) for n in TIME_COLUMNS]
    return [(n, proc) for n, proc in procs if proc is not None]


@functools.lru_cache(maxsize=VIEW_CACHE_SIZE)
def _render(row: tuple[Any, ...], dialect: sa.Dialect) -> bytes:
    """A product's JSON exactly as `ProductOut` serializes it (validated once, serialized once)."""
    v = dict(zip(VIEW_COLUMNS, row, strict=True))
    for n in JSON_COLUMNS:
        v[n] = from_json(v[n]) if v[n] is not None else None  # pydantic-core's parser: 4x json.loads
    for n, proc in _time_converters(dialect):
        v[n] = proc(v[n])
    out = ProductOut(
        id=v["id"], code=v["code"], status=v["status"], version=v["version"], title=v["title"],
        description=v["description"], publisher=v["publisher"], operator_id=v["operator_id"],
        sector=v["sector"], theme=v["sector"], keywords=v["keywords"], region_code=v["region_code"],
        temporal_start=v["temporal_start"], temporal_end=v["temporal_end"],
        update_frequency=v["update_frequency"], license=v["license"], source_statement=v["source_statement"],
        authorization_id=v["authorization_id"], authorization_basis=v["authorization_basis"],
        resource_ids=v["resource_ids"], provider_ids=v["provider_ids"], classification=v["classification"],
        scale=v["scale"], columns=v["columns"], sample=v["sample"], quality=v["quality"], offers=v["offers"],
        price_from_fen=v["price_from_fen"], verification=v["verification"], metadata_hash=v["metadata_hash"],
        chain=ChainReceiptOut(state=v["chain_state"], tx_hash=v["tx_hash"], block_number=v["block_number"],
                              log_index=v["log_index"]),
        created_at=v["created_at"], updated_at=v["updated_at"], listed_at=v["listed_at"],
        notice_ends_at=v["notice_ends_at"], deliverable=v["deliverable"], model=v["model_spec"] or None,
        privacy_unit=privacy_unit_view(v["columns"], len(v["provider_ids"]), v["max_rows_per_id"],
                                       v["max_groups_per_id"], v["ids_partitioned"]))
    return _PRODUCT_JSON(out)


_PRODUCT_JSON = TypeAdapter(ProductOut).dump_json


FTS_MIN_TERM = 3  # the trigram FTS5 index finds terms of 3 characters or more; shorter ones are matched with LIKE
FILTER_COLUMNS = {"sector": "sector", "region_code": "region_code", "classification": "classification",
                  "status": "status", "operator": "operator_id"}  # query field -> column it must equal


def _pattern(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _fts_match(terms: list[str]) -> str:
    return " ".join('"' + t.replace('"', '""') + '"' for t in terms)


def _selective(query: CatalogQuery) -> bool:
    """A filter likely to keep few products (operator, provider, classification, a status other than listed):
    there, reading that filter's index and sorting what it keeps beats walking an order's index."""
    return bool(query.operator or query.provider or query.classification
                or (query.status is not None and query.status != ProductStatus.LISTED))


WALK_BUDGET = 2000  # rows of an order's index a keyword search walks before it asks FTS5 for all matches instead
Plan = Literal["plain", "fts_drive", "fts_in", "walk"]


def _keyword_plan(dialect: str, query: CatalogQuery, selective: bool) -> tuple[Plan, str | None, list[str]]:
    """The plan (`registry.catalog_sql`), the MATCH expression or tsquery words, and the LIKE terms.
    Every term must match (in title, description or keywords). A walk's MATCH is its fallback's."""
    terms = (query.q or "").split()
    if dialect != "sqlite":  # full-text words; the rest (e.g. Chinese) by substring
        words = [t for t in terms if t.isascii()]
        return "plain", " ".join(words) or None, [t for t in terms if not t.isascii()]
    long = [t for t in terms if len(t) >= FTS_MIN_TERM]
    short = [t for t in terms if len(t) < FTS_MIN_TERM]
    if not long:
        return "plain", None, short
    if ORDERS[query.sort].key is None:
        return ("fts_in" if selective else "fts_drive"), _fts_match(long), short
    if not selective and all(t.isascii() for t in terms):  # LIKE folds ASCII case only (FTS5 folds all)
        return "walk", _fts_match(long), terms
    return "fts_in", _fts_match(long), short


def _shape(dialect: str, actor: Actor, query: CatalogQuery) -> tuple[Shape, dict[str, Any]]:
    """This query's shape and the values to bind."""
    selective = _selective(query)
    plan, match, likes = _keyword_plan(dialect, query, selective)
    params: dict[str, Any] = {"lim": query.limit + 1, "m": match, "me": actor.id, "budget": WALK_BUDGET}
    fields = [f for f in FILTER_COLUMNS if getattr(query, f) is not None]
    params.update({FILTER_COLUMNS[f]: getattr(query, f) for f in fields})
    params.update({f: getattr(query, f) for f in ("provider", "price_min", "price_max")})
    params.update({f"t{i}": _pattern(t) for i, t in enumerate(likes)})
    if query.cursor:
        params["ck"], params["cp"] = decode_cursor(query.cursor, query.sort)
    shape = Shape(dialect=dialect, sort=query.sort, plan=plan, visibility=product_visibility(actor),
                  equals=tuple(FILTER_COLUMNS[f] for f in fields), provider=query.provider is not None,
                  price_min=query.price_min is not None, price_max=query.price_max is not None,
                  match=match is not None and plan != "walk", likes=len(likes), cursor=bool(query.cursor),
                  walk_index=not selective and plan in ("plain", "walk"), window=False)
    return shape, params


def _page_rows(session: Session, actor: Actor, query: CatalogQuery) -> tuple[list[Any], bool]:
    """The page's raw view rows (`VIEW_COLUMNS`) and whether more follow.

    A keyword search in title or price order first walks that order's index for at most WALK_BUDGET rows,
    checking each product for every term: when many products match (the costly case for a sort) the page
    is full after a few rows. Otherwise FTS5 finds all matches and they are sorted: few match then. Both
    steps are bounded by the budget or by the matches, never by the catalog's size."""
    conn = session.connection()
    shape, params = _shape(conn.dialect.name, actor, query)
    if shape.plan == "walk":
        end = conn.execute(window_end(shape), params).first()
        if end is not None:
            params["wk"], params["wp"] = end
        rows = list(conn.execute(search_statement(shape._replace(window=end is not None)), params).all())
        if end is not None and len(rows) <= query.limit:  # the window ended before the page did
            fallback = shape._replace(plan="fts_in", match=True, walk_index=False)
            rows = list(conn.execute(search_statement(fallback), params).all())
    else:
        rows = list(conn.execute(search_statement(shape), params).all())
    return rows[:query.limit], len(rows) > query.limit


def encode_cursor(sort: Sort, row: Any) -> str:
    """The cursor after `row`, a raw view row (`VIEW_COLUMNS`)."""
    key: Any = None
    if ORDERS[sort].key is PRICE_KEY:
        key = row[_PRICE] if row[_PRICE] is not None else NO_PRICE
    elif ORDERS[sort].key is not None:
        key = row[_TITLE]
    raw = json.dumps({"s": sort, "k": key, "p": row[_PK]}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def search_json(session: Session, actor: Actor, query: CatalogQuery) -> bytes:
    """`search` as the JSON body of a `CatalogPage`, byte for byte what pydantic would serialize."""
    rows, more = _page_rows(session, actor, query)
    dialect = session.get_bind().dialect
    cursor = json.dumps(encode_cursor(query.sort, rows[-1])).encode() if more and rows else b"null"
    return b'{"items":[' + b",".join([_render(tuple(r), dialect) for r in rows]) + b'],"next_cursor":' + cursor + b"}"


def search(session: Session, actor: Actor, query: CatalogQuery) -> CatalogPage:
    """One page of products the actor may see, newest first unless `sort` says otherwise."""
    return CatalogPage.model_validate_json(search_json(session, actor, query))


def product_json(session: Session, actor: Actor, ref: str) -> bytes:
    """One product by id or PX- code as `ProductOut` JSON, if the actor may see it (else NotFound,
    as `registry.products.visible_product`)."""
    row = session.connection().execute(BY_CODE if ref.startswith("PX-") else BY_ID, {"ref": ref}).first()
    if row is None or not sees_product(actor, row[_STATUS], row[_OPERATOR]):
        raise NotFound(f"product {ref} not found")
    return _render(tuple(row), session.get_bind().dialect)
