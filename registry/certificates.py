"""Registration certificates: issued on listing, public, checkable against the chain.

A certificate's body is hashed and never changes. What happens to the registration afterwards is read from the
product's applications: an approved cancellation (注销登记) shows every certificate of the product as `cancelled`
(date and reasons); a certificate issued for a correction (更正登记) names it in its body.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from ledger.contracts import Ledger
from ledger.contracts import ProductStatus as ChainStatus
from ledger.errors import ContractRevert
from ledger.ids import chain_id_of
from registry.certificate_schemas import CancellationNote, CertificateCheck, CertificateOut
from registry.codes import readable_code
from registry.errors import found
from registry.hashing import canonical_hash
from registry.models import Account, Authorization, Certificate, Product, ProductRevision, Review
from registry.schemas import ChainReceiptOut
from registry.signing import new_id


def issue_certificate(session: Session, product: Product, review: Review,
                      correction: ProductRevision | None = None) -> Certificate:
    """The certificate body is canonical JSON; its hash is `cert_hash`. Chain receipt follows the listing.
    A version that applies a correction names it (`correction`: its id and evidence)."""
    holder = session.exec(select(Account).where(Account.id == product.operator_id)).one()
    authz = session.exec(select(Authorization).where(Authorization.id == product.authorization_id)).one()
    cid = new_id(session)
    row = Certificate(id=cid, code=f"tmp-{cid[:28]}", product_id=product.id, holder_id=holder.id, cert_hash="")
    session.add(row)
    session.flush()
    assert row.pk is not None
    row.code = readable_code("PXC", row.pk)
    row.body = {
        "code": row.code, "product_id": product.id, "product_code": product.code, "title": product.title,
        "version": product.version, "metadata_hash": product.metadata_hash,
        "holder": {"id": holder.id, "name": holder.name, "address": holder.address},
        "basis": {"authorization_id": authz.id, "authorization_code": authz.code,
                  "resource_ids": product.resource_ids, "review_id": review.id,
                  "checklist": review.checklist},
        "product_chain_id": "0x" + chain_id_of(product.id).hex(),
        "issued_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if correction is not None:
        row.body["correction"] = {"id": correction.id, "evidence": correction.grounds}
    row.cert_hash = canonical_hash(row.body)
    session.add(row)
    return row


def get_certificate(session: Session, code: str) -> Certificate:
    return found(session.exec(select(Certificate).where(Certificate.code == code)).first(), f"certificate {code}")


def certificates_of(session: Session, product: Product) -> list[Certificate]:
    """A product's certificates, oldest first (one per approval)."""
    return list(session.exec(select(Certificate).where(Certificate.product_id == product.id)
                             .order_by(col(Certificate.pk))).all())


def cancellation_of(session: Session, product_id: str) -> CancellationNote | None:
    """The product's approved cancellation, if its registration was cancelled."""
    rev = session.exec(select(ProductRevision).where(ProductRevision.product_id == product_id,
                                                     ProductRevision.kind == "cancellation",
                                                     ProductRevision.status == "approved")).first()
    if rev is None:
        return None
    return CancellationNote(application_id=rev.id, cancelled_at=rev.decided_at, reasons=rev.grounds,
                            decision_reasons=rev.reasons)


def certificate_view(row: Certificate, cancelled: CancellationNote | None = None) -> CertificateOut:
    return CertificateOut(code=row.code, product_id=row.product_id, product_code=row.body["product_code"],
                          holder=row.body["holder"], basis=row.body["basis"], body=row.body,
                          cert_hash=row.cert_hash,
                          chain=ChainReceiptOut(state=row.chain_state, tx_hash=row.tx_hash,
                                                block_number=row.block_number, log_index=row.log_index),
                          issued_at=row.issued_at, status="cancelled" if cancelled else "in_force",
                          cancellation=cancelled, correction=row.body.get("correction"))


def public_certificate(session: Session, row: Certificate) -> CertificateOut:
    """The certificate as anyone reads it: cancelled when the product's registration was cancelled."""
    return certificate_view(row, cancellation_of(session, row.product_id))


def verify_certificate(session: Session, row: Certificate, ledger: Ledger) -> CertificateCheck:
    """The chain checks; a cancelled registration is never valid, and says so rather than merely failing."""
    check = check_certificate(row, ledger)
    cancelled = cancellation_of(session, row.product_id)
    if cancelled is not None:
        check.valid, check.status, check.cancellation = False, "cancelled", cancelled
    return check


def check_certificate(row: Certificate, ledger: Ledger) -> CertificateCheck:
    """Does the chain back this certificate: product registered by the holder, listed, same hash, and its
    certifying act in the registry's events (the listing, or the published revision's new hash)?"""
    checks = {"hash_matches_body": canonical_hash(row.body) == row.cert_hash}
    try:
        chain = ledger.product(row.product_id)
    except ContractRevert:
        checks["product_on_chain"] = False
        return CertificateCheck(code=row.code, valid=False, checks=checks, chain_status=None,
                                chain_metadata_hash=None, status="invalid")
    checks["product_on_chain"] = True
    checks["holder_matches"] = chain.operator.lower() == row.body["holder"]["address"].lower()
    checks["listed_on_chain"] = chain.status == ChainStatus.LISTED
    checks["metadata_hash_matches"] = chain.metadata_hash.hex() == row.body["metadata_hash"]
    checks["listing_tx_on_chain"] = _listing_in_tx(ledger, row)
    valid = all(checks.values())
    return CertificateCheck(code=row.code, valid=valid, checks=checks, chain_status=chain.status.name.lower(),
                            chain_metadata_hash=chain.metadata_hash.hex(), status="valid" if valid else "invalid")


def _listing_in_tx(ledger: Ledger, row: Certificate) -> bool:
    if not row.tx_hash:
        return False
    pid = chain_id_of(row.product_id)
    if any(bytes(e["productId"]) == pid and e["toStatus"] == ChainStatus.LISTED
           for e in ledger.tx_events("DataRegistry", "ProductStatusChanged", row.tx_hash)):
        return True
    return any(bytes(e["productId"]) == pid and bytes(e["metadataHash"]).hex() == row.body["metadata_hash"]
               for e in ledger.tx_events("DataRegistry", "ProductMetadataUpdated", row.tx_hash))
