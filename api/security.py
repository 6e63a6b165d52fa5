"""Security events: every refused authentication or authorization, as JSON lines.

Events go to the `provex.security` logger; the app attaches a file handler writing
`<PROVEX_HOME>/security.log` (mode 0600, rotated by size: `LOG_MAX_BYTES`, `LOG_BACKUPS` old files),
which auditors read through `GET /audit/security-events`.

Unauthenticated noise is rate-limited before it reaches the log: at most `NOISE_PER_KEY` 401 events per
client address and presented key (and `NOISE_PER_CLIENT` per address) per `NOISE_WINDOW` seconds. The
first event over the limit is logged as `rate_limited`; the rest are counted and logged as one
`suppressed` event when that window has passed. Refusals of authenticated callers (403) are always logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import logging.handlers
import os
import threading
import time
from collections import OrderedDict, deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request

log = logging.getLogger("provex.security")
LOG_NAME = "security.log"
LOG_MAX_BYTES = 1024 * 1024
LOG_BACKUPS = 3
NOISE_WINDOW = 60.0
NOISE_PER_KEY = 20  # unauthenticated events per (client address, presented key) per window
NOISE_PER_CLIENT = 600  # and per client address, whatever keys it presents
NOISE_KEYS = 10_000  # windows kept at most; the oldest are dropped first


class _Windows:
    """Fixed windows: how many events each key may still log in its current window."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._windows: OrderedDict[str, list[float]] = OrderedDict()  # key -> [start, logged, suppressed]

    def admit(self, key: str, now: float) -> tuple[bool, bool, int]:
        """(log this event?, is it the first one over the limit?, suppressed in the key's previous window)."""
        window = self._windows.get(key)
        reported = 0
        if window is None or now - window[0] >= NOISE_WINDOW:
            reported = int(window[2]) if window else 0
            window = [now, 0, 0]
            self._windows[key] = window
            self._windows.move_to_end(key)
            while len(self._windows) > NOISE_KEYS:
                self._windows.popitem(last=False)
        if window[1] < self.limit:
            window[1] += 1
            return True, False, reported
        window[2] += 1
        return False, window[2] == 1, reported


class _NoiseLimiter:
    def __init__(self) -> None:
        self.per_key, self.per_client = _Windows(NOISE_PER_KEY), _Windows(NOISE_PER_CLIENT)
        self._lock = threading.Lock()

    def admit(self, client: str, key: str, now: float) -> tuple[bool, bool, int]:
        with self._lock:
            ok_key, first_key, rep_key = self.per_key.admit(f"{client}|{key}", now)
            ok_client, first_client, rep_client = (self.per_client.admit(client, now) if ok_key
                                                   else (False, False, 0))
            return ok_key and ok_client, first_key or first_client, rep_key + rep_client


_noise = _NoiseLimiter()


def _noise_event(request: Request, kind: str, count: int, detail: str) -> None:
    log.warning(json.dumps({"at": datetime.now(UTC).isoformat(timespec="milliseconds"), "kind": kind,
                            "status": 401, "method": request.method, "path": request.url.path,
                            "client": request.client.host if request.client else None,
                            "key_fingerprint": _key_fingerprint(request), "count": count, "detail": detail},
                           ensure_ascii=False, sort_keys=True))


class _PrivateRotatingHandler(logging.handlers.RotatingFileHandler):
    """A size-rotated log whose files are created readable by their owner only (0600)."""

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.chmod(self.baseFilename, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding)


def _key_fingerprint(request: Request) -> str | None:
    """First 12 hex of SHA-256 of the presented key: identifies repeated attempts, reveals nothing."""
    auth = request.headers.get("authorization", "")
    if not auth:
        return None
    return hashlib.sha256(auth.encode()).hexdigest()[:12]


def security_event(request: Request, kind: str, status: int, detail: str) -> None:
    """Record one refusal (kind e.g. `unauthenticated`, `forbidden`); 401s are rate-limited per client."""
    client = request.client.host if request.client else None
    if status == 401:
        admitted, first_over, suppressed = _noise.admit(client or "-", _key_fingerprint(request) or "-",
                                                        time.monotonic())
        if suppressed:
            _noise_event(request, "suppressed", suppressed, "unauthenticated requests over the rate limit, "
                         "not logged one by one")
        if first_over:
            _noise_event(request, "rate_limited", 1, f"over {NOISE_PER_KEY} unauthenticated requests per key "
                         f"(or {NOISE_PER_CLIENT} per client) in {NOISE_WINDOW:.0f} s: further ones are counted")
        if not admitted:
            return
    event: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "kind": kind,
        "status": status,
        "method": request.method,
        "path": request.url.path,
        "client": client,
        "key_fingerprint": _key_fingerprint(request),
        "detail": detail[:300],
    }
    log.warning(json.dumps(event, ensure_ascii=False, sort_keys=True))


def attach_file_handler(home: Path) -> logging.Handler:
    """Write security events as JSON lines under `home`; returns the handler to detach later."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    handler = _PrivateRotatingHandler(home / LOG_NAME, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS,
                                      encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return handler


def recent_events(home: Path, limit: int = 200) -> list[dict[str, Any]]:
    """The newest `limit` events, oldest first."""
    path = home / LOG_NAME
    if not path.is_file():
        return []
    with open(path, encoding="utf-8") as fh:
        lines = deque(fh, maxlen=limit)
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events
