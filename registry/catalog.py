"""The catalog: filters, keyword search (SQLite FTS5 trigram / PostgreSQL full text), sort, cursors."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from registry.actor import Actor
from registry.errors import InvalidInput
from registry.models import Product, ProductProvider, ProductStatus, Role
from registry.products import ALL_READERS, product_view
from registry.schemas import CatalogPage

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
    price_min: Annotated[int | None, Field(ge=0, description="fen")] = None
    price_max: Annotated[int | None, Field(ge=0, description="fen")] = None
    status: Literal["draft", "submitted", "under_review", "listed", "rejected", "suspended", "delisted"] | None = None
    sort: Sort = "newest"
    cursor: str | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20


def _sort_key(sort: Sort) -> Any:
    if sort == "title":
        return col(Product.title)
    if sort == "price":
        return sa.func.coalesce(col(Product.price_from_fen), NO_PRICE)
    return None


def encode_cursor(sort: Sort, row: Product) -> str:
    key: Any = None
    if sort == "title":
        key = row.title
    elif sort == "price":
        key = row.price_from_fen if row.price_from_fen is not None else NO_PRICE
    raw = json.dumps({"s": sort, "k": key, "p": row.pk}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


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


def _keyword_filter(session: Session, q: str) -> Any:
    terms = _terms(q)
    dialect = session.get_bind().dialect.name
    clauses: list[Any] = []
    long_terms = [t for t in terms if len(t) >= 3]
    short_terms = [t for t in terms if len(t) < 3]
    if dialect == "sqlite":
        if long_terms:
            match = " ".join('"' + t.replace('"', '""') + '"' for t in long_terms)
            clauses.append(col(Product.pk).in_(
                sa.text("SELECT rowid FROM product_fts WHERE product_fts MATCH :m").bindparams(m=match)))
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


def search(session: Session, actor: Actor, query: CatalogQuery) -> CatalogPage:
    """One page of products the actor may see, newest first unless `sort` says otherwise."""
    stmt = select(Product)
    if actor.role in ALL_READERS:
        pass
    elif actor.role == Role.OPERATOR:
        stmt = stmt.where(sa.or_(col(Product.status) == ProductStatus.LISTED,
                                 col(Product.operator_id) == actor.id))
    else:
        stmt = stmt.where(col(Product.status) == ProductStatus.LISTED)
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
        kw = _keyword_filter(session, query.q)
        if kw is not None:
            stmt = stmt.where(kw)
    key = _sort_key(query.sort)
    pk = col(Product.pk)
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
    rows = list(session.exec(stmt.limit(query.limit + 1)).all())
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    return CatalogPage(items=[product_view(r) for r in rows],
                       next_cursor=encode_cursor(query.sort, rows[-1]) if more and rows else None)
