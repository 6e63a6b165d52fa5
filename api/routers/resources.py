"""Public data resources (the authority registers them)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from api.deps import AuthorityCtx, ReaderCtx
from registry import resources as svc
from registry.limits import MAX_CURSOR
from registry.models import Role
from registry.schemas import ClassificationName, ResourceIn, ResourceOut

router = APIRouter(prefix="/resources", tags=["resources"])
R = Role
READERS = (R.AUTHORITY, R.OPERATOR, R.EXCHANGE, R.AUDITOR)


@router.post("", status_code=201, response_model=ResourceOut, summary="Register a resource (authority)")
def register(body: ResourceIn, c: AuthorityCtx) -> ResourceOut:
    row = svc.register_resource(c.session, c.gateway, c.actor, body)
    c.commit()
    return svc.view_resource(c.actor, row)


@router.get("", response_model=list[ResourceOut], summary="List resources")
def list_resources(c: ReaderCtx, sector: str | None = None, classification: ClassificationName | None = None,
                   limit: int = Query(100, ge=1, le=500),
                   after: int = Query(0, ge=0, le=MAX_CURSOR)) -> list[ResourceOut]:
    return svc.list_resources(c.session, c.actor, sector=sector, classification=classification,
                              limit=limit, after=after)


@router.get("/{ref}", response_model=ResourceOut, summary="One resource by id or PXR- code")
def get_resource(ref: str, c: ReaderCtx) -> ResourceOut:
    return svc.view_resource(c.actor, svc.get_resource(c.session, ref))
