"""`Provex-Record-Promises`: a write's response carries the signed promises of the records it appended.

The middleware puts a list in the request's state; the request's database session (`api.deps.session`) adds to it
the promises of every transaction it commits (`ledger.promises`); the header is written when the response starts.
Its value is a compact JSON list of `provex-promise/1` objects (ASCII). At most `MAX_IN_HEADER` ride in the
header; the rest, and any promise later, are in each record's receipt (`GET /ledger/records/{seq}`).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.limits import READ_METHODS
from ledger.promises import Promise

HEADER = "Provex-Record-Promises"
STATE_KEY = "provex_promises"
MAX_IN_HEADER = 16


def header_value(promises: list[Promise]) -> str:
    return json.dumps([p.as_json() for p in promises[:MAX_IN_HEADER]], separators=(",", ":"), sort_keys=True)


def parse_header(value: str) -> list[Promise]:
    """The promises in a `Provex-Record-Promises` value (for clients and tests)."""
    return [Promise.parse(item) for item in json.loads(value)]


class PromiseHeaderMiddleware:
    """Pure ASGI: collects the request's committed promises and adds them as a header to its response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_METHODS:  # a read appends no record
            await self.app(scope, receive, send)
            return
        promises: list[Promise] = []
        scope.setdefault("state", {})[STATE_KEY] = promises

        async def send_with_promises(message: Message) -> None:
            if message["type"] == "http.response.start" and promises:
                headers = [*message.get("headers", []), (HEADER.lower().encode(), header_value(promises).encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_promises)
