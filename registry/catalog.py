"""The catalog: filters, keyword search (SQLite FTS5 trigram / PostgreSQL full text), sort, cursors."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from sqlmodel import AutoString, Session, col, select

from registry.access import sees_product, visible_products
from registry.actor import Actor
from registry.errors import InvalidInput, NotFound
from registry.limits import MAX_FEN
from registry.models import Product, ProductProvider, ProductStatus
from registry.schemas import CatalogPage, ChainReceiptOut, ProductOut

Sort = Literal["newest", "oldest", "title", "price"]
NO_PRICE = 2**62


class CatalogQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: Annotated[str | None, Field(max_length=200, description="keywords in title, description, keywords")] = None
    sector: str | None = None
    region_code: str | None = None
    classification: Literal["general", "important"] | None = None
    provider: str | None = Field(None, description="provider account id serving the product")
    operator: str | None = Field(None, description="operator account id (publisher)")
    price_min: Annotated[int | None, Field(ge=0, le=MAX_FEN, description="fen")] = None
    price_max: Annotated[int | None, Field(ge=0, le=MAX_FEN, description="fen")] = None
    status: Literal["draft", "submitted", "under_review", "in_notice", "listed", "rejected", "suspended",
                    "delisted"] | None = None
    sort: Sort = "newest"
    cursor: str | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20


def _sort_key(sort: Sort) -> Any:
    if sort == "title":
        return col(Product.title)
    if sort == "price":
        return sa.func.coalesce(col(Product.price_from_fen), NO_PRICE)
    return None


def decode_cursor(cursor: str, sort: Sort) -> tuple[Any, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if data["s"] != sort or not isinstance(data["p"], int):
            raise ValueError("cursor belongs to another sort order")
        return data["k"], data["p"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor", "not a cursor returned by this listing with the same sort") from None


def _terms(q: str) -> list[str]:
    return [t for t in q.split() if t]


# Columns a product view is rendered from, read raw: JSON columns as their stored text, timestamps as
# the driver returns them, strings without sqlmodel's (identity) type decorator. The raw row is then
# the exact input of the rendering, so it keys the cache of rendered views (no stale entries: any change
# to any rendered column is a different key), and only a cache miss decodes JSON and timestamps.
_TABLE: sa.Table = Product.__table__  # type: ignore[attr-defined]
_JSON_COLUMNS = ("resource_ids", "provider_ids", "keywords", "columns", "sample", "quality", "offers")
_VIEW_COLUMNS = ("pk", "id", "code", "status", "version", "title", "description", "publisher", "operator_id",
                 "sector", "keywords", "region_code", "temporal_start", "temporal_end", "update_frequency",
                 "license", "source_statement", "authorization_id", "authorization_basis", "resource_ids",
                 "provider_ids", "classification", "scale", "columns", "sample", "quality", "offers",
                 "price_from_fen", "metadata_hash", "chain_state", "tx_hash", "block_number", "log_index",
                 "created_at", "updated_at", "listed_at", "notice_ends_at")
_TIME_COLUMNS = ("created_at", "updated_at", "listed_at", "notice_ends_at")


def _raw(name: str) -> Any:
    column = _TABLE.c[name]
    if name in _JSON_COLUMNS:
        return sa.cast(column, sa.Text).label(name)
    if name in _TIME_COLUMNS or isinstance(column.type, AutoString):
        return sa.type_coerce(column, sa.String()).label(name)
    return column


_VIEW_SELECT = tuple(_raw(n) for n in _VIEW_COLUMNS)
_VIEW_STMT = sa.select(*_VIEW_SELECT)  # built once: building a 36-column select costs more than running it
_BY_ID = _VIEW_STMT.where(_TABLE.c.id == sa.bindparam("ref"))
_BY_CODE = _VIEW_STMT.where(_TABLE.c.code == sa.bindparam("ref"))
_I = {n: i for i, n in enumerate(_VIEW_COLUMNS)}
_PK, _TITLE, _PRICE, _STATUS, _OPERATOR = (_I[n] for n in ("pk", "title", "price_from_fen", "status",
                                                           "operator_id"))
VIEW_CACHE_SIZE = 4096


@functools.cache
def _time_converters(dialect: sa.Dialect) -> list[tuple[str, Any]]:
    """What SQLAlchemy would do to each raw timestamp column of this dialect (UTC-aware datetimes)."""
    procs = [(n, _TABLE.c[n].type.dialect_impl(dialect).result_processor(dialect, None)) for n in _TIME_COLUMNS]
    return [(n, proc) for n, proc in procs if proc is not None]


@functools.lru_cache(maxsize=VIEW_CACHE_SIZE)
def _render(row: tuple[Any, ...], dialect: sa.Dialect) -> bytes:
    """A product's JSON exactly as `ProductOut` serializes it (validated once, serialized once)."""
    v = dict(zip(_VIEW_COLUMNS, row, strict=True))
    for n in _JSON_COLUMNS:
        v[n] = json.loads(v[n])
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
        price_from_fen=v["price_from_fen"], metadata_hash=v["metadata_hash"],
        chain=ChainReceiptOut(state=v["chain_state"], tx_hash=v["tx_hash"], block_number=v["block_number"],
                              log_index=v["log_index"]),
        created_at=v["created_at"], updated_at=v["updated_at"], listed_at=v["listed_at"],
        notice_ends_at=v["notice_ends_at"])
    return _PRODUCT_JSON(out)


_PRODUCT_JSON = TypeAdapter(ProductOut).dump_json


def _fts_match(terms: list[str]) -> str:
    return " ".join('"' + t.replace('"', '""') + '"' for t in terms)


def _keyword_filter(session: Session, q: str, fts_joined: bool) -> Any:
    """The keyword condition; with `fts_joined` (SQLite) the FTS5 table is already joined and driving."""
    terms = _terms(q)
    dialect = session.get_bind().dialect.name
    clauses: list[Any] = []
    long_terms = [t for t in terms if len(t) >= 3]
    short_terms = [t for t in terms if len(t) < 3]
    if dialect == "sqlite":
        if long_terms:
            if fts_joined:
                clauses.append(sa.text("product_fts MATCH :m").bindparams(m=_fts_match(long_terms)))
            else:
                clauses.append(col(Product.pk).in_(
                    sa.text("SELECT rowid FROM product_fts WHERE product_fts MATCH :m")
                    .bindparams(m=_fts_match(long_terms))))
    else:
        ascii_terms = [t for t in terms if t.isascii()]
        short_terms = [t for t in terms if not t.isascii()]
        if ascii_terms:
            clauses.append(sa.literal_column("search_tsv").op("@@")(
                sa.func.plainto_tsquery("simple", " ".join(ascii_terms))))
    for t in short_terms:
        pattern = "%" + t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(sa.or_(col(Product.title).ilike(pattern, escape="\\"),
                              col(Product.description).ilike(pattern, escape="\\"),
                              col(Product.keywords_text).ilike(pattern, escape="\\")))
    return sa.and_(*clauses) if clauses else None


_FTS = sa.table("product_fts", sa.column("rowid", sa.Integer))


def _fts_drives(session: Session, query: CatalogQuery) -> bool:
    """Walk the SQLite FTS5 matches in rowid (= pk) order, joining each to its product, and stop at the
    page's end: a page of the newest (or oldest) matches then costs a few hundred row reads however
    many products match. Not for title/price order (all matches must be sorted anyway), and not when a
    filter is likely to keep only a few matches (operator, provider, classification, a status other
    than listed): there, the old plan (all matches as a rowid list, then the filter's index) is cheaper."""
    if session.get_bind().dialect.name != "sqlite" or query.sort not in ("newest", "oldest"):
        return False
    if not query.q or not any(len(t) >= 3 for t in _terms(query.q)):
        return False
    selective = (query.operator or query.provider or query.classification
                 or (query.status is not None and query.status != ProductStatus.LISTED))
    return not selective


def _page_rows(session: Session, actor: Actor, query: CatalogQuery) -> tuple[list[Any], bool]:
    """The page's raw view rows (`_VIEW_COLUMNS`) and whether more follow."""
    stmt = _VIEW_STMT
    fts_drives = _fts_drives(session, query)
    pk: Any = col(Product.pk)
    if fts_drives:
        stmt = stmt.select_from(_FTS).join(_TABLE, _TABLE.c.pk == _FTS.c.rowid)
        pk = _FTS.c.rowid  # order and cursor on the FTS rowid, so that FTS5 consumes them
    else:
        stmt = stmt.select_from(_TABLE)
    visible = visible_products(actor)
    if visible is not None:
        stmt = stmt.where(visible)
    for field in ("sector", "region_code", "classification", "status"):
        value = getattr(query, field)
        if value is not None:
            stmt = stmt.where(getattr(Product, field) == value)
    if query.operator:
        stmt = stmt.where(col(Product.operator_id) == query.operator)
    if query.provider:
        stmt = stmt.where(col(Product.id).in_(
            select(ProductProvider.product_id).where(ProductProvider.provider_id == query.provider)))
    if query.price_min is not None:
        stmt = stmt.where(col(Product.price_from_fen) >= query.price_min)
    if query.price_max is not None:
        stmt = stmt.where(col(Product.price_from_fen) <= query.price_max)
    if query.q and query.q.strip():
        kw = _keyword_filter(session, query.q, fts_drives)
        if kw is not None:
            stmt = stmt.where(kw)
    key = _sort_key(query.sort)
    if query.cursor:
        last_key, last_pk = decode_cursor(query.cursor, query.sort)
        if query.sort == "newest":
            stmt = stmt.where(pk < last_pk)
        elif query.sort == "oldest":
            stmt = stmt.where(pk > last_pk)
        else:
            stmt = stmt.where(sa.or_(key > last_key, sa.and_(key == last_key, pk > last_pk)))
    if query.sort == "newest":
        stmt = stmt.order_by(pk.desc())
    elif query.sort == "oldest":
        stmt = stmt.order_by(pk)
    else:
        stmt = stmt.order_by(key, pk)
    rows = list(session.connection().execute(stmt.limit(query.limit + 1)).all())
    more = len(rows) > query.limit
    return rows[:query.limit], more


def encode_cursor(sort: Sort, row: Any) -> str:
    """The cursor after `row`, a raw view row (`_VIEW_COLUMNS`)."""
    key: Any = None
    if sort == "title":
        key = row[_TITLE]
    elif sort == "price":
        key = row[_PRICE] if row[_PRICE] is not None else NO_PRICE
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
    row = session.connection().execute(_BY_CODE if ref.startswith("PX-") else _BY_ID, {"ref": ref}).first()
    if row is None or not sees_product(actor, row[_STATUS], row[_OPERATOR]):
        raise NotFound(f"product {ref} not found")
    return _render(tuple(row), session.get_bind().dialect)
