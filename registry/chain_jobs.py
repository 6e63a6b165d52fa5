"""The core domain's chain jobs: the exchange's account set-up, and the acts participants sign for resources,
authorizations and products (`registry.jobs` tables them)."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session, select

from ledger.acts import Act
from ledger.client import Receipt
from ledger.contracts import AUTHORITY_ROLE, EXCHANGE_ROLE, OPERATOR_ROLE
from ledger.contracts import ProductStatus as ChainStatus
from registry.chain import Action, ChainGateway, Planner
from registry.hashing import b32
from registry.models import Account, Role
from registry.statuses import level

log = logging.getLogger("provex.chain")


def _account_setup(gw: ChainGateway, session: Session, p: dict[str, Any]) -> Receipt | None:
    """Gas from the deployer (dev); the authority or exchange role from governance.

    When this process does not hold governance's key (production), the grant is governance's own act:
    the account's chain acts are refused by the contracts until governance has made it.
    """
    acct = session.exec(select(Account).where(Account.id == p["account_id"])).one()
    last: Receipt | None = None
    if gw.fund_wei and gw.ledger.client.balance(acct.address) < gw.fund_wei // 2:
        last = gw.ledger.client.fund(gw.deployer, acct.address, gw.fund_wei)
    grants = {Role.AUTHORITY: AUTHORITY_ROLE, Role.EXCHANGE: EXCHANGE_ROLE}
    role = grants.get(Role(acct.role))
    if role is not None:
        missing = [c for c in ("DataRegistry", "Settlement") if not gw.ledger.has_role(c, role, acct.address)]
        governance = gw.governance
        if missing and governance is None:
            log.warning("account %s (%s) needs the %s role on %s: governance must grant it", acct.id,
                        acct.address, acct.role, ", ".join(missing))
            return last
        for contract in missing:
            assert governance is not None
            last = gw.ledger.grant_role(governance, contract, role, acct.address)
    return last


def _resource_register(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    return [gw.ledger.acts.register_resource(p["resource_id"], level(p["classification"]), b32(p["content_hash"]),
                                             b32(p["metadata_hash"]))]


def _authorization_grant(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    """The grant, after the operator role when the operator lacks it (both the authority's acts)."""
    operator = session.exec(select(Account).where(Account.id == p["operator_id"])).one()
    acts = [] if gw.ledger.has_role("DataRegistry", OPERATOR_ROLE, operator.address) else [
        gw.ledger.acts.grant_role("DataRegistry", OPERATOR_ROLE, operator.address)]
    return [*acts, gw.ledger.acts.grant_authorization(
        p["authorization_id"], operator.address, p["resource_ids"], b32(p["purpose_hash"]), p["valid_from"],
        p["valid_until"], level(p["max_classification"]))]


def _authorization_revoke(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    return [gw.ledger.acts.revoke_authorization(p["authorization_id"], b32(p["reason_hash"]))]


def _authorization_limit(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    return [gw.ledger.acts.limit_authorization(p["authorization_id"], p["valid_until"], b32(p["purpose_hash"]),
                                               b32(p["reason_hash"]))]


def _product_register(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    return [gw.ledger.acts.register_product(p["product_id"], p["authorization_id"], p["resource_ids"],
                                            b32(p["metadata_hash"]), p["sector"])]


def _product_metadata(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    return [gw.ledger.acts.update_product_metadata(p["product_id"], b32(p["metadata_hash"]))]


def _product_status(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    return [gw.ledger.acts.set_product_status(p["product_id"], ChainStatus(p["status"]), b32(p["reason_hash"]))]


def _product_suspend_unauthorized(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    return [gw.ledger.acts.suspend_unauthorized(p["product_id"])]


CORE_ACTIONS: dict[str, Action] = {"account.setup": _account_setup}
CORE_PLANS: dict[str, Planner] = {
    "resource.register": _resource_register,
    "authorization.grant": _authorization_grant,
    "authorization.revoke": _authorization_revoke,
    "authorization.limit": _authorization_limit,
    "product.register": _product_register,
    "product.metadata": _product_metadata,
    "product.status": _product_status,
    "product.suspend_unauthorized": _product_suspend_unauthorized,
}
