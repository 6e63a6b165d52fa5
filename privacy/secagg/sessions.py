"""Coordinator key-setup sessions, and a process-wide cache that reuses them across queries.

A session is one run of the key rounds (advertise, share) for ``pool`` single-use query slots. The
API builds a new :class:`~privacy.coordinator.Coordinator` for each query; :class:`SessionCache`
lets those queries share a session so that only every ``max_queries``-th query pays for key setup.
A cached session is keyed by everything that could change who or what it talks to (coordinator key,
each node's id, URL and registered key, threshold, graph degree), so a node's new registration never
meets an old session; a session lives at most ``max_age`` seconds and is handed to one query at a
time (checked out, used for one slot, checked back in), so concurrent queries never share a slot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, field

MAX_AGE_S = 300.0
QUERIES_PER_SESSION = 32
MAX_IDLE_PER_KEY = 4


@dataclass
class Session:
    """Coordinator state of one key setup: who is in, their mask keys, the shares to forward."""

    sid: str
    participants: list[str]
    u2: list[str]
    s_pks: dict[str, list[bytes]]
    pending_shares: dict[str, dict[str, str]]
    pool: int
    graph: dict[str, frozenset[str]]
    next_slot: int = 0
    created: float = field(default_factory=time.monotonic)

    def live(self, max_age: float) -> bool:
        return self.next_slot < self.pool and time.monotonic() - self.created < max_age


class SessionCache:
    """Idle sessions by key; ``setups`` and ``reuses`` count what happened (for tests and benches)."""

    def __init__(self, max_age: float = MAX_AGE_S, max_queries: int = QUERIES_PER_SESSION) -> None:
        if max_queries < 1 or max_age <= 0:
            raise ValueError("a session needs a positive lifetime and at least one query")
        self.max_age = max_age
        self.max_queries = max_queries
        self.setups = 0
        self.reuses = 0
        self._idle: dict[Hashable, list[Session]] = {}
        self._lock = threading.Lock()

    def checkout(self, key: Hashable) -> Session | None:
        """An idle live session for ``key``, now owned by the caller; drops expired ones."""
        with self._lock:
            for k in list(self._idle):
                self._idle[k] = [s for s in self._idle[k] if s.live(self.max_age)]
                if not self._idle[k]:
                    del self._idle[k]
            idle = self._idle.get(key)
            if not idle:
                return None
            self.reuses += 1
            return idle.pop()

    def created(self) -> None:
        with self._lock:
            self.setups += 1

    def checkin(self, key: Hashable, session: Session) -> None:
        """Return a session after a successful query; kept only while it has slots and time left."""
        if not session.live(self.max_age):
            return
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < MAX_IDLE_PER_KEY:
                idle.append(session)

    def clear(self) -> None:
        with self._lock:
            self._idle.clear()


SESSIONS = SessionCache()
"""The process-wide cache the API's queries share."""
