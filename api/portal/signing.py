"""The portal's half of participant signing (docs/signing.md, "The portal").

The participant's key never reaches the server: the key page lets `static/signer.js` open the participant's
keystore in the browser (kept in the tab's `sessionStorage`), and the signer sends each signed request to
the API through `POST /portal/api/{api path}`, a same-origin proxy that checks the session cookie, the session's
CSRF token (`X-CSRF-Token`) and the origin (`web.guard`), then forwards the exact body bytes and the `Provex-*`
headers as the signed-in session and returns the API's status and JSON unchanged.
"""

from __future__ import annotations

import re

import httpx
from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response

from api.portal.refusals import translated_refusal
from api.portal.web import Page, internal_url, lang_of, page, portal_router
from api.websecurity import SESSION_COOKIE

PROXY_PREFIX = "/portal/api"
SEGMENT = re.compile(r"[A-Za-z0-9_~:@%-][A-Za-z0-9._~:@%-]*")
FORWARDED_HEADERS = ("content-type",)  # and every `Provex-*` header
RETURNED_HEADERS = ("content-type", "retry-after")
PROXY_TIMEOUT = 120.0  # a federated query may take a while

router = portal_router()


@router.get("/key")
def key_page(p: Page = Depends(page("catalog"))) -> Response:  # "catalog": every role may open it
    """Open a keystore in this tab (the page is static; `signer.js` does the work in the browser)."""
    return p.render("key.html")


def api_path(request: Request) -> str | None:
    """The API path (as sent, still percent-encoded, with its query) a proxy request names, or None if it
    names no API route (empty, dot segments, or the portal itself)."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1").split("?", 1)[0][len(PROXY_PREFIX):]
    segments = path.split("/")[1:]
    if not segments or segments[0] == "portal" or not all(SEGMENT.fullmatch(s) for s in segments):
        return None
    query = request.url.query
    return path + (f"?{query}" if query else "")


async def raw_body(request: Request) -> bytes:
    return await request.body()


@router.api_route("/api/{api:path}", methods=["POST", "PUT", "PATCH", "DELETE"])
def proxy(request: Request, body: bytes = Depends(raw_body)) -> Response:
    """Send one request signed in the browser to the API as the signed-in participant; answer as the API did,
    a refusal with its `message` in the page's language added (`refusals`)."""
    path = api_path(request)
    if path is None:
        return JSONResponse({"error": "not_found", "detail": "not an API path"}, status_code=404)
    headers = {k: v for k, v in request.headers.items() if k.startswith("provex-") or k in FORWARDED_HEADERS}
    headers["authorization"] = f"Session {request.cookies[SESSION_COOKIE]}"
    try:
        with httpx.Client(timeout=PROXY_TIMEOUT) as http:
            r = http.request(request.method, internal_url(request) + path, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return JSONResponse({"error": "api_unreachable", "detail": f"the API did not answer: {exc}"},
                            status_code=502)
    kept = {k: r.headers[k] for k in RETURNED_HEADERS if k in r.headers}
    translated = translated_refusal(r.content, lang_of(request)) if r.status_code >= 400 else None
    return Response(translated or r.content, status_code=r.status_code, headers=kept)
