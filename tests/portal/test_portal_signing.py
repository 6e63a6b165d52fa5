"""Participants act through the portal with their own keys, in headless Chromium against a real API server: the
keystore is opened in the key page, each form is signed in the browser and sent through the portal's proxy, and
the API (and the chain) record the participant's own address."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from api.portal.i18n import translate
from ledger.contracts import ProductStatus
from ledger.ids import chain_id_of
from tests.utils.browser import PASSPHRASE, write_keystore
from tests.utils.builders import authorized, make_product
from tests.utils.demo import SCREENSHOTS
from tests.utils.queries import (
    QueryEnv,
    buy_license,
    license_state,
    listed_product,
    register_nodes,
    start_nodes,
    write_data,
)
from tests.utils.server import Server

OpenPortal = Callable[..., Any]


@pytest.fixture
def sqlite_server(servers: dict[str, Server]) -> Server:
    """The portal does not depend on the database: one backend is enough here."""
    return servers["sqlite"]


def keystore_of(server: Server, role: str, folder: Path) -> tuple[Path, str]:
    """The role's own key as a keyfile v3 (as `provex keys new` writes it), and its address."""
    account = server.accounts[role]
    return write_keystore(folder, account), account.address


def open_key(page: Any, url: str, keystore: Path, passphrase: str) -> None:
    page.goto(f"{url}/portal/key")
    page.set_input_files("#key-import input[name=keyfile]", str(keystore))
    page.fill("#key-import input[name=passphrase]", passphrase)
    page.click("#key-import button[type=submit]")
    page.wait_for_selector("[data-testid=key-address]:not(:empty), [data-testid=key-status].err", timeout=60_000)


@pytest.fixture
def portal(browser: Any, sqlite_server: Server, tmp_path: Path) -> Iterator[OpenPortal]:
    """`portal("authority")` → a page signed in as the role with its key open in the tab (English)."""
    contexts = []

    def open_as(role: str, with_key: bool = True) -> Any:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(ctx)
        page = ctx.new_page()
        page.csp_violations = []
        page.on("console", lambda m: page.csp_violations.append(m.text)
                if "Content Security Policy" in m.text else None)
        page.goto(f"{sqlite_server.url}/portal/signin?lang=en")
        page.fill("input[name=api_key]", sqlite_server.keys[role])
        page.click("button[type=submit]")
        page.wait_for_load_state()
        if with_key:
            path, address = keystore_of(sqlite_server, role, tmp_path)
            open_key(page, sqlite_server.url, path, PASSPHRASE)
            assert page.locator("[data-testid=key-address]").inner_text() == address
            assert page.locator("[data-testid=key-mismatch]").is_hidden()
        return page

    yield open_as
    for ctx in contexts:
        ctx.close()


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def api_get(server: Server, role: str, path: str) -> Any:
    with server.client(role) as c:
        r = c.get(path)
        assert r.status_code == 200, r.text
        return r.json()


def wait_for(check: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)
    return value


def forwarded_for(server: Server, event: str, contract: str = "DataRegistry", **filters: Any) -> list[str]:
    """Whose signed requests the forwarder executed in the transaction that emitted `contract`'s `event`."""
    found = wait_for(lambda: server.ledger.find_events(contract, event, **filters))
    executed = server.ledger.find_events("ProvexForwarder", "ExecutedForwardRequest")
    return [str(e.args["signer"]) for e in executed if e.tx_hash == found[-1].tx_hash and e.args["success"]]


def switch_language(page: Any, lang: str) -> None:
    """Click the header's language link and wait until the page it loads is in that language."""
    page.click(f"header .langs a[data-lang={lang}]")
    page.wait_for_function(f"() => document.documentElement.lang === '{'zh-CN' if lang == 'zh' else 'en'}'")
    page.wait_for_load_state()


def submit_and_reload(page: Any, form: Any) -> None:
    """Submit a signed form and wait for the page it goes to; an error shown instead fails with its text."""
    page.evaluate("window.beforeSubmit = true")
    form.locator("button[type=submit]").click()
    page.wait_for_function("() => !window.beforeSubmit || document.querySelector('.err[data-signer]')",
                           timeout=60_000)
    page.wait_for_load_state()
    errors = page.locator(".err[data-signer]")
    assert errors.count() == 0, errors.all_inner_texts()


def test_an_authority_revokes_and_issues_a_voucher_with_its_own_key(portal: OpenPortal,
                                                                     sqlite_server: Server) -> None:
    server = sqlite_server
    authz = authorized(server)
    page = portal("authority")
    page.goto(f"{server.url}/portal/authority")
    row = page.locator(f"tr[data-code='{authz['code']}'] form[data-api-path$='/revoke']")
    row.locator("input[name=reason]").fill("withdrawn by the bureau")
    row.locator("button").click()
    page.wait_for_selector(f"tr[data-code='{authz['code']}'] .b-revoked")
    assert page.url.endswith("/portal/authority")  # the act's POST redirected to the page, which says what happened
    assert page.locator("[data-testid=flash]").inner_text() == "The authorization is revoked."
    revoked = api_get(server, "authority", f"/authorizations/{authz['id']}")
    assert revoked["status"] == "revoked" and revoked["revoked_reason"] == "withdrawn by the bureau"
    assert forwarded_for(server, "AuthorizationRevoked", authorizationId=chain_id_of(authz["id"])) == [
        server.accounts["authority"].address]  # relayed, but the chain names the authority as the signer

    with server.client("exchange") as ex:  # the authority funds vouchers from its own balance
        assert ex.post("/dev/mint", json={"account_id": server.ids["authority"], "amount_fen": 5000}).is_success
    # and lets Settlement draw on it (its own transaction: the voucher act asks for no approval of its own)
    server.ledger.send(server.accounts["authority"], server.ledger.acts.approve_settlement())
    form = page.locator("#programme-form")  # vouchers are issued under a programme, created with the same key
    form.locator("input[name=name]").fill("portal programme")
    form.locator("select[name=holder_ids]").select_option([server.ids["buyer"]])
    submit_and_reload(page, form)
    programme = next(g for g in api_get(server, "authority", "/voucher-programmes") if g["name"] == "portal programme")
    assert (programme["annual_budget_fen"], programme["max_share_bps"]) == (5_000_000_000, 3000)
    assert page.locator(f"tr[data-programme='{programme['id']}']").count() == 1
    form = page.locator("#voucher-form")
    form.locator("select[name=programme_id]").select_option(programme["id"])
    form.locator("select[name=holder_id]").select_option(server.ids["buyer"])
    form.locator("input[name=amount_yuan]").fill("oops")
    form.locator("button[type=submit]").click()
    assert form.locator(".err[data-field=amount_fen]").inner_text() == "not a number"
    form.locator("input[name=amount_yuan]").fill("12.34")
    form.locator("select[name=sectors]").select_option(["agriculture", "energy"])
    submit_and_reload(page, form)
    voucher = next(v for v in api_get(server, "authority", "/vouchers")
                   if v["holder_id"] == server.ids["buyer"] and v["amount_fen"] == 1234)
    assert voucher["sectors"] == ["agriculture", "energy"] and voucher["programme_id"] == programme["id"]
    switch_language(page, "zh")  # the same authority, signing in Chinese
    form = page.locator("#public-welfare-form")  # names a buyer for free public-welfare use, on chain
    form.locator("select[name=account_id]").select_option(server.ids["buyer"])
    form.locator("button[type=submit]").click()
    assert form.locator(".err").first.inner_text() == "请填写原因。"
    form.locator("input[name=reason]").fill("county emergency bureau")
    submit_and_reload(page, form)
    named = {u["account_id"]: u for u in api_get(server, "authority", "/public-welfare-users")}
    assert named[server.ids["buyer"]]["eligible"] and named[server.ids["buyer"]]["chain"]["state"] == "confirmed"
    assert forwarded_for(server, "PublicWelfareUserSet", "Settlement", user=server.accounts["buyer"].address) == [
        server.accounts["authority"].address]
    assert page.locator("[data-testid=flash]").inner_text() == translate("done_public_welfare", "zh")
    shot(page, "portal-signed-authority-zh")
    assert page.csp_violations == []


def test_an_exchange_reviews_a_product_with_its_own_key(portal: OpenPortal, sqlite_server: Server) -> None:
    server = sqlite_server
    product = make_product(server, stage="submitted")
    page = portal("exchange")
    page.goto(f"{server.url}/portal/exchange")
    item = page.locator(f".review[data-code='{product['code']}']")
    item.locator("button").click()  # start the review
    form = page.locator(f".review[data-code='{product['code']}'] form.checklist")
    form.wait_for()
    assert page.locator("[data-testid=flash]").inner_text().startswith("Review started")
    assert form.locator("input[type=checkbox]").count() == 5
    assert form.locator("input:checked").count() == 0  # nothing ticked, no decision taken for the reviewer
    form.locator("button[type=submit]").click()  # no decision
    assert form.locator(".err[data-field=decision]").inner_text() == "Choose approve or reject."
    form.locator("input[name=decision][value=reject]").check()
    form.locator("button[type=submit]").click()  # a rejection without reasons
    assert form.locator(".err[data-field=reasons]").inner_text() == "Write the reasons: on a rejection, the " \
        "operator sees them."
    form.locator("input[name=decision][value=approve]").check()
    for check in ("lawful_source", "valid_authorization", "classification_consistent",
                  "personal_information_removed"):
        form.locator(f"input[name={check}]").check()
    form.locator("textarea[name=reasons]").fill("All five checks passed.")
    form.locator("button[type=submit]").click()  # approving with a check open: the API refuses, said in English
    note = form.locator(".err[data-field=sample_synthetic]")
    note.wait_for(timeout=60_000)
    assert note.inner_text() == "Check and tick this item before approving."
    assert api_get(server, "exchange", f"/products/{product['id']}")["status"] == "under_review"
    form.locator("input[name=sample_synthetic]").check()
    form.locator("button[type=submit]").click()  # approved: into the public notice (zero-length on test servers)
    notice = page.locator(f".notice[data-code='{product['code']}']")
    notice.wait_for()
    assert api_get(server, "exchange", f"/products/{product['id']}")["status"] == "in_notice"
    notice.locator("button").click()  # the notice has ended with no objection: list it
    page.wait_for_selector(f"form[data-api-path='/products/{product['code']}/{{action}}']")
    listed = api_get(server, "exchange", f"/products/{product['id']}")
    assert listed["status"] == "listed"
    reviews = api_get(server, "exchange", f"/products/{product['id']}/reviews")
    assert reviews[-1]["decision"] == "approve" and all(reviews[-1]["checklist"].values())
    listing = wait_for(lambda: [e for e in server.ledger.find_events(
        "DataRegistry", "ProductStatusChanged", productId=chain_id_of(product["id"]))
        if e.args["toStatus"] == ProductStatus.LISTED])
    assert listing[0].args["actor"] == server.accounts["exchange"].address  # the chain names the exchange itself
    shot(page, "portal-signed-exchange")
    assert page.csp_violations == []


def test_without_a_key_a_form_says_so_and_sends_nothing(portal: OpenPortal, sqlite_server: Server) -> None:
    server = sqlite_server
    authz = authorized(server)
    page = portal("authority", with_key=False)
    page.goto(f"{server.url}/portal/authority")
    assert page.locator("#key-link").get_attribute("data-key-state") == "none"
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/portal/api/" in r.url else None)
    row = page.locator(f"tr[data-code='{authz['code']}'] form[data-api-path$='/revoke']")
    row.locator("button").click()
    note = row.locator(".err[data-signer]")
    assert "Signing key page" in note.inner_text() and note.locator("a").get_attribute("href") == "/portal/key"
    assert sent == [] and api_get(server, "authority", f"/authorizations/{authz['id']}")["status"] == "active"


def test_a_key_of_another_address_is_flagged_and_forgotten(portal: OpenPortal, sqlite_server: Server,
                                                           tmp_path: Path) -> None:
    server = sqlite_server
    page = portal("authority", with_key=False)
    other, address = keystore_of(server, "buyer", tmp_path)
    open_key(page, server.url, other, "not the passphrase")
    assert "incorrect password" in page.locator("[data-testid=key-status]").inner_text()
    assert page.locator("[data-testid=key-address]").is_hidden()
    open_key(page, server.url, other, PASSPHRASE)
    assert page.locator("[data-testid=key-address]").inner_text() == address
    assert page.locator("[data-testid=key-mismatch]").is_visible()
    stored = json.loads(page.evaluate("sessionStorage.getItem('provex.key')"))
    assert stored["address"] == address
    page.click("#key-forget")
    assert page.evaluate("sessionStorage.length") == 0
    assert page.locator("[data-testid=key-address]").is_hidden()


def test_an_auditor_verifies_and_the_portal_draws_the_report(portal: OpenPortal, sqlite_server: Server) -> None:
    """An act whose answer is drawn: signer.js posts the API's report to /portal/auditor/report."""
    page = portal("auditor")
    page.goto(f"{sqlite_server.url}/portal/auditor")
    page.click("#verification button")
    verdict = page.locator("[data-testid=verdict]")
    verdict.wait_for(timeout=60_000)
    assert "records" in verdict.inner_text() and "verdict ok" in verdict.evaluate("e => e.className")
    assert "/portal/auditor/reports/" in page.url  # the report's own page: a reload shows it again
    report_page = page.url
    page.reload()
    assert "records" in verdict.inner_text()
    switch_language(page, "zh")
    assert page.url.startswith(report_page) and "一致" in verdict.inner_text()  # the same report, in Chinese
    assert page.csp_violations == []


def test_a_buyer_queries_and_the_portal_draws_the_result(portal: OpenPortal, sqlite_server: Server,
                                                         tmp_path: Path) -> None:
    """A signed query (one real provider node): the answer is drawn, the budget falls; a refusal shows at the SQL."""
    env = QueryEnv(sqlite_server)
    nodes = start_nodes(sqlite_server, {"portal-node": write_data(tmp_path / "p.csv", 120, seed=7)}, tmp_path)
    try:
        register_nodes(env, nodes)
        with sqlite_server.client("exchange") as ex:
            assert ex.post("/dev/mint", json={"account_id": sqlite_server.ids["buyer"], "amount_fen": 10**6}).is_success
        lic = buy_license(env, listed_product(env, ["portal-node"]), epsilon=2.0)
        page = portal("buyer")
        page.goto(f"{sqlite_server.url}/portal/buyer?license={lic['id']}")
        page.fill("textarea[name=sql]", "SELECT COUNT(*), AVG(income) FROM data GROUP BY region")
        page.fill("input[name=epsilon]", "0.25")
        page.click("#query-form button[type=submit]")
        page.locator("#result").wait_for(timeout=60_000)
        assert page.locator("svg.chart rect.c-bar").count() == 4 and page.locator("table.result tbody tr").count() == 4
        assert float(page.locator("[data-testid=budget-left]").text_content()) == pytest.approx(1.75, abs=0.01)
        assert license_state(env, lic["id"])["epsilon_left"] == pytest.approx(1.75, abs=0.01)
        assert "/portal/buyer/results/" in page.url  # the result's own page (post/redirect/get)
        page.reload()  # shows the result again: nothing is run, nothing spent
        assert page.locator("table.result tbody tr").count() == 4
        switch_language(page, "zh")  # the language switch keeps the result page
        assert "/portal/buyer/results/" in page.url and page.locator("#result h2").inner_text() == "查询结果"
        switch_language(page, "en")
        assert license_state(env, lic["id"])["epsilon_left"] == pytest.approx(1.75, abs=0.01)
        page.fill("textarea[name=sql]", "SELECT MODE(income) FROM data")
        page.click("#query-form button[type=submit]")
        assert "MODE" in page.locator("#query-form .err[data-field=sql]").inner_text()
        assert license_state(env, lic["id"])["epsilon_left"] == pytest.approx(1.75, abs=0.01)  # refused: free
        shot(page, "portal-signed-query")
        assert page.csp_violations == []
    finally:
        for node in nodes.values():
            node.kill()
