"""Governance's own acts, signed by governance (the authority in the embedded setup) and relayed: granting the
authority and exchange accounts their chain roles, and the exchange's house key its role on Settlement."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from ledger.acts import Act
from ledger.contracts import AUTHORITY_ROLE, EXCHANGE_ROLE, ROLE_NAMES
from ledger.records import append_record
from registry.accounts import get_account
from registry.actor import Actor
from registry.chain import ChainGateway, submit
from registry.errors import InvalidInput
from registry.models import Role

ROLE_BY_ACCOUNT = {Role.AUTHORITY: AUTHORITY_ROLE, Role.EXCHANGE: EXCHANGE_ROLE}
BY_NAME = {name: role for role, name in ROLE_NAMES.items()}


def missing_grants(session: Session, gateway: ChainGateway, account_ids: list[str],
                   house: bool) -> list[tuple[str, str, str]]:
    """(contract, role name, address) of every grant the accounts (and the house key) still lack."""
    wanted: list[tuple[str, bytes, str]] = []
    for account_id in account_ids:
        account = get_account(session, account_id)
        role = ROLE_BY_ACCOUNT.get(Role(account.role))
        if role is None:
            raise InvalidInput("account_ids", f"{account.role} accounts hold no governance-granted chain role")
        wanted += [(c, role, account.address) for c in ("DataRegistry", "Settlement")]
    if house:
        if gateway.house is None:
            raise InvalidInput("house", "this exchange runs without a house key")
        wanted.append(("Settlement", EXCHANGE_ROLE, gateway.house.address))
    return [(c, ROLE_NAMES[r], a) for c, r, a in wanted if not gateway.ledger.has_role(c, r, a)]


def grant_roles(session: Session, gateway: ChainGateway, actor: Actor, account_ids: list[str],
                house: bool) -> list[dict[str, str]]:
    """Grant what is missing, as governance's signed acts (the contracts refuse anyone but governance)."""
    actor.require(Role.AUTHORITY)
    grants = missing_grants(session, gateway, account_ids, house)
    if grants:
        submit(session, gateway, subject_type="governance", subject_id=actor.id, action="roles.grant",
               payload={"grants": [list(g) for g in grants]})
        append_record(session, kind="roles.granted", actor=actor.id, subject=actor.id,
                      data={"grants": [{"contract": c, "role": r, "account": a} for c, r, a in grants]})
    return [{"contract": c, "role": r, "account": a} for c, r, a in grants]


def plan_grants(gw: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    return [gw.ledger.acts.grant_role(c, BY_NAME[r], a) for c, r, a in p["grants"]]
