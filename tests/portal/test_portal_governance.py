"""The governance pages in headless Chromium against a real API server, in Chinese and English: the authority
registers a resource and grants an authorization with its own key; the exchange's rejection needs its reasons and
shows them; the exchange sees orders and settlements over time; the auditor reads a record as fields and the
anchoring lag as a chart; no zh page shows raw JSON, an untranslated key or an English role badge."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.portal.i18n import MESSAGES
from ledger.ids import chain_id_of
from tests.portal.test_portal_signing import api_get, forwarded_for, open_key, shot, submit_and_reload, switch_language
from tests.utils.browser import PASSPHRASE, write_keystore
from tests.utils.builders import make_product
from tests.utils.queries import QueryEnv, buy_license
from tests.utils.server import Server, wait_anchored

UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
RAW = ('{"', '":', "null", "None", "Traceback", "0x" + "0" * 40, "DP noise", "pydantic",
       "Field required", "String should")
ENGLISH_ROLES = ("authority", "operator", "provider", "exchange", "buyer", "auditor")
KEYS = [k for k in MESSAGES if "_" in k]  # a message key shown as such is an untranslated string


@pytest.fixture(scope="module")
def server(servers: dict[str, Server]) -> Server:
    return servers["sqlite"]


@pytest.fixture(scope="module")
def sold(server: Server) -> dict[str, Any]:
    """A listed product with one license sold (an order, its settlement, an offer on chain)."""
    product = make_product(server, stage="listed")
    with server.client("exchange") as ex:
        assert ex.post("/dev/mint", json={"account_id": server.ids["buyer"], "amount_fen": 10**5}).is_success
    lic = buy_license(QueryEnv(server), product, columns=[c["name"] for c in product["columns"]])
    return {"product": product, "license": lic}


@pytest.fixture(scope="module")
def signed_in(browser: Any, server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """`signed_in("authority", "zh")` → a page signed in as the role, its own key open in the tab."""
    folder, contexts = tmp_path_factory.mktemp("keys"), []

    def open_as(role: str, lang: str) -> Any:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(ctx)
        page = ctx.new_page()
        page.goto(f"{server.url}/portal/signin?lang={lang}")
        page.fill("input[name=api_key]", server.keys[role])
        page.click("button[type=submit]")
        page.wait_for_load_state()
        open_key(page, server.url, write_keystore(folder, server.accounts[role]), PASSPHRASE)
        return page

    yield open_as
    for ctx in contexts:
        ctx.close()


def assert_clean(page: Any) -> None:
    """No raw JSON, no untranslated key, no English role badge in the page's main part (a zh page)."""
    text = page.locator("main").inner_text() + page.locator("header").inner_text()
    assert not [m for m in RAW if m in text], [m for m in RAW if m in text]
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", text))
    assert not [k for k in KEYS if k in words], [k for k in KEYS if k in words]
    badges = page.locator(".role").all_inner_texts()
    assert not [b for b in badges if b.strip() in ENGLISH_ROLES], badges
    stages = page.locator(".timeline .stage").all_inner_texts()  # translated, never a code like offer.publish
    assert not [s for s in stages if s.isascii()], stages


def test_authority_registers_a_resource_and_grants_an_authorization(signed_in: Any, server: Server) -> None:
    page = signed_in("authority", "en")
    page.goto(f"{server.url}/portal/authority")
    form = page.locator("#resource-form")
    name = f"county yields {uuid.uuid4().hex[:6]}"
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=department]").fill("Hohhot Agriculture Bureau")
    form.locator("input[name=content_hash]").fill("ab" * 32)
    form.locator("input[name=column_schema]").fill("county")  # no type: refused in the page, nothing sent
    form.locator("button[type=submit]").click()
    assert form.locator(".err[data-field=column_schema]").inner_text().startswith("Write the columns as name:type")
    form.locator("input[name=column_schema]").fill("county:string, yield_t:number")
    form.locator("input[name=region_code]").fill("1501")  # the API refuses it: said at the field, in English
    form.locator("button[type=submit]").click()
    err = form.locator(".err[data-field=region_code]")
    err.wait_for(timeout=30_000)
    assert err.inner_text() == "A region code is 6 digits."
    form.locator("input[name=region_code]").fill("150100")
    submit_and_reload(page, form)
    assert page.locator("[data-testid=flash]").inner_text() == "The resource is registered, on chain."
    resource = next(r for r in api_get(server, "authority", "/resources?limit=500") if r["name"] == name)
    assert resource["column_schema"][1] == {"name": "yield_t", "type": "number", "description": ""}
    assert page.locator(f"tr[data-code='{resource['code']}']").count() == 1

    grant = page.locator("#grant-form")
    grant.locator("select[name=operator_id]").select_option(server.ids["operator"])
    grant.locator("select[name=resource_ids]").select_option([resource["id"]])
    grant.locator("button[type=submit]").click()  # no purpose
    assert grant.locator(".err[data-field=purposes]").inner_text() == "Write at least one purpose."
    grant.locator("input[name=purposes]").fill("county statistics, crop insurance")
    grant.locator("input[name=valid_days]").fill("90")
    submit_and_reload(page, grant)
    granted = next(a for a in api_get(server, "authority", "/authorizations?limit=500")
                   if a["resource_ids"] == [resource["id"]])
    assert granted["purposes"] == ["county statistics", "crop insurance"]
    assert granted["operator_id"] == server.ids["operator"]
    assert forwarded_for(server, "AuthorizationGranted", authorizationId=chain_id_of(granted["id"])) == [
        server.accounts["authority"].address]  # relayed, but signed by the authority's own key
    shot(page, "portal-authority-register-grant-en")

    switch_language(page, "zh")  # the same page in Chinese: the resource table is headed 资源
    headers = page.locator("[data-testid=resources] thead th").all_inner_texts()
    assert headers[:2] == ["编号", "资源"] and "产品" not in headers
    assert page.locator(f"[data-testid=authorizations] tr[data-code='{granted['code']}']").count() == 1
    assert_clean(page)
    shot(page, "portal-authority-zh")


def test_exchange_rejects_with_reasons_and_sees_orders(signed_in: Any, server: Server, sold: dict[str, Any]) -> None:
    product = make_product(server, stage="under_review")
    page = signed_in("exchange", "zh")
    page.goto(f"{server.url}/portal/exchange")
    form = page.locator(f".review[data-code='{product['code']}'] form.checklist")
    assert form.locator("input:checked").count() == 0  # nothing ticked, no decision taken for the reviewer
    form.locator("input[name=decision][value=reject]").check()
    form.locator("button[type=submit]").click()
    assert form.locator(".err[data-field=reasons]").inner_text() == MESSAGES["reasons_missing"]["zh"]
    form.locator("textarea[name=reasons]").fill("授权范围不含该数据的商业用途。")
    submit_and_reload(page, form)
    assert api_get(server, "exchange", f"/products/{product['id']}")["status"] == "rejected"
    orders = page.locator("#orders [data-testid=orders] tbody tr[data-order]")
    assert orders.count() >= 1 and page.locator("svg[data-testid=orders-chart] rect.c-bar").count() >= 1
    row = page.locator(f"tr[data-order='{sold['license']['order_id']}']")
    assert "已支付" in row.inner_text() and sold["product"]["title"][:10] in row.inner_text()
    assert_clean(page)
    shot(page, "portal-exchange-orders-zh")
    mine = api_get(server, "buyer", "/orders")["items"]  # a buyer sees its own orders only, an operator none
    assert sold["license"]["order_id"] in {o["id"] for o in mine}
    assert {o["buyer_id"] for o in mine} == {server.ids["buyer"]}
    assert api_get(server, "operator", "/orders")["items"] == []
    page.goto(f"{server.url}/portal/products/{product['code']}?lang=en#reviews")
    assert "授权范围不含该数据的商业用途。" in page.locator("main").inner_text()  # the reasons, shown to readers


def test_auditor_reads_records_as_fields_and_the_anchoring_lag(signed_in: Any, server: Server,
                                                               sold: dict[str, Any], tmp_path: Path) -> None:
    code = sold["product"]["code"]
    purchase = api_get(server, "buyer", f"/licenses/{sold['license']['id']}/receipt")
    wait_anchored(server, purchase["seq"])  # a confirmed checkpoint has anchored records: the lag has a bar
    lag = api_get(server, "auditor", "/audit/anchoring-lag")
    sizes = [r["tree_size"] for r in lag]
    assert sizes == sorted(sizes) and lag[-1]["tree_size"] > purchase["seq"]
    assert all(0 <= r["min_s"] <= r["median_s"] <= r["max_s"] for r in lag if r["records"])
    assert sum(r["records"] for r in lag) <= sizes[-1]
    page = signed_in("auditor", "zh")
    page.goto(f"{server.url}/portal/auditor?product={code}")
    offer = page.locator("ol.timeline li[data-kind=OfferPublished]").first
    assert "报价发布" in offer.inner_text() and "运营单位" in offer.locator(".role").inner_text()
    assert "0x0000" not in offer.inner_text()  # the offer's "any buyer" is no actor
    assert page.locator("svg[data-testid=lag-chart] rect.c-bar").count() >= 1
    assert_clean(page)
    shot(page, "portal-auditor-zh")
    page.locator("ol.timeline li[data-kind='license.purchase'] a, ol.timeline li[data-kind='order.placed'] a") \
        .first.click()
    page.wait_for_selector("[data-testid=record-fields]")
    shown = page.locator("main").inner_text()
    assert not UUID.search(shown), UUID.search(shown)  # names and codes, not bare ids
    assert sold["product"]["title"] in page.locator("[data-testid=record-fields]").inner_text()
    assert_clean(page)
    shot(page, "portal-record-zh")
    with page.expect_download() as download:
        page.click("[data-testid=record-download]")
    assert download.value.suggested_filename.startswith("provex-record-")
    switch_language(page, "en")
    assert "Inclusion proof" in page.locator("#anchoring").inner_text() or "unanchored" in page.locator(
        "#anchoring").inner_text()
    shot(page, "portal-record-en")
