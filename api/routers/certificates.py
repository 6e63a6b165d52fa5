"""Registration certificates: public, no API key needed."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ServicesDep, SessionDep
from registry.certificates import certificate_view, certificates_of, check_certificate, get_certificate
from registry.products import get_product
from registry.schemas import CertificateCheck, CertificateOut

router = APIRouter(prefix="/certificates", tags=["certificates"])


@router.get("", response_model=list[CertificateOut], summary="A product's certificates (public)")
def of_product(product: str, s: SessionDep) -> list[CertificateOut]:
    return [certificate_view(c) for c in certificates_of(s, get_product(s, product))]


@router.get("/{code}", response_model=CertificateOut, summary="A registration certificate (public)")
def get(code: str, s: SessionDep) -> CertificateOut:
    return certificate_view(get_certificate(s, code))


@router.get("/{code}/verify", response_model=CertificateCheck,
            summary="Check a certificate against the chain (public)")
def verify(code: str, s: SessionDep, svc: ServicesDep) -> CertificateCheck:
    return check_certificate(get_certificate(s, code), svc.gateway.ledger)
