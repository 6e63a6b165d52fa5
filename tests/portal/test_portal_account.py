"""A participant's account in the portal, in headless Chromium against a real API server: the buyer refunds a license
and reads its statement (zh), and buyer and operator negotiate a price to a private offer, each act signed in the
browser with the participant's own key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.portal.test_portal_signing import (
    OpenPortal,
    api_get,
    portal,
    shot,
    sqlite_server,
    submit_and_reload,
    switch_language,
)
from tests.utils.server import Server
from tests.utils.trading import bought, listed_product, make_offer, mint

__all__ = ["portal", "sqlite_server"]
RAW = ('{"', '":', "None", "ng_", "st_", "done_")  # raw JSON or an untranslated message key on a page


def assert_clean(page: Any) -> None:
    text = page.locator("main").inner_text()
    assert not [m for m in RAW if m in text], text


def test_a_buyer_refunds_a_license_and_reads_the_statement(portal: OpenPortal, sqlite_server: Server) -> None:
    server = sqlite_server
    product = listed_product(server)
    offer = make_offer(server, product, "one_off", [(1, 700)], refund_window_seconds=600)
    mint(server, server.ids["buyer"], 5_000)
    lic = bought(server, {"id": server.ids["buyer"], "api_key": server.keys["buyer"]}, offer)
    page = portal("buyer")
    page.goto(f"{server.url}/portal/buyer/licenses")
    card = page.locator(f"#license-{lic['id']}")
    submit_and_reload(page, card.locator("form.refund"))
    assert page.locator("[data-testid=flash]").inner_text() == "The license is refunded to your balance."
    assert api_get(server, "buyer", f"/licenses/{lic['id']}")["status"] == "refunded"
    assert page.locator(f"#license-{lic['id']} form.refund").count() == 0

    page.goto(f"{server.url}/portal/statement?lang=zh")
    assert page.locator("h1").inner_text() == "账单与余额"
    assert page.locator("header .role").inner_text() == "需求方"  # the role badge speaks the page's language
    row = page.locator("[data-testid=spending] tbody tr", has_text=product["code"])
    assert row.count() >= 1 and "¥7.00" in row.first.inner_text()
    assert page.locator("svg.chart").count() >= 1
    assert page.locator("[data-testid=receipts] tbody tr", has_text="已退款").count() >= 1
    assert_clean(page)
    shot(page, "portal-statement-zh")
    switch_language(page, "en")  # the language switch keeps the page
    assert "/portal/statement" in page.url and page.locator("h1").inner_text() == "Statement and balance"

    page.goto(f"{server.url}/portal/products/{product['code']}")
    with page.expect_download() as download:
        page.click("[data-testid=certificate-link]")
    kept = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert kept["certificate"]["product_id"] == product["id"] and kept["verification"]["valid"] is True
    assert page.csp_violations == []


def test_buyer_and_operator_negotiate_to_a_private_offer(portal: OpenPortal, sqlite_server: Server) -> None:
    server = sqlite_server
    product = listed_product(server)
    make_offer(server, product, "negotiable", [], basis="negotiated")
    buyer, operator = portal("buyer"), portal("operator")

    buyer.goto(f"{server.url}/portal/negotiations?product={product['code']}")
    form = buyer.locator("#negotiation-form")
    form.locator("input[name=unit_price_fen]").fill("5.00")
    form.locator("input[name=message]").fill("two years of monthly figures")
    submit_and_reload(buyer, form)
    assert buyer.locator("[data-testid=flash]").inner_text() == "Your request is sent to the operator."
    ours = [n for n in api_get(server, "buyer", "/negotiations") if n["product_id"] == product["id"]]
    assert len(ours) == 1 and ours[0]["state"] == "requested" and ours[0]["unit_price_fen"] == 500
    card = f"#negotiation-{ours[0]['id']}"

    operator.goto(f"{server.url}/portal/negotiations")
    offer_form = operator.locator(f"{card} form", has=operator.locator("[data-testid=ng-offer]"))
    offer_form.locator("input[name=unit_price_fen]").fill("6.50")
    submit_and_reload(operator, offer_form)
    buyer.goto(f"{server.url}/portal/negotiations?lang=zh")
    assert buyer.locator(f"{card} [data-testid=ng-state]").inner_text() == "运营方已报价"
    assert buyer.locator(f"{card} [data-testid=ng-price]").inner_text() == "¥6.50"
    assert_clean(buyer)
    submit_and_reload(buyer, buyer.locator(f"{card} form", has=buyer.locator("[data-testid=ng-accept]")))
    operator.goto(f"{server.url}/portal/negotiations")
    submit_and_reload(operator, operator.locator(f"{card} form", has=operator.locator("[data-testid=ng-agree]")))
    agreed = api_get(server, "buyer", f"/negotiations/{ours[0]['id']}")
    assert agreed["state"] == "agreed" and agreed["agreed_offer_id"]
    assert [e["actor_id"] for e in agreed["events"]] == [server.ids[r] for r in ("buyer", "operator", "buyer",
                                                                              "operator")]
    buyer.goto(f"{server.url}/portal/negotiations?lang=en")
    shot(buyer, "portal-negotiation-agreed")
    buyer.click(f"{card} [data-testid=ng-buy]")
    buyer.wait_for_load_state()
    assert "/portal/buy" in buyer.url and buyer.locator("[data-testid=quote-amount]").inner_text().startswith("¥6.50")
    assert buyer.csp_violations == [] and operator.csp_violations == []
