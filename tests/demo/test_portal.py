"""The web portal in headless Chromium (Debian's, driven by Playwright) against the live demo. Participants act
with their own keys: each opens its demo keystore in the key page, and the browser signs (api/portal/static/
signer.js)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import expect

from api.demo.keys import DEMO_PASSPHRASE
from tests.utils.demo import SCREENSHOTS, LiveDemo


@pytest.fixture
def as_role(browser: Any, live_demo: LiveDemo) -> Iterator[Any]:
    """`as_role("buyer")` → a signed-in page (own browser context, 1280x900) with the participant's own key open
    in the tab (`key=False`: without it)."""
    contexts = []

    def sign_in(who: str, lang: str = "zh", key: bool = True) -> Any:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(ctx)
        page = ctx.new_page()
        page.goto(f"{live_demo.url}/?lang={lang}")
        page.fill("input[name=api_key]", live_demo.key(who))
        page.click("button[type=submit]")
        page.wait_for_load_state()
        if key:
            back = page.url
            open_key(page, live_demo, who)
            page.goto(back)
        return page

    yield sign_in
    for ctx in contexts:
        ctx.close()


def open_key(page: Any, live_demo: LiveDemo, who: str) -> None:
    """Open the participant's demo keystore (`<home>/demo/keystore/<who>.json`) in the key page."""
    page.goto(f"{live_demo.url}/portal/key")
    keystore = live_demo.run.home / "demo" / "keystore" / f"{who}.json"
    page.set_input_files("#key-import input[name=keyfile]", str(keystore))
    page.fill("#key-import input[name=passphrase]", DEMO_PASSPHRASE)
    page.click("#key-import button[type=submit]")
    page.wait_for_selector("[data-testid=key-address]:not(:empty)", timeout=60_000)
    assert page.locator("[data-testid=key-mismatch]").is_hidden()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_catalog_search_and_filters(as_role: Any, live_demo: LiveDemo) -> None:
    page = as_role("buyer", key=False)
    page.goto(f"{live_demo.url}/portal/catalog")
    cards = page.locator("article.product")
    codes = cards.evaluate_all("els => els.map(e => e.dataset.code)")
    ids = live_demo.run.state["ids"]
    assert ids["code_livestock"] in codes
    assert ids["code_clinics"] not in codes  # rejected: buyers never see it
    assert ids["code_electricity"] not in codes  # no provider node serves it: not listed
    shot(page, "catalog")
    page.fill("input[name=q]", "耳标 月度")  # every word must match: the ear-tag product, not the model built on it
    page.click("form.filters button")
    assert cards.count() == 1
    assert "锡林郭勒盟牲畜耳标监测" in cards.first.inner_text()
    assert "¥2,000.00" in cards.first.inner_text()
    page.goto(f"{live_demo.url}/portal/catalog?sector=agriculture")  # livestock, its model, the herder registry
    agriculture = cards.evaluate_all("els => els.map(e => e.dataset.code)")
    assert sorted(agriculture) == sorted(ids[f"code_{k}"] for k in ("livestock", "model", "herders"))
    page.goto(f"{live_demo.url}/portal/catalog?q=nothing-matches-this")
    assert cards.count() == 0 and page.locator("text=没有符合条件的产品").is_visible()


def test_product_page(as_role: Any, live_demo: LiveDemo) -> None:
    page = as_role("buyer", key=False)
    code = live_demo.run.state["ids"]["code_livestock"]
    page.goto(f"{live_demo.url}/portal/catalog")
    page.click(f"article[data-code='{code}'] h2 a")
    assert code in page.url
    cert = page.locator("#certificate")
    assert live_demo.run.state["ids"]["cert_livestock"] in cert.inner_text()
    assert "已与链上核验一致" in cert.inner_text()
    assert page.locator("table.sample tbody tr").count() >= 1
    offers = page.locator("#offers").inner_text()
    assert "¥2,000.00" in offers and "¥300.00" in offers  # quote split: each provider 15%
    shot(page, "product")


def test_query_shows_chart_and_the_budget_falls(as_role: Any, live_demo: LiveDemo) -> None:
    page = as_role("buyer")
    page.goto(f"{live_demo.url}/portal/buyer")
    before = float(page.locator("[data-testid=budget-left]").text_content())
    page.fill("textarea[name=sql]", "SELECT COUNT(*), AVG(weight_kg) FROM data GROUP BY species")
    page.fill("input[name=epsilon]", "0.1")
    page.click("#query-form button[type=submit]")
    page.wait_for_selector("#result")
    assert page.locator("svg.chart rect.c-bar").count() == 5  # one bar per species
    assert page.locator("svg.chart path.c-err").count() == 5  # each with its 95 % interval
    assert "±" in page.locator("table.result").inner_text()
    assert page.locator("table.result tbody tr").count() == 5
    after = float(page.locator("[data-testid=budget-left]").text_content())
    assert after == pytest.approx(before - 0.1, abs=0.02)
    shown = page.locator("#result").inner_text()
    assert ("(count): 3" in shown or "节点数: 3" in shown) and "xlg-east" not in shown  # how many, never which
    shot(page, "buyer-query")


def test_query_error_is_shown_next_to_the_field(as_role: Any, live_demo: LiveDemo) -> None:
    page = as_role("buyer", lang="en")
    page.goto(f"{live_demo.url}/portal/buyer")
    before = page.locator("[data-testid=budget-left]").text_content()
    page.fill("textarea[name=sql]", "SELECT MODE(weight_kg) FROM data")
    page.click("#query-form button[type=submit]")
    err = page.locator(".err[data-field=sql]")  # the signer shows the API's answer when it comes (no page load)
    expect(err).to_be_visible(timeout=30_000)
    assert "MODE" in err.inner_text()
    assert page.locator("[data-testid=budget-left]").text_content() == before  # a refused query costs nothing


def test_auditor_timeline_and_verification(as_role: Any, live_demo: LiveDemo) -> None:
    page = as_role("auditor")
    code = live_demo.run.state["ids"]["code_livestock"]
    page.goto(f"{live_demo.url}/portal/auditor?product={code}")
    kinds = page.locator("ol.timeline li").evaluate_all("els => els.map(e => e.dataset.kind)")
    for kind in ("ResourceRegistered", "AuthorizationGranted", "ProductRegistered", "ProductStatusChanged",
                 "OfferPublished", "LicensePurchased", "PaymentSplit", "query.run"):
        assert kind in kinds, kind
    assert kinds.index("ResourceRegistered") < kinds.index("ProductRegistered") < kinds.index("LicensePurchased")
    tx = page.locator("ol.timeline li[data-kind=ProductRegistered] code.tx").inner_text()
    assert tx.startswith("0x") and len(tx) == 66
    page.locator("ol.timeline li[data-kind='query.run'] a").first.click()
    assert page.locator("[data-testid=inclusion-proof] code").count() >= 1  # a record page, as fields
    page.go_back()
    page.click("#verification button")
    verdict = page.locator("[data-testid=verdict]")
    assert "一致" in verdict.inner_text()
    shot(page, "auditor")


def test_each_role_sees_only_its_pages(as_role: Any, live_demo: LiveDemo) -> None:
    expected = {"buyer": ["catalog", "negotiations", "statement", "buyer"],
                "auditor": ["catalog", "reports", "auditor"],
                "exchange": ["catalog", "reports", "statement", "exchange"],
                "authority": ["catalog", "reports", "authority"],
                "operator_xlg": ["reports", "assets", "negotiations", "statement", "catalog", "operator"],
                "provider_xlg-east": ["statement", "catalog", "provider"]}
    for who, pages in expected.items():
        page = as_role(who, key=False)
        nav = page.locator("header nav a").evaluate_all("els => els.map(e => e.dataset.page)")
        assert nav == pages, who
        for other in {"buyer", "exchange", "authority", "auditor", "operator", "provider"} - set(pages):
            r = page.goto(f"{live_demo.url}/portal/{other}")
            assert r.status == 403, (who, other)
            assert "无权访问" in page.locator("main").inner_text()
        if who in ("exchange", "authority"):
            page.goto(f"{live_demo.url}/portal/{who}")
            shot(page, who)


def test_signed_out_visitors_go_to_sign_in_and_bad_keys_are_refused(browser: Any, live_demo: LiveDemo) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(f"{live_demo.url}/portal/buyer")
    assert "/portal/signin" in page.url
    page.fill("input[name=api_key]", "pxk_not-a-real-key")
    page.click("button[type=submit]")  # refused: 303 to the sign-in page saying so (post/redirect/get)
    page.locator(".err[data-field=api_key]").wait_for(state="visible", timeout=15_000)
    assert "failed=1" in page.url
    page.goto(f"{live_demo.url}/portal/signin?lang=en")
    assert page.locator("h1").inner_text() == "Sign in"
    ctx.close()


def test_exchange_form_errors_show_next_to_the_field(as_role: Any, live_demo: LiveDemo) -> None:
    page = as_role("exchange", lang="en")
    page.goto(f"{live_demo.url}/portal/exchange")
    code = live_demo.run.state["ids"]["code_livestock"]
    row = page.locator(f"form[data-api-path='/products/{code}/{{action}}']")
    row.locator("button[value=suspend]").click()  # no reason given
    err = row.locator(".err[data-field=reason]")
    expect(err).to_be_visible(timeout=30_000)
    assert "Suspensions" in page.locator("#suspensions").inner_text()


def test_exchange_reviews_with_the_checklist(as_role: Any, live_demo: LiveDemo) -> None:
    page = as_role("exchange", lang="en")
    code = live_demo.run.state["ids"]["code_datacenters"]
    page.goto(f"{live_demo.url}/portal/exchange")
    item = page.locator(f".review[data-code='{code}']")
    item.locator("button").click()  # start review: signed, then the page loads again
    form = page.locator(f"form[data-api-path='/products/{code}/review']")
    form.wait_for(timeout=60_000)
    assert form.locator("input[type=checkbox]").count() == 5
    assert form.locator("input:checked").count() == 0  # nothing ticked and no decision until the reviewer says so
    shot(page, "exchange-review")
    form.locator("input[name=decision][value=reject]").check()
    form.locator("button[type=submit]").click()  # a rejection without reasons: said on the page, nothing sent
    expect(form.locator(".err[data-field=reasons]")).to_have_text("Write the reasons: on a rejection, the operator "
                                                                  "sees them.")
    form.locator("input[name=decision][value=approve]").check()
    for box in form.locator("input[type=checkbox]").all():
        box.check()
    form.locator("textarea[name=reasons]").fill("All five checks passed.")
    form.locator("button[type=submit]").click()  # no provider node serves the product: not listed
    expect(form.locator(".err", has_text="NoServingNode")).to_be_visible(timeout=30_000)
    page.goto(f"{live_demo.url}/portal/exchange")
    assert page.locator(f".review[data-code='{code}']").count() == 1  # still in the queue


def test_sign_out_ends_the_session_in_the_browser(as_role: Any, live_demo: LiveDemo) -> None:
    page = as_role("buyer", lang="en")
    cookie = next(c for c in page.context.cookies() if c["name"] == "provex_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["value"].startswith("pxs_")
    assert cookie["value"] != live_demo.key("buyer")
    assert not any(c["name"] == "provex_key" for c in page.context.cookies())
    assert page.evaluate("sessionStorage.length") == 1  # the key, in this tab
    page.click("header form.signout button")
    page.wait_for_url("**/portal/signin")
    assert page.evaluate("sessionStorage.length") == 0  # signing out forgets it
    assert not any(c["name"] == "provex_session" for c in page.context.cookies())
    page.context.add_cookies([cookie])  # the old id, put back: the server no longer knows it
    page.goto(f"{live_demo.url}/portal/buyer")
    assert "/portal/signin" in page.url


def test_pages_run_under_the_content_security_policy(as_role: Any, live_demo: LiveDemo) -> None:
    page = as_role("buyer", lang="en")
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    code = live_demo.run.state["ids"]["code_livestock"]
    for path in ("/portal/key", "/portal/catalog", "/portal/buyer", f"/portal/products/{code}"):
        r = page.goto(f"{live_demo.url}{path}")
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert page.locator("#certificate svg.track rect.t-fill").count() == 3  # quality meters, no inline style
    shot(page, "product-meters")
    assert violations == []


class _Attacker(BaseHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *_: Any) -> None:
        pass


def test_a_page_on_another_port_cannot_post_through_a_signed_in_browser(as_role: Any, live_demo: LiveDemo) -> None:
    """The attack that worked before: same host, another port (same site, so a Lax cookie goes along)."""
    page = as_role("authority", lang="en", key=False)
    row = page.locator("tr[data-code]:has(form)").first
    code = row.get_attribute("data-code")
    _Attacker.page = (f'<form method="post" action="{live_demo.url}/portal/api/authorizations/{code}/revoke">'
                      f'<input name="reason" value="forged"><button type="submit">win a prize</button></form>').encode()
    attacker = ThreadingHTTPServer(("127.0.0.1", 0), _Attacker)  # binds a free port itself
    thread = threading.Thread(target=attacker.serve_forever, daemon=True)
    thread.start()
    try:
        page.goto(f"http://127.0.0.1:{attacker.server_address[1]}/")
        with page.expect_navigation():
            page.click("button")
        assert "cross_origin_request" in page.locator("main").inner_text()
        assert f"127.0.0.1:{attacker.server_address[1]}" in page.locator("main").inner_text()
    finally:
        attacker.shutdown()
        attacker.server_close()
    page.goto(f"{live_demo.url}/portal/authority")
    assert page.locator(f"tr[data-code='{code}'] form[data-api-path$='/revoke']").count() == 1  # nothing revoked
