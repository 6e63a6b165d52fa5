"""`POST /queries/preview` on a license with a monthly budget window: it names the window, predicts the charge
exactly, spends nothing; the run is charged to that window."""

from __future__ import annotations

from typing import Any

from tests.utils.queries import QueryEnv, buy_license, license_state, listed_product, query

SQL = "SELECT COUNT(*) AS n, SUM(income) AS s FROM data GROUP BY region"


def test_preview_in_a_window_predicts_the_charge_and_spends_nothing(qenv: QueryEnv, funded_buyer: None) -> None:
    product = listed_product(qenv, ["node-0", "node-1", "node-2"], tags=["personal_information"])
    lic = buy_license(qenv, product, epsilon=1.0, max_queries=2, budget_window="month")
    before = license_state(qenv, lic["id"])
    with qenv.server.client("buyer") as buyer:  # one query given flat, as POST /queries takes it
        r = buyer.post("/queries/preview", json={"license_id": lic["id"], "sql": SQL, "epsilon": 0.3})
    assert r.status_code == 200, r.text
    preview: dict[str, Any] = r.json()
    priced = preview["queries"][0]
    assert preview["budget_window"] == "month" and preview["window_start"] == before["window_start"]
    assert preview["window_refreshes_at"] == before["window_refreshes_at"]
    assert license_state(qenv, lic["id"]) == before, "a preview spends nothing"
    ran = query(qenv, lic["id"], SQL, epsilon=0.3)
    assert ran.status_code == 200, ran.text
    out = ran.json()
    assert (out["epsilon_spent"], out["delta_spent"], out["rho_spent"]) == (priced["epsilon"], priced["delta"],
                                                                          priced["rho"]), "the charge, exactly"
    assert out["budget_left"] == preview["budget_left"]
    after = license_state(qenv, lic["id"])
    assert abs(after["window_epsilon_spent"] - priced["epsilon"]) < 1e-9 and after["window_queries_used"] == 1
    assert after["queries_left"] == 1 and after["epsilon_left"] == preview["budget_left"]["epsilon"]
