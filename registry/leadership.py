"""One leader per database: the process that runs the outbox dispatcher and the anchoring worker.

API workers are stateless and may run in any number; the chain work they queue must be sent by exactly one
process at a time, or two would anchor the same batch and send the same job. On PostgreSQL leadership is a
session advisory lock held on a connection of its own: the server frees it when that connection ends (the
leader died or lost the database), so a waiting candidate takes over on its next try. On SQLite it is an
exclusive `flock` on a file beside the database, freed by the kernel when the holder dies.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from ledger.locks import try_file_lock
from registry.db import lock_file_beside

LEADER_LOCK = 0x50524F5645580001  # "PROVEX" + 1: the advisory lock key of the chain-work leader


class Leadership(Protocol):
    def try_acquire(self) -> bool: ...
    def held(self) -> bool: ...
    def release(self) -> None: ...


class PostgresLeadership:
    """A session advisory lock on a dedicated connection (autocommit, outside the pool's sessions)."""

    def __init__(self, engine: Engine, key: int = LEADER_LOCK) -> None:
        self.engine = engine
        self.key = key
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return self.held()
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
        except sa.exc.DBAPIError:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def held(self) -> bool:
        """Still the leader: the lock's connection answers (if it broke, the server has freed the lock)."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(sa.text("SELECT 1"))
        except sa.exc.DBAPIError:
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sa.exc.DBAPIError):  # a lost connection took the lock with it
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()  # never back into the pool: a pooled connection would keep the lock
            finally:
                conn.close()


class SoleLeadership:
    """An in-memory database: only this process can see it, so it leads."""

    def try_acquire(self) -> bool:
        return True

    def held(self) -> bool:
        return True

    def release(self) -> None:
        pass


class FileLeadership:
    """An exclusive `flock` on `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is None:
            self._fd = try_file_lock(self.path)
        return self._fd is not None

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def leadership_for(engine: Engine) -> Leadership:
    """The leadership lock of this database (a file beside a SQLite one; an in-memory database has one process)."""
    if engine.dialect.name == "postgresql":
        return PostgresLeadership(engine)
    path = lock_file_beside(engine, ".leader")
    return FileLeadership(path) if path is not None else SoleLeadership()
