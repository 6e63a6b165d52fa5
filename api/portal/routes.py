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
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlmodel import Session

from api.client import ApiError, Json, ProvexClient
from api.portal import account, budgets, buying, governance, operating, pages, providing, signing, vendor
from api.portal.i18n import MESSAGES, pick, translate
from api.portal.refusals import refusal_text
from api.portal.web import (
    LANG_COOKIE,
    LEGACY_KEY_COOKIE,
    ROLE_PAGES,
    SIGNIN_COOKIE,
    NotSignedIn,
    Page,
    Refused,
    WrongRole,
    back_to,
    base_context,
    form_data,
    internal_url,
    is_https,
    lang_of,
    notes_of,
    page,
    portal_router,
    root,
    see_other,
    settings_of,
    static,
    templates,
)
from api.security import security_event
from api.websecurity import SESSION_COOKIE
from registry.accounts import authenticate
from registry.errors import Unauthenticated
from registry.sessions import SessionInfo, close_session, open_session

router = portal_router()


def install(app: Any) -> None:
    """Mount the portal on the app: pages, static files, the sign-in redirects."""
    app.include_router(root)
    app.include_router(router)
    app.include_router(pages.router)
    app.include_router(buying.router)
    app.include_router(account.router)
    app.include_router(governance.router)
    app.include_router(operating.router)
    app.include_router(providing.router)
    app.include_router(signing.router)
    app.include_router(vendor.router)  # before the static mount, which would otherwise claim its path
    app.mount("/portal/static", static, name="portal-static")

    @app.exception_handler(NotSignedIn)
    async def _signin(request: Request, _: Exception) -> Response:
        if request.url.path.startswith(signing.PROXY_PREFIX + "/"):  # the signer's fetch: no page to go to
            return JSONResponse({"error": "not_signed_in", "detail": "the portal session has ended; sign in "
                                 "again"}, status_code=401)
        if request.method != "GET":  # a form posted after the session ended: its address is no page to return to
            return RedirectResponse("/portal/signin", status_code=303)
        return RedirectResponse(f"/portal/signin?{urlencode({'next': request.url.path})}", status_code=303)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        lang = lang_of(request)
        return templates.TemplateResponse(request, "error.html", {
            **base_context(request, lang), "message": refusal_text(exc.code, exc.detail, lang)}, status_code=exc.status)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        security_event(request, exc.code, 403, exc.message)
        if "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"error": exc.code, "detail": exc.message}, status_code=403)
        lang = lang_of(request)
        return templates.TemplateResponse(request, "error.html", {
            **base_context(request, lang), "message": f"{exc.code}: {exc.message}", "code": exc.code},
            status_code=403)

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


def signin_page(request: Request) -> Response:
    """The sign-in form, with its CSRF token (also in a cookie scoped to this path: a double submit); after a
    refused key (`?failed=1`) it says so."""
    lang = lang_of(request)
    token = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)
    error = translate("signin_failed", lang) if request.query_params.get("failed") else None
    response = templates.TemplateResponse(request, "signin.html", {
        **base_context(request, lang), "error": error, "next": request.query_params.get("next", ""),
        "csrf_token": token})
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
        kept = {"failed": "1", **({"next": form["next"]} if form.get("next") else {})}
        return see_other(f"/portal/signin?{urlencode(kept)}")
    role = info.actor.role.value
    home = "/portal/" + ("buyer" if role == "buyer" else ROLE_PAGES.get(role, ("catalog",))[-1])
    target = back_to(form.get("next"), home)
    if target.startswith("/portal/signin"):
        target = home
    response = see_other(target)
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
        notes_of(request).forget(session_id)
    response = see_other("/portal/signin")
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(LEGACY_KEY_COOKIE)
    return response


# Flash messages a signed act may leave (signer.js posts the form's `data-done`, else `done_saved`): every
# translated `done_*` message.
DONE_MESSAGES = frozenset(key for key in MESSAGES if key.startswith("done_"))


@router.post("/done")
def done(request: Request, form: dict[str, str] = Depends(form_data)) -> Response:
    """After a signed act went through (signer.js sent it to the API through the proxy): leave its outcome as a
    flash message and send the browser on to the GET page that shows it (`next`: the form's page)."""
    message = form.get("done", "")
    notes_of(request).flash(request.cookies.get(SESSION_COOKIE, ""),
                            message if message in DONE_MESSAGES else "done_saved")
    return see_other(back_to(form.get("next")))


# ------------------------------------------------------------------------------------ catalog, product

@router.get("/catalog")
def catalog(q: str = "", sector: str = "", classification: str = "", status: str = "", sort: str = "",
            cursor: str = "", p: Page = Depends(page("catalog"))) -> Response:
    filters = {"q": q, "sector": sector, "classification": classification, "status": status, "sort": sort}
    try:
        result = p.client.catalog(**filters, cursor=cursor or None, limit=12)
        error = None
    except ApiError as e:
        result, error = {"items": [], "next_cursor": None}, refusal_text(e.code, e.detail, p.lang)
    return p.render("catalog.html", items=result["items"], next_cursor=result.get("next_cursor"),
                    filters=filters, error=error, sectors=("agriculture", "energy", "health"))


@router.get("/notices")
def notices(request: Request) -> Response:
    """The public notices (公示), for anyone: no sign-in (the API's `GET /notices` is public)."""
    with ProvexClient(internal_url(request)) as anon:
        items = anon.notices()
    return templates.TemplateResponse(request, "notices.html",
                                      {**base_context(request, lang_of(request)), "notices": items})


@router.get("/certificates/{code}")
def certificate_file(code: str, p: Page = Depends(page("catalog"))) -> Response:
    """The registration certificate with the API's check of it against the chain, as a JSON file to keep."""
    body = {"certificate": p.client.certificate(code), "verification": p.client.verify_certificate(code)}
    return Response(json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                    media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="provex-certificate-{code}.json"'})


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
    notice = p.client.notice(prod["id"]) if prod["status"] == "in_notice" else None
    figures = budgets.product_figures(p.client, prod["id"])
    return p.render("product.html", product=prod, cert=cert, check=check, offers=offers, figures=figures,
                    reviews=_reviews(p, prod), notice=notice, revisions=_revisions(p, prod))


REVIEW_READERS = ("exchange", "authority", "auditor", "operator")


def _revisions(p: Page, prod: Json) -> list[Json] | None:
    """The product's applications (changes, corrections, cancellations) once it was approved, for the review
    readers; None otherwise."""
    if p.me["role"] not in REVIEW_READERS or prod["status"] not in ("listed", "suspended", "in_notice", "delisted"):
        return None
    try:
        return p.client.revisions(prod["id"])
    except ApiError:
        return None  # another operator's product


def _reviews(p: Page, prod: Json) -> list[Json] | None:
    """The product's review decisions with their reasons, for those the API shows them to (the exchange, the
    authority, auditors, the owning operator); None for everyone else."""
    if p.me["role"] not in REVIEW_READERS:
        return None
    try:
        return p.client.reviews(prod["id"])
    except ApiError:
        return None  # another operator's product
