"""The catalog: filter, search, sort and page through products (buyers see listed ones only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import Ctx, ctx
from registry.catalog import CatalogQuery, search
from registry.schemas import CatalogPage

router = APIRouter(prefix="/catalog", tags=["catalog"])


@router.get("", response_model=CatalogPage, summary="Search products",
            description="Keyword search over title, description and keywords; filters combine with AND; "
                        "`next_cursor` pages forward and stays stable while products are added.")
def catalog(query: Annotated[CatalogQuery, Query()], c: Ctx = Depends(ctx())) -> CatalogPage:
    return search(c.session, c.actor, query)
