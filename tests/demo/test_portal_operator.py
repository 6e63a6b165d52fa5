"""The operator's and the provider's work in the portal (headless Debian Chromium against the live demo): an operator
registers a product, submits it and publishes and withdraws an offer, each signed by its own key in the browser; an
offer above the authority's cap is refused at its field; the provider sees its node, its signed policy and the
queries run on its products; and no zh page shows an untranslated key or English state."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.demo import test_portal
from tests.demo.test_portal_text import VISIBLE_TEXT, column_names, problems
from tests.utils.demo import LiveDemo

as_role = test_portal.as_role  # the signed-in page fixture (its own browser context, the key open in the tab)
shot = test_portal.shot

# What a zh page must never show: raw message keys, English states and kinds, raw Python/JSON values.
RAW_KEY = re.compile(r"\b(op|pv|stage|node|qk|ctype|freq|basis|payee|role|ptype|use|revkind|err|done)_[a-z_]+\b")
ENGLISH = ("serving", "unreachable", "one_off", "one-off", "draft", "submitted", "listed", "Settled", "escrow",
           "operator", "provider", "group by", "aggregate", "revenue-based", "None", "{'", "Traceback")


def assert_translated(page: Any, live_demo: LiveDemo) -> None:
    """This page's own words, and the portal-wide check of every zh page (`test_portal_text.problems`)."""
    text = page.locator("body").inner_text()
    assert not RAW_KEY.search(text), RAW_KEY.search(text)
    found = [w for w in ENGLISH if w in text]
    assert not found, found
    assert problems(page.evaluate(VISIBLE_TEXT), column_names(live_demo)) == []


def test_operator_registers_a_product_submits_it_and_publishes_an_offer_in_zh(as_role: Any,
                                                                            live_demo: LiveDemo) -> None:
    page = as_role("operator_xlg", lang="zh")
    page.goto(f"{live_demo.url}/portal/operator")
    ids = live_demo.run.state["ids"]
    row = page.locator(f"#op-products tr[data-code='{ids['code_livestock']}']")
    assert "已上架" in row.inner_text() and row.locator(".b-node-serving").count() == 3  # live: all three serve
    assert page.locator("#revenue-chart .rev-col").count() >= 1  # the demo's sales, by month
    assert page.locator("[data-testid=revenue-total]").inner_text().startswith("¥")
    assert_translated(page, live_demo)
    shot(page, "operator-home-zh")

    page.click("#register-link")
    assert_translated(page, live_demo)
    form = page.locator("#register-form")
    form.locator("[name=title]").fill("锡林郭勒盟牧区体重监测 (portal test)")
    form.locator("[name=description]").fill("按旗县统计的牲畜体重。")
    form.locator("[name=source_statement]").fill("锡林郭勒盟农牧局,经授权运营加工。")
    form.locator("[name=scale]").fill("12 旗县")
    form.locator("[name=authorization_id]").select_option(ids["authz_xlg"])  # the livestock one (not the registry's)
    form.locator("[name=resource_ids]").select_option([ids["resource_livestock"]])
    form.locator("[name=provider_ids]").select_option(label=["xlg-east", "xlg-south", "xlg-west"])
    form.locator("[name=col0_name]").fill("banner")
    form.locator("[name=col0_type]").select_option("string")
    form.locator("[name=col0_group]").check()
    form.locator("[name=col0_domain]").fill("锡林浩特市, 二连浩特市")
    form.locator("[name=col1_name]").fill("weight_kg")
    form.locator("[name=col1_type]").select_option("number")
    form.locator("[name=col1_min]").fill("0")
    form.locator("[name=col1_max]").fill("900")  # no upper bound first: refused at the column's row
    form.locator("[name=col1_min]").fill("900")
    form.locator("button[type=submit]").click()
    expect(form.locator(".err[data-field='columns[1]']")).to_contain_text("数值列须有上下限且下限小于上限",
                                                                         timeout=30_000)
    form.locator("[name=col1_min]").fill("0")
    shot(page, "operator-register-zh")
    form.locator("button[type=submit]").click()  # signed in this tab, then 303 to the product's page
    page.wait_for_url(re.compile(r".*/portal/operator/products/PX-.*"), timeout=60_000)
    assert page.locator("[data-testid=flash]").inner_text().startswith("产品草稿已保存")
    assert "草稿" in page.locator("[data-testid=product-status]").inner_text()

    page.click("#submit-form button[type=submit]")  # registers it on chain
    expect(page.locator("[data-testid=flash]")).to_have_text("已提交审核,产品已在链上登记。", timeout=60_000)
    assert "已提交" in page.locator("[data-testid=product-status]").inner_text()
    assert page.locator("#op-nodes tr[data-state=serving]").count() == 3

    offer = page.locator("#offer-form")
    offer.locator("[name=tier0_price]").fill("800")
    offer.locator("[name=split_operator]").fill("7000")  # 70 + 10 + 10 = 90 %: refused, said at the split
    offer.locator("button[type=submit]").click()
    expect(offer.locator(".err[data-field='split.operator']")).to_have_text(
        "各收款方比例合计须恰好为 10000(即 100%)。", timeout=30_000)
    offer.locator("[name=split_operator]").fill("8000")
    offer.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=flash]")).to_have_text("报价已在链上发布。", timeout=60_000)
    active = page.locator("#op-offers tr[data-active=true]")
    assert active.count() == 1 and "¥800.00" in active.inner_text() and "运营单位 80.00%" in active.inner_text()
    assert_translated(page, live_demo)
    shot(page, "operator-product-zh")
    page.reload()  # post/redirect/get: nothing is sent again
    assert page.locator("#op-offers tr[data-active=true]").count() == 1

    active.locator("form.withdraw button").click()
    expect(page.locator("[data-testid=flash]")).to_have_text("报价已撤回。", timeout=60_000)
    assert page.locator("#op-offers tr[data-active=false]").count() == 1

    assert "逐行" in page.locator("[data-testid=privacy-unit]").inner_text()  # no privacy-ID column: a row
    policy = page.locator("#policy-form")
    policy.locator("[name=max_rows_per_id]").fill("3")
    policy.locator("[name=min_group_size]").fill("12")
    policy.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=flash]")).to_have_text("查询策略已保存。", timeout=60_000)
    code = page.url.rstrip("/").rsplit("/", 1)[-1]
    auth = {"Authorization": f"Bearer {live_demo.key('operator_xlg')}"}
    with httpx.Client(base_url=live_demo.url, headers=auth) as c:
        saved = c.get(f"/products/{code}/query-policy").json()
    assert (saved["max_rows_per_id"], saved["min_group_size"], saved["noise"]) == (3, 12, True)
    page.goto(f"{live_demo.url}/portal/operator")
    assert page.locator("#op-products tr[data-code]").count() == 4  # the story's three and this one


def test_an_offer_above_the_cap_is_refused_at_its_field_in_en(as_role: Any, live_demo: LiveDemo) -> None:
    page = as_role("operator_xlg", lang="en")
    code = live_demo.run.state["ids"]["code_livestock"]
    page.goto(f"{live_demo.url}/portal/operator/products/{code}")
    before = page.locator("#op-offers tr[data-offer]").count()
    assert page.locator("#offer-form [data-cap=one_off]").inner_text() == "¥2,500.00"  # the authority's cap
    offer = page.locator("#offer-form")
    offer.locator("[name=tier0_price]").fill("3000")
    offer.locator("button[type=submit]").click()
    expect(offer.locator(".err[data-field='tiers[0].unit_price_fen']")).to_have_text(
        "The unit price is above the authority's cap on this charge form: the offer is not published.",
        timeout=30_000)
    shot(page, "operator-offer-refused-en")
    page.reload()
    assert page.locator("#op-offers tr[data-offer]").count() == before  # nothing was written
    assert "Approved" in page.locator("#op-reviews").inner_text()  # the review decision, with its reasons
    other = as_role("operator_hhht", lang="en", key=False)
    other.goto(f"{live_demo.url}/portal/operator/products/{live_demo.run.state['ids']['code_clinics']}")
    assert "rejected: the reasons are below" in other.locator("[data-testid=product-status]").inner_text()
    review = other.locator("#op-reviews .review[data-decision=reject]")
    assert "Rejected" in review.inner_text() and "suppress small cells" in review.inner_text()
    assert "✗ " in review.inner_text()  # the unticked check
    other.goto(f"{live_demo.url}/portal/operator/products/{code}")
    assert "This product is not yours." in other.locator("main").inner_text()  # another operator's product


def test_provider_sees_its_node_policy_and_queries_in_both_languages(as_role: Any, live_demo: LiveDemo) -> None:
    for lang in ("zh", "en"):
        page = as_role("provider_xlg-east", lang=lang, key=lang == "zh")
        assert page.url.endswith("/portal/provider")  # its home after sign-in
        assert page.locator("[data-testid=node-id]").inner_text() == "xlg-east"
        assert len(page.locator("[data-testid=policy-hash]").inner_text()) == 64
        state = page.locator("[data-testid=node-state]").inner_text()
        assert state == ("在线,可服务" if lang == "zh" else "serving")
        columns = page.locator("#policy-columns tr[data-column]")
        assert columns.count() >= 5
        banner = page.locator("#policy-columns tr[data-column=banner]").inner_text()
        assert ("分组" if lang == "zh" else "group by") in banner
        assert page.locator("[data-testid=min-group]").inner_text().isdigit()
        assert page.locator("#pv-queries tr[data-seq]").count() >= 1  # the demo's queries on the livestock product
        if lang == "zh":
            assert_translated(page, live_demo)
            form = page.locator("#node-form")  # another key than the node's: the exchange's check refuses it
            form.locator("[name=public_key]").fill("ab" * 32)
            form.locator("button[type=submit]").click()
            expect(form.locator(".err[data-field=url]")).to_contain_text("无法核验节点", timeout=30_000)
            page.reload()
            assert page.locator("[data-testid=node-state]").inner_text() == "在线,可服务"  # nothing changed
        shot(page, f"provider-{lang}")
