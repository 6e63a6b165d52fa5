"""Browser-facing defences: security headers on every response, the request's effective scheme (for `Secure`
cookies and HSTS), and the same-origin check that portal form posts must pass."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "provex_session"

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# The interactive API docs (FastAPI's Swagger UI and ReDoc pages) load their bundles from jsDelivr; their one
# inline script is allowed by its hash, computed from the page itself, never by 'unsafe-inline'.
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
DOCS_CSP = ("default-src 'none'; script-src 'self' https://cdn.jsdelivr.net{hashes}; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
            "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
            "font-src https://fonts.gstatic.com; "
            "connect-src 'self'; worker-src blob:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS: tuple[tuple[str, str], ...] = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
)
HSTS = "max-age=31536000"
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
DEFAULT_PORTS = {"http": "80", "https": "443"}


def effective_scheme(scope: Scope, trust_forwarded_proto: bool) -> str:
    """`https` or `http`: the ASGI scheme (uvicorn already applies X-Forwarded-Proto from its trusted proxies),
    or X-Forwarded-Proto from anyone when `PROVEX_TRUST_FORWARDED_PROTO` says the proxy in front sets it."""
    if trust_forwarded_proto:
        for name, value in scope.get("headers") or []:
            if name == b"x-forwarded-proto":
                proto = value.decode("latin-1").split(",")[0].strip().lower()
                if proto in ("http", "https"):
                    return proto
    return "https" if scope.get("scheme") in ("https", "wss") else "http"


def _origin(scheme: str, netloc: str) -> str:
    host = netloc.strip().lower()
    if host.rsplit(":", 1)[-1] == DEFAULT_PORTS.get(scheme) and not host.endswith("]"):
        host = host.rsplit(":", 1)[0]
    return f"{scheme}://{host}"


def own_origin(scope: Scope, trust_forwarded_proto: bool) -> str:
    """This site's origin as the browser sees it: the effective scheme and the Host header."""
    host = next((v.decode("latin-1") for n, v in scope.get("headers") or [] if n == b"host"), "")
    return _origin(effective_scheme(scope, trust_forwarded_proto), host)


def cross_origin_problem(scope: Scope, trust_forwarded_proto: bool) -> str | None:
    """Why a state-changing request does not come from this site's own pages, or None if it does.

    The Origin header decides; without it, the Referer's origin; with neither, the request is refused."""
    expected = own_origin(scope, trust_forwarded_proto)
    headers = {n: v.decode("latin-1") for n, v in scope.get("headers") or []}
    origin = headers.get(b"origin")
    if origin is not None:
        parts = urlsplit(origin.strip())
        seen = _origin(parts.scheme.lower(), parts.netloc) if parts.scheme and parts.netloc else origin.strip()
        if seen != expected:
            return f"cross-origin request refused: Origin {seen} is not this site ({expected})"
        return None
    referer = headers.get(b"referer")
    if referer:
        parts = urlsplit(referer.strip())
        seen = _origin(parts.scheme.lower(), parts.netloc)
        if seen != expected:
            return f"cross-origin request refused: Referer {seen} is not this site ({expected})"
        return None
    return (f"request refused: it names no Origin or Referer; state-changing portal requests must come from "
            f"this site's own pages ({expected})")


def _with_defaults(headers: list[tuple[bytes, bytes]], extra: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    return headers + [(n.encode(), v.encode()) for n, v in extra if n.encode() not in present]


def docs_csp(html: bytes) -> str:
    """The docs pages' policy, allowing exactly the inline scripts `html` carries (by SHA-256)."""
    hashes = "".join(f" 'sha256-{base64.b64encode(hashlib.sha256(m).digest()).decode()}'"
                     for m in INLINE_SCRIPT.findall(html))
    return DOCS_CSP.format(hashes=hashes)


class SecurityHeadersMiddleware:
    """Pure ASGI middleware adding the security headers to every response, portal and API alike (a header the
    route set itself is kept). Portal pages are also `Cache-Control: no-store`."""

    def __init__(self, app: ASGIApp, trust_forwarded_proto: bool = False) -> None:
        self.app = app
        self.trust_forwarded_proto = trust_forwarded_proto

    def _extra(self, scope: Scope) -> list[tuple[str, str]]:
        extra = list(HEADERS)
        if effective_scheme(scope, self.trust_forwarded_proto) == "https":
            extra.append(("strict-transport-security", HSTS))
        path = scope["path"]
        if path.startswith("/portal/") and not path.startswith("/portal/static/"):
            extra.append(("cache-control", "no-store"))
        return extra

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._extra(scope)
        if scope["path"] in DOCS_PATHS:
            await self._docs(scope, receive, send, extra)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _with_defaults(list(message.get("headers", [])),
                                                                [("content-security-policy", CSP), *extra])}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send, extra: list[tuple[str, str]]) -> None:
        """The docs pages are small: buffer one, hash its inline scripts into its policy, send it."""
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        for message in messages:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _with_defaults(list(message.get("headers", [])),
                                                                [("content-security-policy", docs_csp(body)),
                                                                 *extra])}
            await send(message)
