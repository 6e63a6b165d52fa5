"""Portal pages. Each handler asks the API (through `api.client`, as the signed-in participant) and renders a
template; the API decides what the role may see and do, and its error messages are shown next to the fields.

Handlers are plain `def`s (run in the thread pool), so calling back into this same server never blocks its
event loop. Signing in with an API key opens a server-side session (`registry.sessions`): the browser holds
only the random session id, in an HttpOnly cookie, and the portal calls the API with it (`Authorization:
Session <id>`); the API key itself is never kept. Every state-changing request must come from this site
(Origin, else Referer) and carry the session's CSRF token. The language is in `?lang=` or a cookie.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.client import ApiError, Json, ProvexClient
from api.portal import charts
from api.portal.i18n import pick, translate
from api.security import security_event
from api.settings import Settings
from api.websecurity import SESSION_COOKIE, cross_origin_problem, effective_scheme
from registry.accounts import authenticate
from registry.errors import Unauthenticated
from registry.sessions import SessionInfo, close_session, open_session, resolve_session

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
static = StaticFiles(directory=str(HERE / "static"))
root = APIRouter(include_in_schema=False)

LANG_COOKIE = "provex_lang"
SIGNIN_COOKIE = "provex_signin"  # the sign-in form's CSRF token (double submit: no session exists yet)
LEGACY_KEY_COOKIE = "provex_key"  # older portals kept the raw API key here: removed at sign-in and sign-out
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PAGES = ("catalog", "buyer", "exchange", "authority", "auditor")
ROLE_PAGES: dict[str, tuple[str, ...]] = {
    "buyer": ("catalog", "buyer"), "exchange": ("catalog", "exchange"), "authority": ("catalog", "authority"),
    "auditor": ("catalog", "auditor"), "operator": ("catalog",), "provider": ("catalog",)}
CHECKS = ("lawful_source", "valid_authorization", "classification_consistent", "personal_information_removed",
          "sample_synthetic")


# ------------------------------------------------------------------------------------ plumbing

def lang_of(request: Request) -> str:
    return pick(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


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


async def guard(request: Request) -> None:
    """Every portal route: a state-changing request must come from this site (Origin, else Referer) and carry
    the CSRF token of its session (of the sign-in form's cookie, for sign-in itself)."""
    if request.method not in UNSAFE_METHODS:
        return
    problem = cross_origin_problem(request.scope, settings_of(request).trust_forwarded_proto)
    if problem:
        raise Refused("cross_origin_request", problem)
    token = (await form_data(request)).get(CSRF_FIELD, "")
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


router = APIRouter(prefix="/portal", include_in_schema=False, dependencies=[Depends(guard)])


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

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = self.lang
        ctx = {"t": lambda k: translate(str(k), lang), "lang": lang, "me": self.me,
               "pages": ROLE_PAGES.get(self.me["role"], ("catalog",)), "path": self.request.url.path,
               "money": money, "short": short, "json": pretty, "csrf_token": self.csrf_token, **context}
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


def money(fen: int | None) -> str:
    return "—" if fen is None else f"¥{fen / 100:,.2f}"


def short(value: Any, n: int = 10) -> str:
    s = str(value or "")
    return s if len(s) <= n + 2 else s[:n] + "…"


def pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True)


def field_errors(e: ApiError) -> dict[str, str]:
    """API error → {form field: message}; errors without a field go under "_"."""
    out = {f.split(".")[-1].split("[")[0]: m for f, m in e.fields.items()}
    return out or {"_": f"{e.code}: {e.detail}"}


def install(app: Any) -> None:
    """Mount the portal on the app: pages, static files, the sign-in redirects."""
    app.include_router(root)
    app.include_router(router)
    app.mount("/portal/static", static, name="portal-static")

    @app.exception_handler(NotSignedIn)
    async def _signin(request: Request, _: Exception) -> Response:
        return RedirectResponse(f"/portal/signin?{urlencode({'next': request.url.path})}", status_code=303)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        lang = lang_of(request)
        return templates.TemplateResponse(request, "error.html", {
            "t": lambda k: translate(k, lang), "lang": lang, "me": None, "pages": (), "path": request.url.path,
            "message": f"{exc.code}: {exc.detail}"}, status_code=exc.status)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        security_event(request, exc.code, 403, exc.message)
        if "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"error": exc.code, "detail": exc.message}, status_code=403)
        lang = lang_of(request)
        return templates.TemplateResponse(request, "error.html", {
            "t": lambda k: translate(k, lang), "lang": lang, "me": None, "pages": (), "path": request.url.path,
            "message": f"{exc.code}: {exc.message}", "code": exc.code}, status_code=403)

    @app.exception_handler(WrongRole)
    async def _wrong(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WrongRole)
        return exc.page.render("error.html", status=403, message=translate("forbidden_page", exc.page.lang))


# ------------------------------------------------------------------------------------ sign-in

@root.get("/")
def home(request: Request) -> Response:
    target = "/portal/catalog" if request.cookies.get(SESSION_COOKIE) else "/portal/signin"
    lang = request.query_params.get("lang")
    return RedirectResponse(target + (f"?{urlencode({'lang': pick(lang)})}" if lang else ""), status_code=303)


@router.get("/signin")
def signin_form(request: Request) -> Response:
    return signin_page(request)


def signin_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    """The sign-in form, with its CSRF token (also in a cookie scoped to this path: a double submit)."""
    lang = lang_of(request)
    token = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)
    response = templates.TemplateResponse(request, "signin.html", {
        "t": lambda k: translate(k, lang), "lang": lang, "me": None, "pages": (), "path": request.url.path,
        "error": error, "next": request.query_params.get("next", ""), "csrf_token": token}, status_code=status)
    response.set_cookie(SIGNIN_COOKIE, token, httponly=True, samesite="strict", secure=is_https(request),
                        path="/portal/signin", max_age=3600)
    if request.query_params.get("lang"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=is_https(request))
    return response


def _sign_in(engine: Any, api_key: str, hours: float, previous: str | None) -> tuple[str, SessionInfo]:
    with Session(engine) as s:
        actor = authenticate(s, api_key)
        if previous:
            close_session(s, previous)  # a new sign-in always gets a new id
        opened = open_session(s, actor, timedelta(hours=hours))
        s.commit()
        return opened


@router.post("/signin")
def signin(request: Request, form: dict[str, str] = Depends(form_data)) -> Response:
    """Check the API key, open a session, give the browser its id; the key is not kept anywhere."""
    settings = settings_of(request)
    try:
        session_id, info = _sign_in(request.app.state.services.engine, form.get("api_key", "").strip(),
                                    settings.portal_session_hours, request.cookies.get(SESSION_COOKIE))
    except Unauthenticated as e:
        security_event(request, "unauthenticated", 401, f"portal sign-in: {e.detail}")
        return signin_page(request, error=e.detail, status=401)
    role = info.actor.role.value
    target = form.get("next") or ""
    if not target.startswith("/portal/") or target.startswith("/portal/signin"):
        target = "/portal/" + ("buyer" if role == "buyer" else ROLE_PAGES.get(role, ("catalog",))[-1])
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="lax", secure=is_https(request),
                        path="/", max_age=int(settings.portal_session_hours * 3600))
    response.delete_cookie(SIGNIN_COOKIE, path="/portal/signin")
    response.delete_cookie(LEGACY_KEY_COOKIE)
    return response


def _sign_out(engine: Any, session_id: str) -> None:
    with Session(engine) as s:
        close_session(s, session_id)
        s.commit()


@router.post("/signout")
def signout(request: Request) -> Response:
    """End the session on the server (its id stops working at once) and forget the cookie."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        _sign_out(request.app.state.services.engine, session_id)
    response = RedirectResponse("/portal/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(LEGACY_KEY_COOKIE)
    return response


# ------------------------------------------------------------------------------------ catalog, product

@router.get("/catalog")
def catalog(q: str = "", sector: str = "", classification: str = "", status: str = "", cursor: str = "",
            p: Page = Depends(page("catalog"))) -> Response:
    filters = {"q": q, "sector": sector, "classification": classification, "status": status}
    try:
        result = p.client.catalog(**filters, cursor=cursor or None, limit=12)
        error = None
    except ApiError as e:
        result, error = {"items": [], "next_cursor": None}, e.detail
    return p.render("catalog.html", items=result["items"], next_cursor=result.get("next_cursor"),
                    filters=filters, error=error, sectors=("agriculture", "energy", "health"))


@router.get("/products/{ref}")
def product(ref: str, p: Page = Depends(page("catalog"))) -> Response:
    prod = p.client.product(ref)
    certs = p.client.certificates(prod["id"])
    cert = certs[-1] if certs else None
    check = p.client.verify_certificate(cert["code"]) if cert else None
    offers = []
    for offer in p.client.offers(prod["id"]):
        quote = None
        if offer["tiers"] and offer["active"]:
            try:
                quote = p.client.quote(prod["id"], offer["id"], offer["tiers"][0]["min_quantity"])
            except ApiError:
                quote = None
        offers.append({"offer": offer, "quote": quote})
    return p.render("product.html", product=prod, cert=cert, check=check, offers=offers)


# ------------------------------------------------------------------------------------ buyer

def _buyer_view(p: Page, license_id: str | None, **extra: Any) -> Response:
    licenses = p.client.licenses()
    products = {pid: p.client.product(pid) for pid in {lic["product_id"] for lic in licenses}}
    chosen = next((lic for lic in licenses if lic["id"] == license_id), licenses[0] if licenses else None)
    columns: list[Json] = []
    meter = None
    if chosen:
        allowed = set(chosen["terms"].get("columns", []))
        columns = [c for c in products[chosen["product_id"]]["columns"] if c["name"] in allowed]
        meter = charts.gauge(chosen["epsilon_left"], chosen["terms"].get("epsilon"))
    result = extra.get("result")
    chart = charts.bar_chart(result["groups"]) if result else None
    default_sql = ""
    if columns:
        group = next((c["name"] for c in columns if c.get("group_by")), None)
        num = next((c["name"] for c in columns if c["type"] in ("number", "integer")), None)
        default_sql = f"SELECT COUNT(*){f', AVG({num})' if num else ''} FROM data" + (
            f" GROUP BY {group}" if group else "")
    values = {"sql": default_sql, "epsilon": "0.1", **extra.pop("values", {})}
    return p.render("buyer.html", status=extra.pop("status", 200), licenses=licenses, products=products,
                    chosen=chosen, columns=columns, gauge=meter, chart=chart, values=values, **extra)


@router.get("/buyer")
def buyer(license: str | None = None, p: Page = Depends(page("buyer"))) -> Response:
    return _buyer_view(p, license)


@router.post("/buyer/query")
def run_query(form: dict[str, str] = Depends(form_data), p: Page = Depends(page("buyer"))) -> Response:
    license_id = form.get("license_id", "")
    try:
        epsilon = float(form["epsilon"]) if form.get("epsilon") else None
    except ValueError:
        return _buyer_view(p, license_id, values=form, errors={"epsilon": "not a number"}, status=422)
    try:
        result = p.client.query(license_id, form.get("sql", ""), epsilon=epsilon)
    except ApiError as e:
        errors = field_errors(e)
        if "_" in errors:
            errors = {"sql": errors.pop("_")}
        return _buyer_view(p, license_id, values=form, errors=errors, status=e.status)
    return _buyer_view(p, license_id, values=form, result=result)


# ------------------------------------------------------------------------------------ exchange

def _exchange_view(p: Page, **extra: Any) -> Response:
    def items(status: str) -> list[Json]:
        return list(p.client.catalog_all(status=status))

    queue = items("submitted") + items("under_review")
    live = items("listed") + items("suspended")
    rejected = items("rejected")
    return p.render("exchange.html", status=extra.pop("status", 200), queue=queue, live=live, rejected=rejected,
                    checks=CHECKS, **extra)


@router.get("/exchange")
def exchange(p: Page = Depends(page("exchange"))) -> Response:
    return _exchange_view(p, errors={}, ref=None)


@router.post("/exchange/{ref}/start")
def exchange_start(ref: str, p: Page = Depends(page("exchange"))) -> Response:
    try:
        p.client.start_review(ref)
    except ApiError as e:
        return _exchange_view(p, errors=field_errors(e), ref=ref, status=e.status)
    return RedirectResponse("/portal/exchange", status_code=303)


@router.post("/exchange/{ref}/review")
def exchange_review(ref: str, form: dict[str, str] = Depends(form_data),
                    p: Page = Depends(page("exchange"))) -> Response:
    checklist = {c: c in form for c in CHECKS}
    try:
        p.client.review(ref, form.get("decision", ""), checklist, form.get("reasons", ""))
    except ApiError as e:
        return _exchange_view(p, errors=field_errors(e), ref=ref, values=form, status=e.status)
    return RedirectResponse("/portal/exchange", status_code=303)


@router.post("/exchange/{ref}/status")
def exchange_status(ref: str, form: dict[str, str] = Depends(form_data),
                    p: Page = Depends(page("exchange"))) -> Response:
    action = form.get("action", "")
    try:
        if action not in ("suspend", "relist", "delist"):
            raise ApiError(422, "invalid_input", "choose suspend, relist or delist", {"field": "action"})
        p.client.set_status(ref, action, form.get("reason", ""))
    except ApiError as e:
        return _exchange_view(p, errors=field_errors(e), ref=ref, values=form, status=e.status)
    return RedirectResponse("/portal/exchange", status_code=303)


# ------------------------------------------------------------------------------------ authority

def _authority_view(p: Page, **extra: Any) -> Response:
    accounts = {a["id"]: a for a in p.client.accounts()}
    return p.render("authority.html", status=extra.pop("status", 200), resources=p.client.resources(),
                    authorizations=p.client.authorizations(), vouchers=p.client.vouchers(), accounts=accounts,
                    buyers=[a for a in accounts.values() if a["role"] == "buyer"],
                    errors=extra.pop("errors", {}), **extra)


@router.get("/authority")
def authority(p: Page = Depends(page("authority"))) -> Response:
    return _authority_view(p, ref=None, values={})


@router.post("/authority/authorizations/{ref}/revoke")
def authority_revoke(ref: str, form: dict[str, str] = Depends(form_data),
                     p: Page = Depends(page("authority"))) -> Response:
    try:
        p.client.revoke_authorization(ref, form.get("reason", ""))
    except ApiError as e:
        return _authority_view(p, errors=field_errors(e), ref=ref, values=form, status=e.status)
    return RedirectResponse("/portal/authority", status_code=303)


@router.post("/authority/vouchers")
def authority_voucher(form: dict[str, str] = Depends(form_data), p: Page = Depends(page("authority"))) -> Response:
    try:
        amount = round(float(form.get("amount_yuan") or "0") * 100)
        days = int(form.get("days") or "0")
    except ValueError:
        return _authority_view(p, errors={"amount_fen": "not a number"}, ref="voucher", values=form, status=422)
    body = {"holder_id": form.get("holder_id", ""), "amount_fen": amount,
            "expires_at": (datetime.now(UTC) + timedelta(days=days)).isoformat(),
            "sectors": [s.strip() for s in form.get("sectors", "").split(",") if s.strip()]}
    try:
        p.client.issue_voucher(body)
    except ApiError as e:
        return _authority_view(p, errors=field_errors(e), ref="voucher", values=form, status=e.status)
    return RedirectResponse("/portal/authority", status_code=303)


# ------------------------------------------------------------------------------------ auditor

def _auditor_view(p: Page, product: str | None, **extra: Any) -> Response:
    products = sorted(p.client.catalog_all(limit=100), key=lambda x: x["code"])
    ref = product or (products[0]["code"] if products else None)
    trace = p.client.trace(ref) if ref else None
    return p.render("auditor.html", products=products, ref=ref, trace=trace, **extra)


@router.get("/auditor")
def auditor(product: str | None = None, p: Page = Depends(page("auditor"))) -> Response:
    return _auditor_view(p, product)


@router.post("/auditor/verify")
def auditor_verify(form: dict[str, str] = Depends(form_data), p: Page = Depends(page("auditor"))) -> Response:
    return _auditor_view(p, form.get("product") or None, report=p.client.verify())


@router.get("/auditor/records/{seq}")
def auditor_record(seq: int, p: Page = Depends(page("auditor"))) -> Response:
    return p.render("record.html", receipt=p.client.record(seq))
