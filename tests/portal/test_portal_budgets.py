"""The buyer previews a query in the portal (cost, budget left after it, expected error per cell; nothing spent),
runs it, and sees every budget gauge and its history move; in English and in Chinese. Headless Chromium against a
real API server and a real provider node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.portal.test_portal_signing import OpenPortal, portal, shot, sqlite_server, switch_language
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

__all__ = ["portal", "sqlite_server"]  # the fixtures, shared with the signing tests


def _number(page: Any, testid: str) -> float:
    return float(page.locator(f"[data-testid={testid}]").first.text_content())


def _preview_then_run(page: Any, url: str, license_id: str, left_after: float, title: str) -> None:
    page.goto(f"{url}/portal/buyer?license={license_id}")
    page.fill("textarea[name=sql]", "SELECT COUNT(*), AVG(income) FROM data GROUP BY region")
    page.fill("input[name=epsilon]", "0.25")
    before = _number(page, "budget-left")
    page.click("[data-testid=preview-button]")
    page.locator("[data-testid=preview]").wait_for(timeout=30_000)
    assert "/portal/buyer/previews/" in page.url and page.locator("#preview h3").inner_text() == title
    cost = float(page.locator("[data-testid=preview-cost]").inner_text().split()[1])  # "ε 0.2499 · δ …"
    assert cost == pytest.approx(0.25, abs=1e-3)
    assert page.locator("[data-testid=preview-left]").inner_text().startswith(f"ε {before - cost:.4g}")
    assert page.locator("#preview tbody tr").count() >= 2  # an expected error per released statistic
    assert _number(page, "budget-left") == before, "a preview spends nothing"
    assert page.locator("textarea[name=sql]").input_value().startswith("SELECT COUNT(*)")  # the form is kept
    page.click("[data-testid=run-button]")
    page.locator("#result").wait_for(timeout=60_000)
    after = _number(page, "budget-left")
    assert after == pytest.approx(before - cost, abs=0.005) and after == pytest.approx(left_after, abs=0.01)


def test_a_buyer_previews_runs_and_the_gauges_move(portal: OpenPortal, sqlite_server: Server, tmp_path: Path) -> None:
    env = QueryEnv(sqlite_server)
    nodes = start_nodes(sqlite_server, {"budget-node": write_data(tmp_path / "p.csv", 120, seed=11)}, tmp_path)
    try:
        register_nodes(env, nodes)
        with sqlite_server.client("exchange") as ex:
            assert ex.post("/dev/mint", json={"account_id": sqlite_server.ids["buyer"], "amount_fen": 10**6}).is_success
        product = listed_product(env, ["budget-node"])
        lic = buy_license(env, product, epsilon=2.0, budget_window="month")
        page = portal("buyer")
        _preview_then_run(page, sqlite_server.url, lic["id"], 1.75, "Query preview")
        assert _number(page, "budget-mine-spent") == pytest.approx(0.25, abs=1e-3)
        assert _number(page, "budget-product_total-spent") == pytest.approx(0.25, abs=1e-3)
        assert page.locator("[data-testid=budget-license] svg.spend-line").get_attribute("data-points") == "1"
        assert "refreshes monthly" in page.locator("[data-testid=budget-license]").inner_text()
        shot(page, "portal-budget-en")

        switch_language(page, "zh")
        _preview_then_run(page, sqlite_server.url, lic["id"], 1.5, "查询预览")
        assert "按月刷新" in page.locator("[data-testid=budget-license]").inner_text()
        assert page.locator("[data-testid=budget-license] svg.spend-line").get_attribute("data-points") == "2"
        assert _number(page, "budget-mine-spent") == pytest.approx(0.5, abs=1e-3)
        assert license_state(env, lic["id"])["window_epsilon_spent"] == pytest.approx(0.5, abs=1e-3)
        shot(page, "portal-budget-zh")
        assert page.csp_violations == []

        operator = portal("operator", with_key=False)  # the product-wide budget, on the operator's side
        operator.goto(f"{sqlite_server.url}/portal/products/{product['code']}")
        figure = operator.locator("[data-testid=budget-product_total]")
        assert _number(operator, "budget-product_total-spent") == pytest.approx(0.5, abs=1e-3)
        assert figure.locator("svg.spend-line").get_attribute("data-points") == "2"
        assert "refreshes monthly" in operator.locator("[data-testid=offer-terms]").first.inner_text()
        shot(operator, "portal-budget-product")
    finally:
        for node in nodes.values():
            node.kill()
