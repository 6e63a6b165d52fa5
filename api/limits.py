"""Request hygiene before parsing: bodies over the size limit get 413; NUL characters get 422.

NUL cannot be stored in PostgreSQL text and is never meaningful in this API's free text, so it is
refused on every database alike rather than accepted on one and failing on another.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
READ_METHODS = frozenset({"GET", "HEAD"})  # no body, no record: the request middleware passes them straight on
NUL_FORMS = (b"\x00", b"\\u0000")


class _Refused:
    def __init__(self, status: int, code: str, detail: str) -> None:
        self.status, self.code, self.detail = status, code, detail


class BodyLimitMiddleware:
    """Refuse request bodies larger than `max_bytes` (declared or streamed) or containing NUL."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_METHODS:  # a read's body is never read
            await self.app(scope, receive, send)
            return
        too_large = _Refused(413, "payload_too_large", f"request body exceeds {self.max_bytes} bytes")
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _refuse(send, too_large)
            return
        # Bodies are small (≤ max_bytes): read, check, then replay them to the app.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _refuse(send, too_large)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if any(form in body for form in NUL_FORMS):
            await _refuse(send, _Refused(422, "invalid_input", "NUL characters are not allowed in request bodies"))
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    """A receive callable that yields `messages`, then defers to `then` (e.g. for disconnects)."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


async def _refuse(send: Send, refused: _Refused) -> None:
    body = json.dumps({"error": refused.code, "detail": refused.detail, "field": "body"}).encode()
    await send({"type": "http.response.start", "status": refused.status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
