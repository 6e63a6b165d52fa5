"""Registration certificates: public, no API key needed."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ServicesDep, SessionDep
from registry.certificate_schemas import CertificateCheck, CertificateOut
from registry.certificates import certificates_of, get_certificate, public_certificate, verify_certificate
from registry.products import get_product

router = APIRouter(prefix="/certificates", tags=["certificates"])


@router.get("", response_model=list[CertificateOut], summary="A product's certificates (public)")
def of_product(product: str, s: SessionDep) -> list[CertificateOut]:
    return [public_certificate(s, c) for c in certificates_of(s, get_product(s, product))]


@router.get("/{code}", response_model=CertificateOut, summary="A registration certificate (public)",
            description="`status` is `cancelled`, with the date and reasons, once the product's registration was "
                        "cancelled (注销登记); `correction` names the correction a corrected version applied.")
def get(code: str, s: SessionDep) -> CertificateOut:
    return public_certificate(s, get_certificate(s, code))


@router.get("/{code}/verify", response_model=CertificateCheck,
            summary="Check a certificate against the chain (public)",
            description="`status`: valid, invalid (a check failed) or cancelled (the registration was cancelled).")
def verify(code: str, s: SessionDep, svc: ServicesDep) -> CertificateCheck:
    return verify_certificate(s, get_certificate(s, code), svc.gateway.ledger)
