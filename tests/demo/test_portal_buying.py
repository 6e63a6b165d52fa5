"""Buying in the portal (headless Debian Chromium against the live demo): the quote with its split before paying, the
purchase signed by the buyer's own key in the browser, the licenses page after post/redirect/get, and the receipt
download whose inclusion proof verifies against its record."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from api.client import Json, ProvexClient
from ledger.canonical import encode_record
from ledger.merkle import leaf_hash, verify_inclusion
from tests.demo import test_portal
from tests.utils.demo import LiveDemo

as_role = test_portal.as_role  # the signed-in page fixture (its own browser context, the key open in the tab)
shot = test_portal.shot

PAYEES = ["provider", "provider", "provider", "operator", "authority", "exchange"]


def _anchored(live_demo: LiveDemo, license_id: str, timeout: float = 30) -> Json:
    """The purchase's receipt once a checkpoint covers it (the demo anchors within seconds)."""
    deadline = time.monotonic() + timeout
    with ProvexClient(live_demo.url, live_demo.key("buyer")) as c:
        while True:
            receipt = c.license_receipt(license_id)
            if receipt["inclusion_proof"] is not None or time.monotonic() > deadline:
                return receipt
            time.sleep(0.5)


def _buy_from_the_product_page(page: Any, live_demo: LiveDemo, lang: str) -> str:
    """Open the offer's buy page, check the split, pay; returns the new license's id (from the licenses page)."""
    code = live_demo.run.state["ids"]["code_livestock"]
    page.goto(f"{live_demo.url}/portal/products/{code}")
    page.click("[data-testid=buy-link]")
    split = page.locator("[data-testid=split] tbody tr")
    assert split.evaluate_all("rows => rows.map(r => r.dataset.role)") == PAYEES  # the split, before paying
    assert "¥300.00" in split.first.inner_text() and "¥700.00" in split.nth(3).inner_text()
    assert page.locator("[data-testid=quote-amount]").inner_text() == "¥2,000.00"
    assert page.locator("[data-testid=quote-payable]").inner_text() == "¥2,000.00"  # the voucher is used up
    shot(page, f"buy-quote-{lang}")
    if lang == "en":  # a quantity changed under the quote: the API's refusal, signed and sent, said at the field
        page.eval_on_selector("#buy-form input[name=quantity]", "el => { el.value = '2'; }")
        page.click("#buy-form button[type=submit]")
        err = page.locator("#buy-form .err[data-field=quantity]")
        expect(err).to_have_text("This offer cannot be bought in this quantity (a one-off license is bought one at "
                                 "a time).", timeout=30_000)
        page.eval_on_selector("#buy-form input[name=quantity]", "el => { el.value = '1'; }")
    page.click("#buy-form button[type=submit]")  # signed in this tab, sent through the proxy, then 303
    page.wait_for_url("**/portal/buyer/licenses?new=*", timeout=60_000)
    return page.url.split("new=", 1)[1]


def test_buyer_buys_in_zh_and_en_and_downloads_a_receipt_that_proves_itself(as_role: Any, live_demo: LiveDemo,
                                                                            tmp_path: Path) -> None:
    page = as_role("buyer", lang="zh")
    code = live_demo.run.state["ids"]["code_livestock"]
    page.goto(f"{live_demo.url}/portal/buyer")
    page.click("[data-testid=buy-link]")
    page.click(f"#products [data-code='{code}'] a")
    page.fill("#quote-form input[name=quantity]", "2")  # a one-off license: one at a time
    page.click("#quote-form button[type=submit]")
    err = page.locator("#quote-form .err[data-field=quantity]")
    assert err.inner_text() == "该报价不能按此数量购买(一次性许可只能购买 1 份)。"
    assert page.locator("#buy-form").count() == 0  # no quote, nothing to pay
    shot(page, "buy-refused-zh")

    first = _buy_from_the_product_page(page, live_demo, "zh")
    assert page.locator("[data-testid=flash]").inner_text() == "购买成功:许可已生效,购买记录已写入账本。"
    card = page.locator(f"#license-{first}")
    assert "畜牧业统计分析产品" in card.locator("[data-testid=terms]").inner_text()
    count = page.locator("section.license").count()
    page.reload()  # post/redirect/get: a reload buys nothing
    assert page.locator("section.license").count() == count
    page.click("a[data-lang=en]")  # the language switch keeps the page
    assert "/portal/buyer/licenses?new=" in page.url and page.locator(f"#license-{first}").is_visible()
    assert "Download the receipt" in page.locator(f"#license-{first}").inner_text()

    second = _buy_from_the_product_page(page, live_demo, "en")
    assert second != first
    assert page.locator("[data-testid=flash]").inner_text().startswith("Bought:")
    shot(page, "buy-licenses-en")
    receipt = _anchored(live_demo, second)
    assert receipt["inclusion_proof"] is not None, "the purchase was not anchored in time"
    with page.expect_download() as download:
        page.click(f"#license-{second} [data-testid=receipt-link]")
    assert download.value.suggested_filename.endswith(".json")
    path = tmp_path / "receipt.json"
    download.value.save_as(path)
    got = json.loads(path.read_text())
    assert got["record"]["kind"] == "license.purchase" and got["record"]["data"]["license_id"] == second
    leaf = leaf_hash(encode_record(got["record"]))
    assert leaf.hex() == got["leaf_hash"]
    cp = got["checkpoint"]
    assert verify_inclusion(leaf, got["seq"], cp["tree_size"], [bytes.fromhex(h) for h in got["inclusion_proof"]],
                            bytes.fromhex(cp["root"]))
    expect(page.locator(f"#license-{second} [data-testid=new-license]")).to_be_visible()
