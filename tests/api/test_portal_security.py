"""Portal sessions over real HTTP: a server-side session id (not the API key) that sign-out and key changes end,
same-origin and CSRF checks on every form post and on the signing proxy, cookie flags, and security headers on
every response."""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from api.client.signer import sign_forward
from api.portal.i18n import DEFAULT as DEFAULT_LANG
from api.portal.refusals import refusal_text
from ledger.anvil import free_port
from ledger.statements import RequestStatement, body_hash, new_nonce, sign, statement_domain
from tests.utils.builders import authorized
from tests.utils.common import repo_root
from tests.utils.server import Server

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PROXY = "/portal/api"
HTML = {"Accept": "text/html,application/xhtml+xml"}


class Browser:
    """A cookie-keeping HTTP client that posts forms as the portal's pages do (Origin = the portal)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, headers=HTML, timeout=60)
        self.csrf = ""

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_: Any) -> None:
        self.http.close()

    @property
    def session_id(self) -> str:
        return str(self.http.cookies.get("provex_session", path="/"))

    def sign_in(self, key: str) -> httpx.Response:
        form = self.http.get("/portal/signin")
        token = TOKEN.search(form.text)
        assert token, form.text
        r = self.http.post("/portal/signin", data={"api_key": key, "csrf_token": token.group(1)},
                           headers={"Origin": self.server.url})
        assert r.status_code == 303, r.text
        page = self.http.get(r.headers["location"])
        assert page.status_code == 200, page.text
        found = TOKEN.search(page.text)
        assert found, page.text
        self.csrf = found.group(1)
        return r

    def post(self, path: str, data: dict[str, str] | None = None, *, origin: str | None = "self",
             csrf: str | None = "self", headers: dict[str, str] | None = None) -> httpx.Response:
        body = dict(data or {})
        if csrf is not None:
            body["csrf_token"] = self.csrf if csrf == "self" else csrf
        extra = dict(headers or {})
        if origin is not None:
            extra["Origin"] = self.server.url if origin == "self" else origin
        return self.http.post(path, data=body, headers=extra)

    def api(self, path: str, body: Any = None, *, origin: str | None = "self", csrf: str | None = "self",
            headers: dict[str, str] | None = None) -> httpx.Response:
        """An act as signer.js sends it: JSON through the portal's proxy, the CSRF token in a header."""
        extra = {"Content-Type": "application/json", "Accept": "*/*"}
        if csrf is not None:
            extra["X-CSRF-Token"] = self.csrf if csrf == "self" else csrf
        if origin is not None:
            extra["Origin"] = self.server.url if origin == "self" else origin
        text = json.dumps(body if body is not None else {}, separators=(",", ":"))
        return self.http.post(PROXY + path, content=text.encode(), headers={**extra, **(headers or {})})


def signed_act(b: Browser, role: str, path: str, body: Any, headers: dict[str, str] | None = None,
               **kw: Any) -> httpx.Response:
    """An act through the proxy as signer.js sends it: its statement signed with the role's own key, and a
    `428 signature_required` answered with the chain acts signed."""
    account = b.server.accounts[role]
    text = json.dumps(body, separators=(",", ":")).encode()
    statement = RequestStatement(account.address, "POST", path, body_hash(text), new_nonce(), int(time.time()) + 600)
    signed = {"Provex-Signer": account.address, "Provex-Nonce": statement.nonce,
              "Provex-Deadline": str(statement.deadline),
              "Provex-Signature": sign(account, statement_domain(b.server.ledger.deployment), statement),
              **(headers or {})}
    r = b.api(path, body, headers=signed, **kw)
    if r.status_code == 428:
        r = b.api(path, body, headers={**signed, "Provex-Forward": sign_forward(account, r.json()["requests"])},
                  **kw)
    return r


def other_origin(server: Server) -> str:
    """A page on another port of the same host, as an attacker's site would be."""
    return f"http://127.0.0.1:{free_port()}"


def authorization_status(server: Server, authz_id: str) -> str:
    with server.client("authority") as c:
        return str(c.get(f"/authorizations/{authz_id}").json()["status"])


def test_signing_in_keeps_a_session_id_not_the_api_key(server: Server) -> None:
    with Browser(server) as b:
        r = b.sign_in(server.keys["auditor"])
        sid = b.session_id
        raw = next(v for v in r.headers.get_list("set-cookie") if v.startswith("provex_session="))
        assert sid.startswith("pxs_") and server.keys["auditor"] not in str(r.headers)
        assert SimpleCookie(raw)["provex_session"]["path"] == "/"
        raw = raw.lower()
        assert "httponly" in raw and "samesite=lax" in raw and "secure" not in raw  # plain http here
        with server.db().connect() as conn:
            rows = conn.execute(sa.text("SELECT id_hash, account_id FROM portal_sessions")).all()
        assert (hashlib.sha256(sid.encode()).hexdigest(), server.ids["auditor"]) in [tuple(x) for x in rows]
        assert all(sid not in str(row) for row in rows)  # stored hashed only
        with server.client() as api:  # the portal calls the API with the session, as the account
            me = api.get("/accounts/me", headers={"Authorization": f"Session {sid}"}).json()
        assert me["id"] == server.ids["auditor"]


def test_sign_out_revokes_the_session_on_the_server(server: Server) -> None:
    with Browser(server) as b:
        b.sign_in(server.keys["buyer"])
        sid = b.session_id
        assert b.http.get("/portal/catalog").status_code == 200
        r = b.post("/portal/signout")
        assert r.status_code == 303 and r.headers["location"] == "/portal/signin"
    with httpx.Client(base_url=server.url, cookies={"provex_session": sid}) as replay:  # the old id, kept aside
        r = replay.get("/portal/catalog")
        assert r.status_code == 303 and r.headers["location"].startswith("/portal/signin")
        api = replay.get("/accounts/me", headers={"Authorization": f"Session {sid}"})
        assert api.status_code == 401 and "signed out" in api.json()["detail"]
    with server.db().connect() as conn:
        left = conn.execute(sa.text("SELECT count(*) FROM portal_sessions WHERE id_hash = :h"),
                            {"h": hashlib.sha256(sid.encode()).hexdigest()}).scalar_one()
    assert left == 0


def test_an_expired_session_or_a_revoked_key_ends_the_session(server: Server) -> None:
    acct = server.onboard("buyer", f"portal {uuid.uuid4().hex[:6]}")
    with Browser(server) as b, Browser(server) as c:
        b.sign_in(server.keys["auditor"])
        with server.db().begin() as conn:
            conn.execute(sa.text("UPDATE portal_sessions SET expires_at = :t WHERE id_hash = :h"),
                         {"t": "2000-01-01 00:00:00", "h": hashlib.sha256(b.session_id.encode()).hexdigest()})
        r = b.http.get("/portal/auditor")
        assert r.status_code == 303 and "/portal/signin" in r.headers["location"]
        c.sign_in(acct["api_key"])
        assert c.http.get("/portal/catalog").status_code == 200
        with server.client("exchange") as ex:
            assert ex.post(f"/accounts/{acct['id']}/revoke-key").status_code == 200
        r = c.http.get("/portal/catalog")
        assert r.status_code == 303 and "/portal/signin" in r.headers["location"]


def test_a_cross_origin_act_is_refused(server: Server) -> None:
    authz = authorized(server)
    attacker = other_origin(server)
    path = f"/authorizations/{authz['code']}/revoke"
    with Browser(server) as b:
        b.sign_in(server.keys["authority"])
        r = b.post(PROXY + path, {"reason": "forged"}, origin=attacker)  # an attacker's form, even with the token
        assert r.status_code == 403
        assert 'data-error="cross_origin_request"' in r.text and attacker in r.text
        r = b.api(path, {"reason": "forged"}, origin=attacker)  # as a script would send it
        assert r.status_code == 403 and r.json()["error"] == "cross_origin_request"
        assert attacker in r.json()["detail"] and server.url in r.json()["detail"]
        r = b.api(path, {"reason": "forged"}, origin=None, headers={"Referer": attacker + "/evil.html"})
        assert r.status_code == 403 and "Referer" in r.json()["detail"]
        r = b.api(path, {"reason": "forged"}, origin=None)  # neither Origin nor Referer
        assert r.status_code == 403 and "no Origin or Referer" in r.json()["detail"]
        r = b.api(path, {"reason": "forged"}, origin="null")
        assert r.status_code == 403
        assert authorization_status(server, authz["id"]) == "active"
        r = signed_act(b, "authority", path, {"reason": "genuine"}, origin=None,
                       headers={"Referer": server.url + "/portal/authority"})
        assert r.status_code == 200, r.text  # the site's own page, named by Referer only
    assert authorization_status(server, authz["id"]) == "revoked"
    with Browser(server) as b:  # signing in from another site is refused too (login CSRF)
        token = TOKEN.search(b.http.get("/portal/signin").text)
        assert token
        r = b.http.post("/portal/signin", data={"api_key": server.keys["buyer"], "csrf_token": token.group(1)},
                        headers={"Origin": attacker})
        assert r.status_code == 403 and "provex_session" not in r.headers.get("set-cookie", "")


def test_an_act_without_this_sessions_csrf_token_is_refused(server: Server) -> None:
    authz = authorized(server)
    path = f"/authorizations/{authz['code']}/revoke"
    with Browser(server) as b, Browser(server) as other:
        b.sign_in(server.keys["authority"])
        other.sign_in(server.keys["authority"])
        assert other.csrf != b.csrf
        r = b.api(path, {"reason": "no token"}, csrf=None)
        assert r.status_code == 403 and r.json()["error"] == "csrf_token_missing"
        r = b.api(path, {"reason": "wrong token"}, csrf="not-the-token")
        assert r.status_code == 403 and r.json()["error"] == "csrf_token_invalid"
        r = b.api(path, {"reason": "another session's token"}, csrf=other.csrf)
        assert r.status_code == 403 and r.json()["error"] == "csrf_token_invalid"
        r = b.post("/portal/signout", csrf=None)  # sign-out is a form too
        assert r.status_code == 403
        assert authorization_status(server, authz["id"]) == "active"
        assert signed_act(b, "authority", path, {"reason": "with the token"}).status_code == 200
    assert authorization_status(server, authz["id"]) == "revoked"
    with Browser(server) as b:  # the sign-in form's token must match its cookie
        b.http.get("/portal/signin")
        r = b.http.post("/portal/signin", data={"api_key": server.keys["buyer"], "csrf_token": "forged"},
                        headers={"Origin": server.url})
        assert r.status_code == 403 and 'data-error="csrf_token_invalid"' in r.text


def test_the_proxy_answers_as_the_api_does_and_only_as_the_session(server: Server) -> None:
    bad = {"holder_id": "", "amount_fen": -1}
    with Browser(server) as b:
        b.sign_in(server.keys["authority"])
        via_portal = b.api("/vouchers", bad, headers={"Provex-Signature": "0x00"})
        with server.client() as api:
            direct = api.post("/vouchers", content=json.dumps(bad, separators=(",", ":")).encode(),
                              headers={"Authorization": f"Session {b.session_id}", "Provex-Signature": "0x00",
                                       "Content-Type": "application/json"})
        assert via_portal.status_code == direct.status_code >= 400
        said, api_said = via_portal.json(), direct.json()  # the API's answer, and its meaning in the page's language
        assert said.pop("message") == refusal_text(api_said["error"], api_said["detail"], DEFAULT_LANG)
        assert said == api_said
        assert via_portal.headers["content-type"] == direct.headers["content-type"]
        r = b.api("/accounts", {"role": "buyer", "name": "smuggled"},  # a header cannot change who calls
                  headers={"Authorization": f"Bearer {server.keys['exchange']}"})
        assert r.status_code in (401, 403), r.text
        for path in ("/portal/signout", "/", "/%2e%2e/portal/signout"):
            r = b.api(path)
            assert r.status_code == 404 and r.json()["error"] == "not_found", path
        assert b.http.get(PROXY + "/health").status_code == 405
    with httpx.Client(base_url=server.url) as anonymous:
        r = anonymous.post(PROXY + "/vouchers", json={}, headers={"Origin": server.url, "X-CSRF-Token": "x"})
        assert r.status_code == 401 and r.json()["error"] == "not_signed_in"


def test_cookie_requests_never_share_an_idempotency_scope(server: Server) -> None:
    """The portal takes no part in Idempotency-Key (its proxy does not pass it on); API calls carrying only a
    cookie are not authenticated."""
    key = {"Idempotency-Key": str(uuid.uuid4())}
    with Browser(server) as auditor, Browser(server) as buyer:
        auditor.sign_in(server.keys["auditor"])
        buyer.sign_in(server.keys["buyer"])
        for _ in range(2):
            r = signed_act(auditor, "auditor", "/audit/verify", {}, headers=key)
            assert r.status_code == 200 and "ok" in r.json() and "idempotent-replayed" not in r.headers
        other = buyer.api("/audit/verify", {}, headers=key)  # same key, another signed-in account
        assert other.status_code in (401, 403) and "idempotent-replayed" not in other.headers
        for browser in (auditor, buyer):  # the cookie alone is no API credential: 401, never a replay
            r = browser.http.post("/authorizations/sweep-expired", headers={**key, "Accept": "application/json"})
            assert r.status_code == 401 and "idempotent-replayed" not in r.headers


def test_https_cookies_are_secure_and_https_gets_hsts(server: Server) -> None:
    """Behind a TLS proxy on this host (uvicorn trusts X-Forwarded-Proto from 127.0.0.1)."""
    https_origin = server.url.replace("http://", "https://")
    proto = {"X-Forwarded-Proto": "https"}
    with httpx.Client(base_url=server.url, headers={**HTML, **proto}, timeout=30) as c:
        form = c.get("/portal/signin")
        assert form.headers["strict-transport-security"].startswith("max-age=")
        assert "secure" in form.headers["set-cookie"].lower()
        token = TOKEN.search(form.text)
        assert token
        signin_cookie = SimpleCookie(form.headers["set-cookie"])["provex_signin"].value
        r = c.post("/portal/signin", data={"api_key": server.keys["buyer"], "csrf_token": token.group(1)},
                   headers={"Origin": https_origin, "Cookie": f"provex_signin={signin_cookie}"})
        assert r.status_code == 303, r.text
        session_cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith("provex_session="))
        assert "secure" in session_cookie.lower() and "httponly" in session_cookie.lower()
        r = c.post("/portal/signin", data={"api_key": "x", "csrf_token": "x"}, headers={"Origin": server.url})
        assert r.status_code == 403  # http:// is another origin than the https:// site
    with httpx.Client(base_url=server.url) as plain:
        assert "strict-transport-security" not in plain.get("/health").headers


@pytest.mark.parametrize("path", ["/health", "/portal/signin", "/portal/static/portal.css", "/no-such-route",
                                  "/portal/static/signer.js", "/portal/static/vendor/ethers.umd.min.js",
                                  "/openapi.json", "/portal/catalog", "/certificates/none"])
def test_security_headers_on_every_response(server: Server, path: str) -> None:
    with server.client() as c:
        r = c.get(path)
    csp = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and directives["default-src"] == "'none'"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "camera=()" in r.headers["permissions-policy"]
    assert r.headers["cross-origin-opener-policy"] == "same-origin"


def test_the_api_docs_allow_only_their_own_inline_script(server: Server) -> None:
    with server.client() as c:
        r = c.get("/docs")
    assert r.status_code == 200
    script_src = next(d for d in r.headers["content-security-policy"].split(";") if "script-src" in d)
    assert "'sha256-" in script_src and "unsafe-inline" not in script_src
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_portal_templates_have_no_inline_script_or_style() -> None:
    """The CSP forbids them; keep the templates free of <script> bodies, on* handlers and style attributes. A form
    either reads (GET), posts to the portal with the CSRF token (sign-in, sign-out), or is an act that signer.js
    signs (`data-api-path`, no method or action of its own)."""
    folder: Path = repo_root() / "api" / "portal" / "templates"
    for template in folder.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert not re.search(r"\sstyle\s*=", text), template.name
        for form in re.findall(r"<form[^>]*>.*?</form>", text, re.DOTALL):
            tag = form[:form.index(">") + 1]
            if 'method="post"' in tag:
                assert 'name="csrf_token"' in form and "data-api-path" not in tag, (template.name, tag)
                assert re.search(r'action="/portal/(signin|signout)"', tag), (template.name, tag)
            elif "data-api-path" in tag:
                assert "action=" not in tag and not re.search(r"\smethod=", tag), (template.name, tag)
