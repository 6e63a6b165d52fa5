"""What a portal form's POST leaves for the GET page it redirects to (post/redirect/get), stored in the database
so that any API worker can serve the GET: a one-time flash message, and results addressed by id (a query's
answer, a verification report) so that reloading the result page shows them again without asking again.

Keyed by the SHA-256 of the portal session id (as `portal_sessions`); an entry lives as long as a portal session
at most, and each session keeps only its newest few results. Not ledger records: nothing here is an act.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import JSON, Column, Field, Session, SQLModel, col, delete, select

from registry.sessions import hash_session_id

TTL = timedelta(hours=12)
RESULTS_PER_SESSION = 20
FLASH = "flash"


class PortalNote(SQLModel, table=True):
    __tablename__ = "portal_notes"
    id: str = Field(primary_key=True, max_length=24)
    session_hash: str = Field(index=True, max_length=64)
    kind: str = Field(max_length=32)
    value: Any = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(index=True)


def _now() -> datetime:
    return datetime.now(UTC)


class Notes:
    """Flash messages and kept results, per portal session."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def flash(self, session_id: str, message: str, kind: str = "ok") -> None:
        """Leave a message (an i18n key) for the next page this session opens (it replaces a waiting one)."""
        key = hash_session_id(session_id)
        with Session(self.engine) as s:
            s.exec(delete(PortalNote).where(col(PortalNote.session_hash) == key, col(PortalNote.kind) == FLASH))
            s.add(PortalNote(id=secrets.token_urlsafe(12), session_hash=key, kind=FLASH,
                             value={"kind": kind, "message": message}, created_at=_now()))
            s.commit()

    def take_flash(self, session_id: str) -> tuple[str, str] | None:
        """The waiting message, once."""
        key = hash_session_id(session_id)
        with Session(self.engine) as s:
            rows = s.exec(select(PortalNote).where(col(PortalNote.session_hash) == key,
                                                   col(PortalNote.kind) == FLASH)).all()
            if not rows:
                return None
            for row in rows:
                s.delete(row)
            s.commit()
        newest = max(rows, key=lambda r: r.created_at)
        return str(newest.value["kind"]), str(newest.value["message"])

    def keep(self, session_id: str, kind: str, value: Any) -> str:
        """Keep a JSON result for this session; its id addresses the page that shows it."""
        key, note_id, now = hash_session_id(session_id), secrets.token_urlsafe(12), _now()
        with Session(self.engine) as s:
            s.add(PortalNote(id=note_id, session_hash=key, kind=kind, value=value, created_at=now))
            s.flush()
            older = s.exec(select(PortalNote.id).where(col(PortalNote.session_hash) == key,
                                                       col(PortalNote.kind) != FLASH)
                           .order_by(col(PortalNote.created_at).desc(), col(PortalNote.id))
                           .offset(RESULTS_PER_SESSION)).all()
            stale = sa.or_(col(PortalNote.created_at) < now - TTL, col(PortalNote.id).in_(older))
            s.exec(delete(PortalNote).where(stale))
            s.commit()
        return note_id

    def result(self, session_id: str, kind: str, note_id: str) -> Any | None:
        """A kept result of this session and kind, or None (another session's, expired, or never kept)."""
        with Session(self.engine) as s:
            row = s.get(PortalNote, note_id)
        if row is None or row.session_hash != hash_session_id(session_id) or row.kind != kind \
                or row.created_at.replace(tzinfo=row.created_at.tzinfo or UTC) < _now() - TTL:
            return None
        return row.value

    def forget(self, session_id: str) -> None:
        """Sign-out: drop everything the session kept."""
        with Session(self.engine) as s:
            s.exec(delete(PortalNote).where(col(PortalNote.session_hash) == hash_session_id(session_id)))
            s.commit()
