"""Public data resources, registered on chain by the authority."""

from __future__ import annotations

from sqlmodel import Session, col, select

from registry.access import OVERSEERS
from registry.actor import Actor
from registry.chain import ChainGateway, submit
from registry.codes import readable_code
from registry.errors import found
from registry.hashing import canonical_hash
from registry.models import Resource, Role
from registry.schemas import ResourceIn, ResourceOut
from registry.signing import new_id

READERS = (*OVERSEERS, Role.OPERATOR)


def resource_metadata(row: Resource) -> dict[str, object]:
    """The canonical metadata whose hash goes on chain."""
    return {"id": row.id, "name": row.name, "department": row.department, "sector": row.sector,
            "region_code": row.region_code, "classification": row.classification,
            "sensitivity_tags": sorted(row.sensitivity_tags), "content_hash": row.content_hash,
            "column_schema": row.column_schema, "update_frequency": row.update_frequency,
            "volume": row.volume}


def register_resource(session: Session, gateway: ChainGateway, actor: Actor, data: ResourceIn) -> Resource:
    """Register a resource (core ones too: they are recorded but can never be authorized for trading)."""
    actor.require(Role.AUTHORITY)
    rid = new_id(session)
    row = Resource(id=rid, code=f"tmp-{rid[:28]}", registered_by=actor.id, metadata_hash="",
                   **data.model_dump(exclude={"column_schema"}),
                   column_schema=[c.model_dump() for c in data.column_schema])
    row.metadata_hash = canonical_hash(resource_metadata(row))
    session.add(row)
    session.flush()
    assert row.pk is not None
    row.code = readable_code("PXR", row.pk)
    submit(session, gateway, subject_type="resource", subject_id=row.id, action="resource.register",
           payload={"resource_id": row.id, "authority_id": actor.id, "classification": row.classification,
                    "content_hash": row.content_hash, "metadata_hash": row.metadata_hash})
    return row


def get_resource(session: Session, ref: str) -> Resource:
    column = Resource.code if ref.startswith("PXR-") else Resource.id
    return found(session.exec(select(Resource).where(column == ref)).first(), f"resource {ref}")


def view_resource(actor: Actor, row: Resource) -> ResourceOut:
    actor.require(*READERS)
    return ResourceOut.model_validate(row, from_attributes=True)


def list_resources(session: Session, actor: Actor, *, sector: str | None = None,
                   classification: str | None = None, limit: int = 100, after: int = 0) -> list[ResourceOut]:
    actor.require(*READERS)
    stmt = select(Resource).where(col(Resource.pk) > after).order_by(col(Resource.pk)).limit(limit)
    if sector:
        stmt = stmt.where(Resource.sector == sector)
    if classification:
        stmt = stmt.where(Resource.classification == classification)
    return [ResourceOut.model_validate(r, from_attributes=True) for r in session.exec(stmt).all()]
