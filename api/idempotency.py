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


def _json(status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None) -> list[Message]:
    raw = json.dumps(body).encode()
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
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].startswith(PORTAL):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(b"idempotency-key")
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        owner = await principal(scope)
        if owner is None:  # authentication first: the route's own 401, whatever the key
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY:
            for m in _json(422, {"error": "invalid_input", "field": "Idempotency-Key",
                                 "detail": f"Idempotency-Key: 1 to {MAX_KEY} characters"}):
                await send(m)
            return
        body = b""
        more = True
        while more:
            msg = await receive()
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
        req_hash = hashlib.sha256(scope["path"].encode() + b"\n" + scope.get("query_string", b"") + b"\n"
                                  + body).hexdigest()
        engine = scope["app"].state.services.engine
        verdict, stored = await anyio.to_thread.run_sync(_reserve, engine, owner, key, req_hash)
        if verdict == "replay":
            assert stored is not None
            status, payload = stored
            raw = payload.encode()
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(raw)).encode()),
                                    (b"idempotent-replayed", b"true")]})
            await send({"type": "http.response.body", "body": raw})
            return
        if verdict in ("mismatch", "busy"):
            detail = ("Idempotency-Key was used with a different request" if verdict == "mismatch"
                      else "a request with this Idempotency-Key is still running")
            for m in _json(422 if verdict == "mismatch" else 409,
                           {"error": f"idempotency_key_{verdict}", "detail": detail, "field": "Idempotency-Key"}):
                await send(m)
            return

        sent = False

        async def replay_receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 500
        response_headers: list[tuple[bytes, bytes]] = []
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = list(message.get("headers", []))
            messages.append(message)

        try:
            await self.app(scope, replay_receive, capture)
        finally:
            # store before answering, so a client retrying at once finds the stored result
            keep = status < 500 and status != 401
            body_out = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
            if keep and carries_secret(response_headers, body_out):
                status_kept, text = 409, json.dumps(SECRET_MARKER)
            else:
                status_kept, text = status, body_out.decode("utf-8", "replace")
            await anyio.to_thread.run_sync(_finish, engine, owner, key, status_kept if keep else None,
                                           text if keep else None)
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
