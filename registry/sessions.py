"""Portal sign-in sessions: a random id held by the browser and stored here only as its SHA-256, with an
expiry and a CSRF token; the API key it was opened with is never kept."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Field, Session, SQLModel, col, delete, select

from registry.actor import Actor
from registry.errors import Unauthenticated
from registry.models import Account, Role

SESSION_PREFIX = "pxs_"


class PortalSession(SQLModel, table=True):
    """One signed-in browser. `id_hash` is SHA-256 of the cookie's session id."""

    __tablename__ = "portal_sessions"
    id_hash: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=36)
    csrf_token: str = Field(max_length=64)
    created_at: datetime
    expires_at: datetime = Field(index=True)


@dataclass(frozen=True)
class SessionInfo:
    """A live session: whose it is, the token its forms must carry, and when it ends."""

    actor: Actor
    csrf_token: str
    expires_at: datetime


def hash_session_id(session_id: str) -> str:
    """Session ids are 256-bit random tokens, so a plain SHA-256 is a safe lookup hash."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def open_session(session: Session, actor: Actor, lifetime: timedelta) -> tuple[str, SessionInfo]:
    """A new session for an actor who just proved itself (with its API key); the id is returned once.

    Expired sessions are swept on the way."""
    now = _now()
    session.exec(delete(PortalSession).where(col(PortalSession.expires_at) <= now))
    session_id = SESSION_PREFIX + secrets.token_urlsafe(32)
    row = PortalSession(id_hash=hash_session_id(session_id), account_id=actor.id,
                        csrf_token=secrets.token_urlsafe(32), created_at=now, expires_at=now + lifetime)
    session.add(row)
    return session_id, SessionInfo(actor, row.csrf_token, row.expires_at)


def resolve_session(session: Session, session_id: str) -> SessionInfo:
    """The live session behind an id, or Unauthenticated (unknown, expired or signed out)."""
    found = session.exec(select(PortalSession, Account).where(PortalSession.id_hash == hash_session_id(session_id))
                         .where(PortalSession.account_id == Account.id)).first()
    if found is None:
        raise Unauthenticated("unknown portal session (signed out, or the key behind it was replaced); sign in again")
    row, account = found
    if row.expires_at <= _now():
        raise Unauthenticated("the portal session has expired; sign in again")
    actor = Actor(id=account.id, name=account.name, role=Role(account.role), address=account.address)
    return SessionInfo(actor, row.csrf_token, row.expires_at)


def close_session(session: Session, session_id: str) -> None:
    """Sign out: the id stops working at once."""
    session.exec(delete(PortalSession).where(
        col(PortalSession.id_hash) == hash_session_id(session_id)))


def close_account_sessions(session: Session, account_id: str) -> None:
    """End every session of an account (its API key was replaced or revoked)."""
    session.exec(delete(PortalSession).where(col(PortalSession.account_id) == account_id))
