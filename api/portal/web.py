"""Portal plumbing: sessions and the same-origin + CSRF guard, the page context each handler gets, form and
display helpers. Pages live in `api.portal.routes` (sign-in, catalog, products) and `api.portal.pages` (the
role pages); see `api.portal.routes` for how the portal calls the API.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.client import Json, ProvexClient
from api.portal.i18n import LANGS, pick, translate
from api.portal.vendor import ETHERS_URL, ethers_path
from api.result_text import cell
from api.settings import Settings
from api.websecurity import SESSION_COOKIE, cross_origin_problem, effective_scheme
from registry.errors import Unauthenticated
from registry.portal_notes import Notes
from registry.sessions import SessionInfo, resolve_session

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
static = StaticFiles(directory=str(HERE / "static"))
root = APIRouter(include_in_schema=False)

LANG_COOKIE = "provex_lang"
SIGNIN_COOKIE = "provex_signin"  # the sign-in form's CSRF token (double submit: no session exists yet)
LEGACY_KEY_COOKIE = "provex_key"  # older portals kept the raw API key here: removed at sign-in and sign-out
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"  # the signer's fetch calls carry the token here (their bodies are JSON)
FORM_TYPE = "application/x-www-form-urlencoded"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ROLE_PAGES: dict[str, tuple[str, ...]] = {
    "buyer": ("catalog", "negotiations", "statement", "buyer"),
    "exchange": ("catalog", "reports", "statement", "exchange"),
    "authority": ("catalog", "reports", "authority"), "auditor": ("catalog", "reports", "auditor"),
    "operator": ("reports", "assets", "negotiations", "statement", "catalog", "operator"),
    "provider": ("statement", "catalog", "provider")}  # the last: the page after sign-in
SIGNING_TEMPLATES = frozenset({"buyer.html", "exchange.html", "authority.html", "auditor.html", "key.html",
                               "reports.html", "assets.html", "buy.html", "licenses.html", "negotiations.html",
                               "operator_product.html", "operator_register.html", "provider.html"})
CHECKS = ("lawful_source", "valid_authorization", "classification_consistent", "personal_information_removed",
          "sample_synthetic")


# ------------------------------------------------------------------------------------ plumbing

def lang_of(request: Request) -> str:
    return pick(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


def lang_links(request: Request) -> dict[str, str]:
    """The language switch: this same GET page (its path and query) in each language; a page drawn for a POST
    (a refused form) has no address to come back to, so its switch goes home."""
    if request.method != "GET":
        return {lang: f"/?{urlencode({'lang': lang})}" for lang in LANGS}
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return {lang: f"{request.url.path}?{urlencode([*query, ('lang', lang)])}" for lang in LANGS}


def base_context(request: Request, lang: str) -> dict[str, Any]:
    """What base.html needs on every page, signed in or not."""
    return {"t": lambda k: translate(str(k), lang), "lang": lang, "me": None, "pages": (),
            "path": request.url.path, "lang_links": lang_links(request)}


def notes_of(request: Request) -> Notes:
    """The portal's flash messages and kept results (`registry.portal_notes`), in the app's database."""
    return Notes(request.app.state.services.engine)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def is_https(request: Request) -> bool:
    return effective_scheme(request.scope, settings_of(request).trust_forwarded_proto) == "https"


def _resolve(engine: Any, session_id: str) -> SessionInfo | None:
    with Session(engine) as s:
        try:
            return resolve_session(s, session_id)
        except Unauthenticated:
            return None


def current_session(request: Request) -> SessionInfo | None:
    """The live session named by the cookie (looked up once per request), or None."""
    if not hasattr(request.state, "portal_session"):
        session_id = request.cookies.get(SESSION_COOKIE)
        request.state.portal_session = (_resolve(request.app.state.services.engine, session_id)
                                        if session_id else None)
    info: SessionInfo | None = request.state.portal_session
    return info


class Refused(Exception):
    """A state-changing request that did not come from this site's own form (403)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


async def csrf_token_of(request: Request) -> str:
    """The CSRF token a request carries: the `X-CSRF-Token` header, else a posted form's `csrf_token` field."""
    token = request.headers.get(CSRF_HEADER, "")
    if not token and request.headers.get("content-type", "").startswith(FORM_TYPE):
        token = (await form_data(request)).get(CSRF_FIELD, "")
    return token


async def guard(request: Request) -> None:
    """Every portal route: a state-changing request must come from this site (Origin, else Referer) and carry
    the CSRF token of its session (of the sign-in form's cookie, for sign-in itself)."""
    if request.method not in UNSAFE_METHODS:
        return
    problem = cross_origin_problem(request.scope, settings_of(request).trust_forwarded_proto)
    if problem:
        raise Refused("cross_origin_request", problem)
    token = await csrf_token_of(request)
    if request.url.path == "/portal/signin":
        expected = request.cookies.get(SIGNIN_COOKIE, "")
    else:
        info = await run_in_threadpool(current_session, request)
        if info is None:
            raise NotSignedIn()
        expected = info.csrf_token
    if not token:
        raise Refused("csrf_token_missing", "the form carries no CSRF token; reload the page and try again")
    if not expected or not secrets.compare_digest(token.encode(), expected.encode()):
        raise Refused("csrf_token_invalid", "the form's CSRF token is not this session's; reload the page and "
                                            "try again")


def portal_router() -> APIRouter:
    """A router for portal pages: under /portal, out of the OpenAPI, every request through `guard`."""
    return APIRouter(prefix="/portal", include_in_schema=False, dependencies=[Depends(guard)])


def internal_url(request: Request) -> str:
    """This server's own address, for calling the API from a handler."""
    host, port = request.scope.get("server") or ("127.0.0.1", 80)
    if host in ("0.0.0.0", "::", "", None):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


class Page:
    """What a handler needs: the client (as the signed-in session), the account, its CSRF token, the language."""

    def __init__(self, request: Request, client: ProvexClient, me: Json, csrf_token: str) -> None:
        self.request, self.client, self.me, self.csrf_token = request, client, me, csrf_token
        self.lang = lang_of(request)
        self.session_id = request.cookies.get(SESSION_COOKIE, "")
        self.notes = notes_of(request)

    def keep(self, kind: str, value: Any) -> str:
        """Keep a result for this session (`registry.portal_notes`); its id addresses the page showing it."""
        return self.notes.keep(self.session_id, kind, value)

    def kept(self, kind: str, note_id: str) -> Any | None:
        return self.notes.result(self.session_id, kind, note_id)

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = self.lang
        ctx = {**base_context(self.request, lang), "me": self.me,
               "pages": ROLE_PAGES.get(self.me["role"], ("catalog",)),
               "flash": self.notes.take_flash(self.session_id), "money": money, "short": short, "utc": utc,
               "cell": cell, "json": pretty, "csrf_token": self.csrf_token,
               "ethers_url": ETHERS_URL if ethers_path(self.request) else None,
               "signs": template in SIGNING_TEMPLATES, **context}
        response = templates.TemplateResponse(self.request, template, ctx, status_code=status)
        if self.request.query_params.get("lang"):
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
        return response


class NotSignedIn(Exception):
    pass


class WrongRole(Exception):
    def __init__(self, page: Page) -> None:
        self.page = page


def page(name: str) -> Callable[[Request], Any]:
    """Dependency: a `Page` for a signed-in account whose role may open `name`."""

    def dep(request: Request) -> Any:
        info = current_session(request)
        if info is None:
            raise NotSignedIn()
        client = ProvexClient(internal_url(request))
        client.http.headers["Authorization"] = f"Session {request.cookies[SESSION_COOKIE]}"
        a = info.actor
        me = {"id": a.id, "name": a.name, "role": a.role.value, "address": a.address}
        p = Page(request, client, me, info.csrf_token)
        try:
            if name not in ROLE_PAGES.get(me["role"], ()):
                raise WrongRole(p)
            yield p
        finally:
            client.close()

    return dep


async def form_data(request: Request) -> dict[str, str]:
    """An urlencoded form as a flat dict (the last value of each field; checkboxes present or absent)."""
    raw = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def back_to(target: str | None, fallback: str = "/portal/catalog") -> str:
    """Where a form's POST may send the browser: a portal page of this site (never the signing proxy, never
    another site), else `fallback`."""
    target = target or ""
    if not target.startswith("/portal/") or target.startswith(("/portal/api/", "//")) or "\\" in target:
        return fallback
    return target


def see_other(target: str) -> RedirectResponse:
    """The answer to every portal form's POST: 303 to the GET page that shows the outcome."""
    return RedirectResponse(target, status_code=303)


def money(fen: int | None) -> str:
    return "—" if fen is None else f"¥{fen / 100:,.2f}"


def short(value: Any, n: int = 10) -> str:
    s = str(value or "")
    return s if len(s) <= n + 2 else s[:n] + "…"


def utc(unix: int | None) -> str:
    """Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`."""
    return "—" if unix is None else datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True)
