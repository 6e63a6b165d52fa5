"""Verification calls (核验): one bit about one key, sealed end to end to the buyer, charged one metered unit.

1. The buyer's license must include the kind ``verify``; its product must declare verification terms
   (`registry.verification_terms`) offering the claim's column and operator (else 422 naming it), and every
   provider of the product must have a node registered (a missing node might be the one holding the key).
2. The license's calls in the last rolling minute and day are counted under a lock on the license row; past
   the product's limits the call is refused with `RateLimited` (429, naming the limit, `Retry-After`).
3. `licenses.authorize_and_spend` charges one query of the license (one unit of a metered license: prepaid
   draw-down) with no privacy budget; the charge and the pending call are committed before any node is asked.
4. `privacy.verify_call.ask_nodes` sends the coordinator-signed request to every node, carrying the question the
   buyer sealed to that node (`privacy.verify_question`; the exchange never holds the key or the claim's values,
   only the claim's column and operator and the salted question hash); each answers one
   sealed, signed, fixed-size statement. If any node refuses or fails, the charge is refunded and the call
   marked failed. The answers are shuffled, so their order says nothing about which node holds the key.
5. A `verification.call` ledger record (call, license, charge, price, the bundle's hash, how many answers;
   never the key, the claim's value or anything inside) is committed; its seq is the buyer's receipt.
   An `Idempotency-Key` retry replays the stored response (`api.idempotency`), so it is never charged twice.
"""

from __future__ import annotations

import logging
import math
import random
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from ledger.records import append_record
from privacy.coordinator import ProviderEndpoint
from privacy.errors import NotEnoughProviders, ProviderRefused
from privacy.verify import OPS, ClaimError, bundle_hash, check_reply_key
from privacy.verify_call import VerifyRequest, ask_nodes
from privacy.verify_question import SEALED_QUESTION_B64
from registry.actor import Actor
from registry.errors import InvalidInput, RateLimited
from registry.models import Product, Role
from registry.products import get_product
from registry.queries.egress import NodeAddressPolicy, NodeUnverified, fetch_identity
from registry.queries.models import VerificationCall
from registry.queries.providers import product_endpoints
from registry.queries.run import QueryContext
from registry.queries.verify_schemas import (
    ClaimIn,
    NodeKey,
    VerificationCallOut,
    VerificationNode,
    VerifyIn,
    VerifyOut,
)
from registry.trading.licenses import LicenseGrant, authorize_and_spend, buyers_license, refund_spend
from registry.trading.models import License
from registry.verification_terms import VerificationSpec

log = logging.getLogger("provex.verify")
WINDOWS = (("per_minute", timedelta(minutes=1)), ("per_day", timedelta(days=1)))


def _spec(product: Product) -> VerificationSpec:
    if not product.verification:
        raise InvalidInput("license_id", f"product {product.code} offers no verification calls")
    return VerificationSpec.model_validate(product.verification)


def claim_of(product: Product, data: VerifyIn) -> tuple[VerificationSpec, ClaimIn]:
    """The product's verification terms and the claim's column and operator, checked against them, and the reply
    key (422 naming the field). The claim's values are sealed: the nodes check them."""
    spec = _spec(product)
    claim = data.claim
    try:
        if claim.op not in OPS:
            raise ClaimError("claim.op", f"{claim.op!r} is not a claim operator (one of {', '.join(OPS)})")
        check_reply_key(data.reply_key)
    except ClaimError as e:
        raise InvalidInput(e.field, e.detail) from None
    offered = {c.column: c.ops for c in spec.claims}
    if claim.column not in offered:
        raise InvalidInput("claim.column", f"{claim.column!r} cannot be claimed about (offered: "
                                           f"{', '.join(sorted(offered))})")
    if claim.op not in offered[claim.column]:
        raise InvalidInput("claim.op", f"{claim.op!r} is not offered on {claim.column} "
                                       f"(offered: {', '.join(offered[claim.column])})")
    return spec, claim


def check_rate(session: Session, lic: License, spec: VerificationSpec) -> None:
    """Refuse (429) when the license used up a rolling window; the license row is locked (PostgreSQL) so
    concurrent calls of one license are counted one after the other."""
    session.execute(select(License.pk).where(col(License.id) == lic.id).with_for_update())
    now = datetime.now(UTC)
    for name, span in WINDOWS:
        allowed: int = getattr(spec, name)
        V = VerificationCall
        used, oldest = session.execute(
            select(func.count(), func.min(V.created_at)).where(col(V.license_id) == lic.id)
            .where(col(V.created_at) > now - span)).one()
        if used >= allowed:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
            raise RateLimited(name, allowed, max(1, math.ceil((oldest + span - now).total_seconds())))


def _nodes(session: Session, product: Product) -> list[ProviderEndpoint]:
    endpoints, missing = product_endpoints(session, product)
    if missing or not endpoints:
        raise NotEnoughProviders(f"product {product.code} answers verifications only when every one of its "
                                 f"providers has a node registered; {len(missing)} of {len(product.provider_ids)} "
                                 "have none")
    return endpoints


def verification_nodes(session: Session, actor: Actor, license_id: str,
                       egress: NodeAddressPolicy) -> list[VerificationNode]:
    """The product's nodes with their registered identity keys and their signed sealing keys (fetched from each
    node's live `GET /identity`); the buyer checks each signature before sealing its question."""
    lic = buyers_license(session, actor, license_id)
    product = get_product(session, lic.product_id)
    _spec(product)
    out = []
    for n in _nodes(session, product):
        try:
            envelope = fetch_identity(n.url, egress).get("sealing_key")
        except NodeUnverified:
            raise ProviderRefused({n.id: "its GET /identity did not answer"}) from None
        if not isinstance(envelope, dict):
            raise ProviderRefused({n.id: "it publishes no sealing key"})
        out.append(VerificationNode(node_id=n.id, public_key=n.public_key_hex, sealing_key=envelope))
    return sorted(out, key=lambda v: v.node_id)


def _check_sealed(data: VerifyIn, nodes: list[ProviderEndpoint]) -> None:
    """One sealed question of the fixed size per node of the product (422 ``sealed`` otherwise)."""
    ids = sorted(n.id for n in nodes)
    if sorted(data.sealed) != ids:
        raise InvalidInput("sealed", f"one sealed question per node of the product: {', '.join(ids)}")
    if any(len(s) != SEALED_QUESTION_B64 for s in data.sealed.values()):
        raise InvalidInput("sealed", f"every sealed question is {SEALED_QUESTION_B64} base64 characters")


def verify(session: Session, ctx: QueryContext, actor: Actor, data: VerifyIn) -> VerifyOut:
    """One verification call (see the module doc)."""
    actor.require(Role.BUYER)
    lic = buyers_license(session, actor, data.license_id)
    product = get_product(session, lic.product_id)
    spec, claim = claim_of(product, data)
    nodes = _nodes(session, product)
    _check_sealed(data, nodes)
    check_rate(session, lic, spec)
    grant = authorize_and_spend(session, actor, lic.id, kinds={"verify"}, columns={spec.key, claim.column},
                                epsilon=0.0, delta=0.0)
    call = VerificationCall(id=grant.charge_id, license_id=lic.id, buyer_id=actor.id, product_id=product.id,
                            charge_id=grant.charge_id, claim_column=claim.column, claim_op=claim.op,
                            created_at=datetime.now(UTC))
    session.add(call)
    session.commit()
    try:
        sealed = ask_nodes(ctx.coordinator_key, nodes, VerifyRequest(
            call.id, spec.key, claim.column, claim.op, data.question_hash, data.reply_key, data.sealed), ctx.timeout)
    except BaseException:
        log.warning("verification %s on %s failed; refunding its charge", call.id, product.code)
        _fail(session, grant)
        raise
    random.SystemRandom().shuffle(sealed)
    return _record(session, actor, product, grant, call, sealed, data.question_hash, nodes)


def _fail(session: Session, grant: LicenseGrant) -> None:
    session.rollback()
    refund_spend(session, grant)
    session.execute(sa.update(VerificationCall).where(col(VerificationCall.id) == grant.charge_id)
                    .values(status="failed").execution_options(synchronize_session=False))
    session.commit()


def _record(session: Session, actor: Actor, product: Product, grant: LicenseGrant, call: VerificationCall,
            sealed: list[str], question: str, nodes: list[ProviderEndpoint]) -> VerifyOut:
    digest = bundle_hash(sealed)
    rec = append_record(session, kind="verification.call", actor=actor.id, subject=product.id,
                        authorization=grant.license_id,
                        data={"call_id": call.id, "license_id": grant.license_id, "charge_id": grant.charge_id,
                              "unit_price_fen": grant.unit_price_fen, "bundle_hash": digest, "answers": len(sealed)})
    call.status, call.bundle_hash, call.record_seq = "done", digest, rec.seq
    session.add(call)
    session.commit()
    return VerifyOut(call_id=call.id, license_id=grant.license_id, product_id=product.id, question_hash=question,
                     sealed=sealed, bundle_hash=digest,
                     nodes=sorted((NodeKey(node_id=n.id, public_key=n.public_key_hex) for n in nodes),
                                  key=lambda n: n.node_id),
                     charge_id=grant.charge_id, unit_price_fen=grant.unit_price_fen, queries_left=grant.queries_left,
                     receipt={"seq": rec.seq, "url": f"/ledger/records/{rec.seq}"}, created_at=call.created_at)


def list_calls(session: Session, actor: Actor, license_id: str) -> list[VerificationCallOut]:
    """The license's verification calls, newest first (its buyer only)."""
    lic = buyers_license(session, actor, license_id)
    rows = session.exec(select(VerificationCall).where(col(VerificationCall.license_id) == lic.id)
                        .order_by(col(VerificationCall.pk).desc()).limit(200)).all()
    return [VerificationCallOut(id=r.id, license_id=r.license_id, product_id=r.product_id,
                                claim_column=r.claim_column, claim_op=r.claim_op, status=r.status,
                                bundle_hash=r.bundle_hash,
                                receipt={"seq": r.record_seq, "url": f"/ledger/records/{r.record_seq}"}
                                if r.record_seq is not None else None, created_at=r.created_at) for r in rows]
