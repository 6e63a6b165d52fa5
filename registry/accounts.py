"""Accounts: a role, the address its holder proved it holds, and an API key stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from sqlmodel import Session, col, select

from ledger.records import append_record
from registry.access import require_overseer
from registry.actor import Actor
from registry.bindings import SignedBinding
from registry.chain import ChainGateway, submit
from registry.errors import Conflict, Forbidden, InvalidInput, Unauthenticated, found
from registry.models import Account, Role
from registry.schemas import AccountOut
from registry.sessions import close_account_sessions


def hash_api_key(api_key: str) -> str:
    """API keys are 256-bit random tokens, so a plain SHA-256 is a safe lookup hash."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def create_account(session: Session, gateway: ChainGateway | None, *, role: Role, name: str,
                   binding: SignedBinding) -> tuple[Account, str]:
    """A new account bound to the address that signed `binding` (its holder keeps the key; the exchange never
    sees it), given gas and its chain role (queued when `gateway` is None); returns it and the API key, shown
    once and stored only as a hash. The binding itself becomes the account's first ledger record."""
    if binding.binding.role != role.value or binding.binding.name != name:
        raise InvalidInput("binding", f"the binding is for a {binding.binding.role} named {binding.binding.name!r}, "
                                      f"not a {role.value} named {name!r}")
    address = binding.check()
    if session.exec(select(Account.pk).where(Account.address == address)).first() is not None:
        raise Conflict(f"address {address} is bound to an account already")
    api_key = "pxk_" + secrets.token_urlsafe(32)
    row = Account(id=str(uuid.uuid4()), name=name, role=role.value, address=address,
                  api_key_hash=hash_api_key(api_key))
    session.add(row)
    session.flush()
    append_record(session, kind="account.bound", actor=row.id, subject=row.id, data=binding.as_record())
    submit(session, gateway, subject_type="account", subject_id=row.id, action="account.setup",
           payload={"account_id": row.id})
    return row, api_key


def actor_of(account: Account) -> Actor:
    return Actor(id=account.id, name=account.name, role=Role(account.role), address=account.address)


def authenticate(session: Session, api_key: str) -> Actor:
    """The actor behind an API key, or Unauthenticated."""
    row = session.exec(select(Account).where(Account.api_key_hash == hash_api_key(api_key))).first()
    if row is None:
        raise Unauthenticated("unknown API key")
    return actor_of(row)


def rotate_api_key(session: Session, actor: Actor, account_id: str) -> tuple[Account, str, str]:
    """Issue a new API key to its holder: the old one, and every portal session, stop working at once.

    Only the holder, authenticated by its current key, receives a new key; nobody else (the exchange
    included) ever does: the exchange may revoke a key (`revoke_api_key`), never replace it.
    Returns the account, the new key (shown once) and the old key's hash (to evict from caches).
    """
    if actor.id != account_id:
        raise Forbidden("a new API key is issued only to its holder, authenticated by its current key "
                        "(POST /accounts/me/rotate-key); the exchange may revoke a key: "
                        f"POST /accounts/{account_id}/revoke-key")
    row = get_account(session, account_id)
    old_hash = row.api_key_hash
    api_key = "pxk_" + secrets.token_urlsafe(32)
    row.api_key_hash = hash_api_key(api_key)
    session.add(row)
    close_account_sessions(session, row.id)
    append_record(session, kind="account.key_rotated", actor=actor.id, subject=row.id,
                  data={"by": actor.role.value})
    return row, api_key, old_hash


def revoke_api_key(session: Session, actor: Actor, account_id: str) -> tuple[Account, str]:
    """Revoke an account's API key and end its portal sessions, issuing nothing (the holder itself, or the
    exchange, e.g. for a leaked key). Returns the account and the old key's hash (to evict from caches)."""
    if actor.id != account_id:
        actor.require(Role.EXCHANGE)
    row = get_account(session, account_id)
    old_hash = row.api_key_hash
    # A hash no key has: the stored value is the hash of a random string nobody keeps.
    row.api_key_hash = hash_api_key("revoked:" + secrets.token_urlsafe(32))
    session.add(row)
    close_account_sessions(session, row.id)
    append_record(session, kind="account.key_revoked", actor=actor.id, subject=row.id,
                  data={"by": actor.role.value})
    return row, old_hash


def get_account(session: Session, account_id: str) -> Account:
    return found(session.exec(select(Account).where(Account.id == account_id)).first(), f"account {account_id}")


def view_account(actor: Actor, account: Account) -> AccountOut:
    if actor.id != account.id:
        require_overseer(actor)
    return AccountOut.model_validate(account, from_attributes=True)


def list_accounts(session: Session, actor: Actor, role: Role | None = None) -> list[AccountOut]:
    require_overseer(actor)
    stmt = select(Account).order_by(col(Account.pk))
    if role is not None:
        stmt = stmt.where(Account.role == role.value)
    return [AccountOut.model_validate(a, from_attributes=True) for a in session.exec(stmt).all()]


def onboard_account(session: Session, gateway: ChainGateway, actor: Actor, *, role: Role, name: str,
                    binding: SignedBinding) -> tuple[Account, str]:
    """The exchange onboards participants; authority and exchange accounts come from the CLI only."""
    actor.require(Role.EXCHANGE)
    if role in (Role.AUTHORITY, Role.EXCHANGE):
        raise Forbidden(f"{role.value} accounts hold admin chain roles; create them with "
                        f"`provex accounts create --role {role.value}`")
    return create_account(session, gateway, role=role, name=name, binding=binding)
