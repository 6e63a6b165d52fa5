"""A participant's signing side as a local HTTP proxy: every request passes through to the API, signed with the
participant's own key (`SigningTransport`), so a tool that cannot sign (Schemathesis) acts as that participant.

It is an ASGI app under uvicorn, the API's own server, so it accepts exactly the requests the API would
(same HTTP parser) and passes every method, path and header on. It binds its own socket on 127.0.0.1 and
stops with the `with` block."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import Any, Self

import httpx
import uvicorn
from eth_account.signers.local import LocalAccount
from starlette.concurrency import run_in_threadpool

from api.client.signer import SigningTransport

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}


class SigningProxy:
    def __init__(self, upstream: str, signer: LocalAccount | None) -> None:
        transport = SigningTransport(signer) if signer is not None else None
        self.http = httpx.Client(base_url=upstream, timeout=60, transport=transport)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this: without it, the response body waits behind the client's delayed
        # ACK of the headers (Nagle), ~40 ms a request.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", interface="asgi3")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])),
                                        daemon=True)

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        target = scope["raw_path"].decode("latin-1") + (
            "?" + scope["query_string"].decode("latin-1") if scope["query_string"] else "")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
                   if k.decode("latin-1").lower() not in HOP_BY_HOP]
        r = await run_in_threadpool(self.http.request, scope["method"], target, content=body, headers=headers)
        out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in r.headers.items() if k.lower() not in HOP_BY_HOP]
        await send({"type": "http.response.start", "status": r.status_code,
                    "headers": [*out, (b"content-length", str(len(r.content)).encode())]})
        await send({"type": "http.response.body", "body": r.content})

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the signing proxy did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.server.should_exit = True
        self._thread.join(10)
        self.sock.close()
        self.http.close()
