"""Data products: drafts, edits, submission (on-chain registration), views and the serving gate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import object_session
from sqlmodel import Session, col, select

from ledger.ids import chain_id_of, hex32
from registry.access import sees_product
from registry.actor import Actor
from registry.authorizations import check_resource_levels, get_authorization, load_resources, require_active
from registry.chain import ChainGateway, submit
from registry.codes import readable_code
from registry.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation, found
from registry.hashing import canonical_hash
from registry.models import Account, Authorization, Product, ProductProvider, ProductStatus, Role
from registry.privacy_unit import privacy_unit_view
from registry.queries.models import QueryPolicy
from registry.schemas import ChainReceiptOut, ProductIn, ProductOut, ProductPatch
from registry.signing import new_id
from registry.statuses import check_transition, level
from registry.verification_terms import check_against_columns

REVISABLE = (ProductStatus.LISTED, ProductStatus.SUSPENDED)  # changed through revisions only


def product_metadata(row: Product) -> dict[str, Any]:
    """The canonical metadata (DCAT + registration fields) whose SHA-256 goes on chain (a model product's
    deliverable and model too)."""
    return {
        "id": row.id, "code": row.code, "title": row.title, "description": row.description,
        "publisher": row.publisher, "operator_id": row.operator_id, "theme": row.sector,
        "keyword": row.keywords, "spatial": row.region_code,
        "temporal": {"start": row.temporal_start, "end": row.temporal_end},
        "accrual_periodicity": row.update_frequency, "license": row.license,
        "source_statement": row.source_statement, "authorization_basis": row.authorization_basis,
        "authorization_id": row.authorization_id, "resource_ids": row.resource_ids,
        "provider_ids": row.provider_ids, "classification": row.classification, "scale": row.scale,
        "columns": row.columns, "sample": row.sample, "quality": row.quality,
        **({"verification": row.verification} if row.verification else {}),
    } | ({"deliverable": row.deliverable, "model": row.model_spec} if row.deliverable == "model" else {})


def rehash(row: Product) -> None:
    row.keywords_text = " ".join(row.keywords)
    row.metadata_hash = canonical_hash(product_metadata(row))


def _check_sample(columns: list[dict[str, Any]], sample: list[dict[str, Any]]) -> None:
    names = [c["name"] for c in columns]
    if len(set(names)) != len(names):
        raise InvalidInput("columns", "column names must be unique")
    hidden = [c["name"] for c in columns if c.get("privacy_id")]
    for i, rec in enumerate(sample):
        for key in rec:
            if key not in names:
                raise InvalidInput(f"sample[{i}].{key}", "not one of the product's columns")
            if key in hidden:
                raise InvalidInput(f"sample[{i}].{key}", "the privacy-ID column is never shown")


def _check_providers(session: Session, ids: list[str]) -> None:
    if len(set(ids)) != len(ids):
        raise InvalidInput("provider_ids", "duplicate provider ids")
    found = {a.id: a.role for a in session.exec(select(Account).where(col(Account.id).in_(ids))).all()}
    for i, pid in enumerate(ids):
        if found.get(pid) != Role.PROVIDER:
            raise InvalidInput(f"provider_ids[{i}]", f"{pid} is not a provider account")


def _check_basis(session: Session, actor: Actor, authz: Authorization, resource_ids: list[str],
                 classification: str) -> None:
    """NotAuthorizationHolder, AuthorizationInactive, NotAuthorized, CoreDataNotTradable,
    ClassificationExceeded (the contract's rules), and classification consistency."""
    if authz.operator_id != actor.id:
        raise RuleViolation("NotAuthorizationHolder", authorizationId=hex32(chain_id_of(authz.id)),
                            authorization=authz.code)
    require_active(authz)
    resources = load_resources(session, resource_ids, "resource_ids")
    for r in resources:
        if r.id not in authz.resource_ids:
            raise RuleViolation("NotAuthorized", operator=actor.address, resourceId=hex32(chain_id_of(r.id)),
                                resource=r.code)
    check_resource_levels(resources, authz.max_classification)
    highest = max(resources, key=lambda r: level(r.classification)).classification
    if classification != highest:
        raise InvalidInput("classification", f"must be {highest}, the highest classification of its resources")


def create_product(session: Session, actor: Actor, data: ProductIn) -> Product:
    """A draft product (nothing on chain until it is submitted)."""
    actor.require(Role.OPERATOR)
    try:
        authz = get_authorization(session, data.authorization_id)
    except NotFound:
        raise InvalidInput("authorization_id", f"unknown authorization {data.authorization_id}") from None
    _check_basis(session, actor, authz, list(data.resource_ids), data.classification)
    _check_providers(session, list(data.provider_ids))
    fields = data.model_dump(mode="json", exclude={"authorization_id", "resource_ids", "provider_ids"})
    _check_sample(fields["columns"], fields["sample"])
    fields["model_spec"] = fields.pop("model") or {}
    if data.verification is not None:
        check_against_columns(data.verification, data.columns)
    pid = new_id(session)
    row = Product(id=pid, code=f"tmp-{pid[:28]}", operator_id=actor.id, authorization_id=authz.id,
                  resource_ids=list(data.resource_ids), provider_ids=list(data.provider_ids),
                  publisher=actor.name, authorization_basis=authz.code, metadata_hash="", **fields)
    session.add(row)
    session.flush()
    assert row.pk is not None
    row.code = readable_code("PX", row.pk)
    rehash(row)
    for provider in row.provider_ids:
        session.add(ProductProvider(product_id=row.id, provider_id=provider))
    return row


def get_product(session: Session, ref: str) -> Product:
    column = Product.code if ref.startswith("PX-") else Product.id
    return found(session.exec(select(Product).where(column == ref)).first(), f"product {ref}")


def visible_product(session: Session, actor: Actor, ref: str) -> Product:
    """The product if the actor may see it (`registry.access.sees_product`), else NotFound."""
    row = get_product(session, ref)
    if not sees_product(actor, row.status, row.operator_id):
        raise NotFound(f"product {ref} not found")
    return row


def owned_product(session: Session, actor: Actor, ref: str) -> Product:
    """The actor's own product (operator-only writes)."""
    actor.require(Role.OPERATOR)
    row = visible_product(session, actor, ref)
    if row.operator_id != actor.id:
        raise Forbidden(f"only the product's operator may change {row.code}")
    return row


def apply_patch(row: Product, changes: dict[str, Any]) -> None:
    """Set the patched descriptive fields on `row` and check them (null, time range, sample); then rehash."""
    for key, value in changes.items():
        if value is None and key not in ("temporal_start", "temporal_end"):
            raise InvalidInput(key, "may not be null")
        setattr(row, key, value)
    if row.temporal_start and row.temporal_end and row.temporal_end < row.temporal_start:
        raise InvalidInput("temporal_end", "must not precede temporal_start")
    _check_sample(row.columns, row.sample)
    rehash(row)


def update_product(session: Session, actor: Actor, ref: str, patch: ProductPatch) -> Product:
    """Edit a draft. Every field a patch may change is in the product's chain hash (`product_metadata`), so a
    listed or suspended product changes only through a reviewed revision (`registry.revisions`)."""
    row = owned_product(session, actor, ref)
    if row.status in REVISABLE:
        raise Conflict(f"product {row.code} is {row.status}: propose the change as a revision, reviewed by the "
                       f"exchange before it replaces the listed version (POST /products/{row.code}/revisions)")
    if row.status != ProductStatus.DRAFT:
        raise Conflict(f"product {row.code} is {row.status}; only a draft can be edited")
    apply_patch(row, patch.model_dump(mode="json", exclude_unset=True))
    row.updated_at = datetime.now(UTC)
    session.add(row)
    return row


def submit_product(session: Session, gateway: ChainGateway, actor: Actor, ref: str) -> Product:
    """draft -> submitted: the product is registered on chain under its authorization."""
    row = owned_product(session, actor, ref)
    check_transition(row, ProductStatus.SUBMITTED)
    _check_basis(session, actor, get_authorization(session, row.authorization_id), row.resource_ids,
                 row.classification)
    row.status = ProductStatus.SUBMITTED
    row.updated_at = datetime.now(UTC)
    session.add(row)
    submit(session, gateway, subject_type="product", subject_id=row.id, action="product.register",
           payload={"product_id": row.id, "operator_id": actor.id, "authorization_id": row.authorization_id,
                    "resource_ids": row.resource_ids, "metadata_hash": row.metadata_hash, "sector": row.sector})
    return row


def product_view(row: Product) -> ProductOut:
    return ProductOut(
        id=row.id, code=row.code, status=row.status, version=row.version, title=row.title,
        description=row.description, publisher=row.publisher, operator_id=row.operator_id, sector=row.sector,
        theme=row.sector, keywords=row.keywords, region_code=row.region_code,
        temporal_start=row.temporal_start, temporal_end=row.temporal_end,
        update_frequency=row.update_frequency, license=row.license, source_statement=row.source_statement,
        authorization_id=row.authorization_id, authorization_basis=row.authorization_basis,
        resource_ids=row.resource_ids, provider_ids=row.provider_ids, classification=row.classification,
        scale=row.scale, columns=row.columns, sample=row.sample, quality=row.quality, offers=row.offers,
        price_from_fen=row.price_from_fen, verification=row.verification, metadata_hash=row.metadata_hash,
        chain=ChainReceiptOut(state=row.chain_state, tx_hash=row.tx_hash, block_number=row.block_number,
                              log_index=row.log_index),
        created_at=row.created_at, updated_at=row.updated_at, listed_at=row.listed_at,
        notice_ends_at=row.notice_ends_at, deliverable=row.deliverable, model=row.model_spec or None,
        privacy_unit=_unit_view(row))


def _unit_view(row: Product) -> dict[str, Any] | None:
    """The product's privacy unit with its query policy's bounds (the defaults without one)."""
    session = object_session(row)
    policy = session.get(QueryPolicy, row.id) if session is not None and row.id else None
    return privacy_unit_view(row.columns, len(row.provider_ids), policy.max_rows_per_id if policy else None,
                             policy.max_groups_per_id if policy else None, policy.ids_partitioned if policy else False)
