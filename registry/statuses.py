"""Status and classification rules between the database and the chain, each derived from one enum.

The product state machine (`TRANSITIONS`), the chain status each database status stands for, the
order of data classifications (taken from the contract's `Classification` enum, which enforces it),
and an authorization's status.
"""

from __future__ import annotations

import time

from ledger.contracts import Classification as ChainClassification
from ledger.contracts import ProductStatus as ChainStatus
from registry.errors import RuleViolation
from registry.models import Authorization, AuthorizationStatus, Classification, Product, ProductStatus

S = ProductStatus
TRANSITIONS: dict[ProductStatus, set[ProductStatus]] = {
    S.DRAFT: {S.SUBMITTED},
    S.SUBMITTED: {S.UNDER_REVIEW},
    S.UNDER_REVIEW: {S.IN_NOTICE, S.REJECTED},
    S.IN_NOTICE: {S.LISTED, S.REJECTED, S.DELISTED},  # delisted: its registration cancelled (注销)
    S.LISTED: {S.SUSPENDED, S.DELISTED},
    S.SUSPENDED: {S.LISTED, S.DELISTED},
    S.REJECTED: set(),
    S.DELISTED: set(),
}

# Database product status -> the status the chain holds for it (None: not on chain yet).
CHAIN_STATUS: dict[ProductStatus, ChainStatus | None] = {
    S.DRAFT: None, S.SUBMITTED: ChainStatus.REGISTERED, S.UNDER_REVIEW: ChainStatus.REGISTERED,
    S.IN_NOTICE: ChainStatus.REGISTERED,
    S.LISTED: ChainStatus.LISTED, S.REJECTED: ChainStatus.DELISTED,
    S.SUSPENDED: ChainStatus.SUSPENDED, S.DELISTED: ChainStatus.DELISTED,
}

# Chain status -> its readable name (audit trails).
CHAIN_STATUS_NAMES = {s.value: s.name.lower() for s in ChainStatus}


def check_transition(row: Product, to: ProductStatus) -> None:
    """IllegalStatusTransition (the contract's name) unless `row.status -> to` is in the table."""
    if to not in TRANSITIONS[ProductStatus(row.status)]:
        raise RuleViolation("IllegalStatusTransition", product=row.code, fromStatus=row.status, toStatus=to.value)


def chain_status_of(db_status: str) -> ChainStatus | None:
    return CHAIN_STATUS[ProductStatus(db_status)]


def level(classification: str) -> ChainClassification:
    """The classification's rank as the contract orders it (general < important < core)."""
    return ChainClassification[Classification(classification).name]


def authorization_status(row: Authorization, now: float | None = None) -> AuthorizationStatus:
    """revoked, expired (outside its validity window, by the wall clock) or active."""
    if row.revoked:
        return AuthorizationStatus.REVOKED
    t = time.time() if now is None else now
    if not row.valid_from <= t < row.valid_until:
        return AuthorizationStatus.EXPIRED
    return AuthorizationStatus.ACTIVE
