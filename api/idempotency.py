"""`Idempotency-Key` on POST: after authentication, the first response is stored per account and replayed on
retries by the same account; a response carrying a secret is never stored (its retries get 409)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import anyio
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import current_actor
from registry.errors import Unauthenticated
from registry.models import IdempotencyKey

MAX_KEY = 200
PORTAL = "/portal/"
NO_STORE = "no-store"  # `Cache-Control` of a response that carries a secret (an API key): never replayed
SECRET_FIELDS = ("api_key",)  # a JSON body with one of these top-level fields carries a secret, whatever its headers
SECRET_MARKER = {"error": "idempotency_key_secret_response",
                 "detail": "the first response to this Idempotency-Key carried a secret (an API key), which is "
                           "never stored, so it cannot be replayed; the request was done once. Send a new request "
                           "with a new Idempotency-Key if you need it again",
                 "field": "Idempotency-Key"}


def _json(status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None,
          raw: bytes | None = None) -> list[Message]:
    """The messages of a JSON response (`raw`: the exact bytes to send, e.g. a stored answer)."""
    raw = json.dumps(body).encode() if raw is None else raw
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    return [{"type": "http.response.start", "status": status, "headers": headers + (extra or [])},
            {"type": "http.response.body", "body": raw}]


async def principal(scope: Scope) -> str | None:
    """`account:<id>` of the caller the route will see (API key, or the portal's session header), or None."""
    request = Request(scope)
    if "authorization" not in request.headers:
        return None
    try:
        return "account:" + (await current_actor(request, scope["app"].state.services)).id
    except Unauthenticated:
        return None


def asks_to_sign_again(status: int, body: bytes) -> bool:
    """A 428 (sign these acts) or 409 `act_changed` (prepare again): the retry is the request's next step."""
    if status == 428:
        return True
    if status != 409:
        return False
    try:
        return bool(json.loads(body).get("error") == "act_changed")
    except (ValueError, AttributeError):
        return False


def carries_secret(headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
    """A response marked `Cache-Control: no-store`, or a JSON object with a secret field."""
    for name, value in headers:
        if name.lower() == b"cache-control" and NO_STORE.encode() in value.lower():
            return True
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and any(f in data for f in SECRET_FIELDS)


class IdempotencyMiddleware:
    """Pure ASGI middleware for the JSON API. Requests without the header or without a known caller pass
    straight through (an unauthenticated one gets the route's own 401: nothing looked up, nothing replayed),
    and so do the portal's HTML forms (`/portal/`, cookie sessions: a browser's form never sends the header)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        raw_key = dict(scope["headers"]).get(b"idempotency-key")
        if raw_key is None or scope["path"].startswith(PORTAL):
            await self.app(scope, receive, send)
            return
        owner = await principal(scope)
        if owner is None:  # authentication first: the route's own 401, whatever the key
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY:
            await _send_all(send, _json(422, {"error": "invalid_input", "field": "Idempotency-Key",
                                              "detail": f"Idempotency-Key: 1 to {MAX_KEY} characters"}))
            return
        body = await _read_body(receive)
        req_hash = hashlib.sha256(scope["path"].encode() + b"\n" + scope.get("query_string", b"") + b"\n"
                                  + body).hexdigest()
        engine = scope["app"].state.services.engine
        verdict, stored = await anyio.to_thread.run_sync(_reserve, engine, owner, key, req_hash)
        if verdict == "new":
            messages = await self._run_and_store(scope, receive, body, engine, owner, key)
        elif verdict == "replay":
            assert stored is not None
            messages = _json(stored[0], {}, [(b"idempotent-replayed", b"true")], raw=stored[1].encode())
        else:
            detail = ("Idempotency-Key was used with a different request" if verdict == "mismatch"
                      else "a request with this Idempotency-Key is still running")
            messages = _json(422 if verdict == "mismatch" else 409,
                             {"error": f"idempotency_key_{verdict}", "detail": detail, "field": "Idempotency-Key"})
        await _send_all(send, messages)

    async def _run_and_store(self, scope: Scope, receive: Receive, body: bytes, engine: Any, owner: str,
                             key: str) -> list[Message]:
        """Run the request once, store its answer (never a secret; nothing on 401 or 5xx), return its messages."""
        sent = False

        async def replay_receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        try:
            await self.app(scope, replay_receive, capture)
        finally:
            # store before answering, so a client retrying at once finds the stored result
            start = next((m for m in messages if m["type"] == "http.response.start"), None)
            status = start["status"] if start else 500
            body_out = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
            keep = status < 500 and status != 401 and not asks_to_sign_again(status, body_out)
            if keep and carries_secret(list(start.get("headers", [])) if start else [], body_out):
                status_kept, text = 409, json.dumps(SECRET_MARKER)
            else:
                status_kept, text = status, body_out.decode("utf-8", "replace")
            await anyio.to_thread.run_sync(_finish, engine, owner, key, status_kept if keep else None,
                                           text if keep else None)
        return messages


async def _read_body(receive: Receive) -> bytes:
    body, more = b"", True
    while more:
        msg = await receive()
        body += msg.get("body", b"")
        more = msg.get("more_body", False)
    return body


async def _send_all(send: Send, messages: list[Message]) -> None:
    for message in messages:
        await send(message)


def _reserve(engine: Any, owner: str, key: str, req_hash: str) -> tuple[str, tuple[int, str] | None]:
    with Session(engine) as s:
        row = s.exec(select(IdempotencyKey).where(IdempotencyKey.scope == owner)
                     .where(IdempotencyKey.key == key)).first()
        if row is None:
            s.add(IdempotencyKey(scope=owner, key=key, request_hash=req_hash))
            try:
                s.commit()
                return "new", None
            except IntegrityError:
                s.rollback()
                return "busy", None
        if row.request_hash != req_hash:
            return "mismatch", None
        if row.status_code is None or row.body is None:
            return "busy", None
        return "replay", (row.status_code, row.body)


def _finish(engine: Any, owner: str, key: str, status: int | None, body: str | None) -> None:
    with Session(engine) as s:
        row = s.exec(select(IdempotencyKey).where(IdempotencyKey.scope == owner)
                     .where(IdempotencyKey.key == key)).first()
        if row is None:
            return
        if status is None:
            s.delete(row)
        else:
            row.status_code, row.body = status, body
            s.add(row)
        s.commit()


def document(schema: dict[str, Any]) -> None:
    """Declare the optional `Idempotency-Key` header on every POST operation of the OpenAPI document."""
    param = {"name": "Idempotency-Key", "in": "header", "required": False,
             "description": "makes a retry safe: the first answer is stored per account and replayed (`422` when "
                            f"longer than {MAX_KEY} characters or reused for a different request, `409` while "
                            "the first request is still running)",
             "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY}}
    for path, ops in schema.get("paths", {}).items():
        op = ops.get("post")
        if op is not None and not path.startswith(PORTAL):
            params = [p for p in op.get("parameters", []) if p.get("name") != "Idempotency-Key"]
            op["parameters"] = [*params, param]
