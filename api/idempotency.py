"""`Idempotency-Key` on POST: the first response is stored per API key and replayed on retries."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import anyio
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.models import IdempotencyKey

MAX_KEY = 200


def _json(status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None) -> list[Message]:
    raw = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    return [{"type": "http.response.start", "status": status, "headers": headers + (extra or [])},
            {"type": "http.response.body", "body": raw}]


class IdempotencyMiddleware:
    """Pure ASGI middleware; requests without the header pass straight through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(b"idempotency-key")
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY:
            for m in _json(400, {"error": "invalid_input", "field": "Idempotency-Key",
                                 "detail": f"Idempotency-Key: 1 to {MAX_KEY} characters"}):
                await send(m)
            return
        body = b""
        more = True
        while more:
            msg = await receive()
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
        owner = hashlib.sha256(headers.get(b"authorization", b"")).hexdigest()
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
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            messages.append(message)

        try:
            await self.app(scope, replay_receive, capture)
        finally:
            # store before answering, so a client retrying at once finds the stored result
            keep = status < 500 and status != 401
            body_out = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
            await anyio.to_thread.run_sync(_finish, engine, owner, key, status if keep else None,
                                           body_out.decode("utf-8", "replace") if keep else None)
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
