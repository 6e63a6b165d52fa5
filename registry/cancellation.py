"""Cancellation registration (注销登记): the operator applies to cancel its product's registration; the exchange
decides.

The operator of a listed, suspended or in-notice product applies with reasons (`cancellation.applied`); the
exchange approves or rejects with its reasons (`cancellation.decided`). Approval delists the product by the
exchange's own status act (`registry.lifecycle.set_status`: `setProductStatus` to delisted on chain, a
`product.status` record naming the application), and every certificate of the product then reads `cancelled`
with the date and both reasons (`registry.certificates.cancellation_of`). Rejection changes nothing.
An application shares the table of revisions and corrections (`kind` `cancellation`), hence the rule of one open
application per product. Existing licenses keep their terms and records; a delisted product is not servable
(`registry.access.require_servable`), so no new order, negotiation or query is accepted for it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from ledger.records import append_record
from registry.actor import Actor
from registry.chain import ChainGateway
from registry.errors import Conflict
from registry.lifecycle import set_status
from registry.models import Product, ProductRevision, ProductStatus, Role
from registry.products import get_product, owned_product
from registry.registration_schemas import CancellationDecisionIn, CancellationIn
from registry.revisions import CANCELLATION, get_application, require_no_open_application
from registry.signing import new_id

CANCELLABLE = (ProductStatus.LISTED, ProductStatus.SUSPENDED, ProductStatus.IN_NOTICE)


def _cancellable(row: Product) -> None:
    if row.status not in CANCELLABLE:
        raise Conflict(f"product {row.code} is {row.status}: only a listed, suspended or in-notice product's "
                       "registration is cancelled")


def apply_for_cancellation(session: Session, actor: Actor, ref: str, data: CancellationIn) -> ProductRevision:
    """The operator applies to cancel its product's registration; nothing changes until the exchange decides."""
    row = owned_product(session, actor, ref)
    _cancellable(row)
    require_no_open_application(session, row)
    app = ProductRevision(id=new_id(session), product_id=row.id, kind=CANCELLATION, proposer_id=actor.id,
                          grounds=data.reasons, base_version=row.version, changes={},
                          metadata_hash=row.metadata_hash)
    session.add(app)
    append_record(session, kind="cancellation.applied", actor=actor.id, subject=row.id,
                  authorization=row.authorization_id,
                  data={"code": row.code, "revision_id": app.id, "version": row.version,
                        "metadata_hash": row.metadata_hash, "reasons": data.reasons})
    return app


def decide_cancellation(session: Session, gateway: ChainGateway, actor: Actor, ref: str, application_id: str,
                        data: CancellationDecisionIn) -> tuple[Product, ProductRevision]:
    """The exchange approves (the product is delisted, on chain too) or rejects (nothing changes) an application."""
    actor.require(Role.EXCHANGE)
    row = get_product(session, ref)
    app = get_application(session, row, application_id, CANCELLATION)
    if app.status != "pending":
        raise Conflict(f"cancellation {app.id} is {app.status}, not pending")
    approve = data.decision == "approve"
    if approve:
        _cancellable(row)
    app.status = "approved" if approve else "rejected"
    app.reasons, app.decided_at = data.reasons, datetime.now(UTC)
    session.add(app)
    append_record(session, kind="cancellation.decided", actor=actor.id, subject=row.id,
                  authorization=row.authorization_id,
                  data={"code": row.code, "revision_id": app.id, "decision": data.decision, "reasons": data.reasons})
    if approve:
        set_status(session, gateway, actor, row, ProductStatus.DELISTED,
                   f"registration cancelled (cancellation {app.id}): {app.grounds} — {data.reasons}")
    return row, app
