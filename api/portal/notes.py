"""What a portal form's POST leaves for the GET page it redirects to (post/redirect/get), kept on the server
under the signed-in session: a one-time flash message, and results addressed by id (a query's answer, a
verification report) so that reloading the result page shows them again without asking the API again.

Kept in this process's memory (the API runs as one process), keyed by the SHA-256 of the session id; an entry
lives as long as a portal session at most, and each session keeps only its newest few results.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from registry.sessions import hash_session_id

TTL_SECONDS = 12 * 3600
RESULTS_PER_SESSION = 20
SESSIONS = 5000


@dataclass
class _Box:
    touched: float
    flash: tuple[str, str] | None = None  # (kind "ok" | "err", i18n key)
    results: OrderedDict[str, tuple[str, Any]] = field(default_factory=OrderedDict)  # id -> (kind, value)


class Notes:
    """Flash messages and kept results, per portal session (thread-safe: handlers run in a thread pool)."""

    def __init__(self) -> None:
        self._boxes: OrderedDict[str, _Box] = OrderedDict()
        self._lock = threading.Lock()

    def _box(self, session_id: str) -> _Box:
        key = hash_session_id(session_id)
        now = time.monotonic()
        box = self._boxes.get(key)
        if box is None or now - box.touched > TTL_SECONDS:
            box = self._boxes[key] = _Box(now)
        box.touched = now
        self._boxes.move_to_end(key)
        while len(self._boxes) > SESSIONS:
            self._boxes.popitem(last=False)
        return box

    def flash(self, session_id: str, message: str, kind: str = "ok") -> None:
        """Leave a message (an i18n key) for the next page this session opens."""
        with self._lock:
            self._box(session_id).flash = (kind, message)

    def take_flash(self, session_id: str) -> tuple[str, str] | None:
        """The waiting message, once."""
        with self._lock:
            box = self._box(session_id)
            found, box.flash = box.flash, None
            return found

    def keep(self, session_id: str, kind: str, value: Any) -> str:
        """Keep a result for this session; its id addresses the page that shows it."""
        note_id = secrets.token_urlsafe(12)
        with self._lock:
            results = self._box(session_id).results
            results[note_id] = (kind, value)
            while len(results) > RESULTS_PER_SESSION:
                results.popitem(last=False)
        return note_id

    def result(self, session_id: str, kind: str, note_id: str) -> Any | None:
        """A kept result of this session and kind, or None (another session's, expired, or never kept)."""
        with self._lock:
            found = self._box(session_id).results.get(note_id)
        return found[1] if found and found[0] == kind else None

    def forget(self, session_id: str) -> None:
        """Sign-out: drop everything the session kept."""
        with self._lock:
            self._boxes.pop(hash_session_id(session_id), None)

