"""The catalog: filter, search, sort and page through products (buyers see listed ones only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import AnyCtx
from registry.catalog import CatalogQuery, search_json
from registry.schemas import CatalogPage

router = APIRouter(prefix="/catalog", tags=["catalog"])


@router.get("", response_model=CatalogPage, summary="Search products",
            description="Keyword search over title, description and keywords (every word must match); filters "
                        "combine with AND; `sort` orders by registration, title or price, either way; "
                        "`next_cursor` pages forward and stays stable while products are added (no product "
                        "twice, none skipped). A cursor from another `sort` or a damaged one: 422 naming `cursor`.")
async def catalog(query: Annotated[CatalogQuery, Query()], c: AnyCtx) -> Response:
    # serialized once by the service (a CatalogPage, as documented by response_model), not re-validated
    return Response(await c.read(search_json, c.session, c.actor, query), media_type="application/json")
