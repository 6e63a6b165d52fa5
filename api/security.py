"""Security events: every refused authentication or authorization, as JSON lines.

Events go to the `provex.security` logger; the app attaches a file handler writing
`<PROVEX_HOME>/security.log`, which auditors read through `GET /audit/security-events`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request

log = logging.getLogger("provex.security")
LOG_NAME = "security.log"


def _key_fingerprint(request: Request) -> str | None:
    """First 12 hex of SHA-256 of the presented key: identifies repeated attempts, reveals nothing."""
    auth = request.headers.get("authorization", "")
    if not auth:
        return None
    return hashlib.sha256(auth.encode()).hexdigest()[:12]


def security_event(request: Request, kind: str, status: int, detail: str) -> None:
    """Record one refusal (kind e.g. `unauthenticated`, `forbidden`)."""
    event: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "kind": kind,
        "status": status,
        "method": request.method,
        "path": request.url.path,
        "client": request.client.host if request.client else None,
        "key_fingerprint": _key_fingerprint(request),
        "detail": detail[:300],
    }
    log.warning(json.dumps(event, ensure_ascii=False, sort_keys=True))


def attach_file_handler(home: Path) -> logging.Handler:
    """Write security events as JSON lines under `home`; returns the handler to detach later."""
    home.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(home / LOG_NAME, encoding="utf-8")
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
