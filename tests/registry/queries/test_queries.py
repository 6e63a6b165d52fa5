"""POST /queries end to end: real provider nodes, a real API on Anvil, licenses bought through trading."""

from __future__ import annotations

import hashlib
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import duckdb
import pytest

from api.result_text import cell
from ledger.canonical import canonical_json
from ledger.merkle import leaf_hash, verify_inclusion
from ledger.records import exact
from tests.utils.queries import (
    ALL_COLUMNS,
    QueryEnv,
    buy_license,
    license_state,
    listed_product,
    query,
    register_nodes,
    start_nodes,
    union_sql,
    write_data,
)
from tests.utils.server import wait_anchored

NODES = ["node-0", "node-1", "node-2"]
EXACT = [
    ("SELECT COUNT(*) AS n, SUM(age) AS s, AVG(income) AS a FROM data GROUP BY region",
     "SELECT region, COUNT(*), SUM(age), AVG(income) FROM {src} GROUP BY region", ["n", "s", "a"]),
    ("SELECT COUNT(income) AS c, SUM(income) AS s FROM data WHERE region != 'east' AND level IN (1, 2)",
     "SELECT COUNT(income), SUM(income) FROM {src} WHERE region != 'east' AND level IN (1, 2)", ["c", "s"]),
    ("SELECT VARIANCE(age) AS v, STDDEV(income) AS sd FROM data WHERE region != 'west' GROUP BY region, level",
     "SELECT region, level, VAR_SAMP(age), STDDEV_SAMP(income) FROM {src} WHERE region != 'west' "
     "GROUP BY region, level", ["v", "sd"]),
]


@pytest.fixture(scope="module")
def plain(qenv: QueryEnv, funded_buyer: None) -> dict[str, Any]:
    """No personal information: the operator switched noise off; nothing suppressed."""
    return listed_product(qenv, NODES, policy={"noise": False, "min_group_size": 0})


@pytest.fixture(scope="module")
def personal(qenv: QueryEnv, funded_buyer: None) -> dict[str, Any]:
    """Personal information: noise is always on."""
    return listed_product(qenv, NODES, tags=["personal_information"])


def close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def test_exact_answers_equal_duckdb_over_the_union(qenv: QueryEnv, plain: dict[str, Any]) -> None:
    lic = buy_license(qenv, plain)
    src = union_sql([qenv.nodes[n] for n in NODES])
    for i, (sql, reference, aliases) in enumerate(EXACT):
        r = query(qenv, lic["id"], sql)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["noised"] is False and body["epsilon_spent"] == 0 and body["suppressed_groups"] == []
        assert (body["providers"], body["providers_dropped"]) == (3, 0) and "participants" not in body["result"]
        assert body["result_hash"] == hashlib.sha256(canonical_json(body["result"])).hexdigest()
        assert body["budget_left"] == {"epsilon": 2.0, "delta": 1e-4, "queries": 1000 - (i + 1)}
        rel = duckdb.sql(reference.format(src=src))
        assert rel is not None
        expected = {tuple(str(v) for v in row[:-len(aliases)]): row[-len(aliases):] for row in rel.fetchall()}
        got = {tuple(str(v) for v in g["group"].values()): [g["values"][a] for a in aliases] for g in body["groups"]}
        for key, want in expected.items():
            assert all(close(x, y) for x, y in zip(got[key], want, strict=True)), (sql, key, got[key], want)
        for g in body["groups"]:  # exact: standard error 0, the interval is the value itself
            assert all(g["se"][a] in (0.0, None) for a in aliases), g
            assert all(g["ci95"][a] in ([g["values"][a]] * 2, None) for a in aliases), g
    r = query(qenv, lic["id"], EXACT[0][0], epsilon=0.5)
    assert r.status_code == 422 and r.json()["field"] == "epsilon", r.text


def test_noised_query_spends_budget_and_budget_left_falls(qenv: QueryEnv, personal: dict[str, Any]) -> None:
    lic = buy_license(qenv, personal, epsilon=2.0)
    left = [2.0]
    for _ in range(2):
        r = query(qenv, lic["id"], "SELECT COUNT(*) AS n, AVG(age) AS a FROM data GROUP BY region", epsilon=0.5)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["noised"] is True and 0.45 < body["epsilon_spent"] <= 0.5 and body["rho_spent"] > 0
        for g in body["groups"]:  # every released number has its standard error and 95 % interval
            if not g["suppressed"]:
                assert g["se"]["n"] > 0 and g["ci95"]["n"][0] <= g["values"]["n"] <= g["ci95"]["n"][1]
                if g["values"]["a"] is None:  # a cell over too few non-NULL values (noisy count) is hidden
                    assert g["se"]["a"] is None and g["ci95"]["a"] is None, g
                    continue
                assert g["se"]["a"] > 0, g
                assert 0 <= g["ci95"]["a"][0] <= g["values"]["a"] <= g["ci95"]["a"][1] <= 99
        assert body["delta_spent"] == 1e-6
        assert math.isclose(body["budget_left"]["epsilon"], left[-1] - body["epsilon_spent"], abs_tol=1e-8)
        left.append(body["budget_left"]["epsilon"])
        assert body["providers"] == 3
    assert left[0] > left[1] > left[2]
    assert math.isclose(license_state(qenv, lic["id"])["epsilon_left"], left[-1], abs_tol=1e-8)


def test_past_budget_refusal_says_what_is_left(qenv: QueryEnv, personal: dict[str, Any]) -> None:
    lic = buy_license(qenv, personal, epsilon=1.0)
    assert query(qenv, lic["id"], "SELECT COUNT(*) FROM data", epsilon=0.8).status_code == 200
    before = license_state(qenv, lic["id"])
    r = query(qenv, lic["id"], "SELECT COUNT(*) FROM data", epsilon=0.5)
    assert r.status_code == 409 and r.json()["error"] == "PrivacyBudgetExhausted", r.text
    assert f"epsilonLeft={before['epsilon_left']}" in r.json()["detail"]
    after = license_state(qenv, lic["id"])
    assert (after["epsilon_left"], after["queries_left"]) == (before["epsilon_left"], before["queries_left"])


def test_forbidden_sql_is_refused_naming_the_token(qenv: QueryEnv, plain: dict[str, Any]) -> None:
    lic = buy_license(qenv, plain, columns=["region", "level", "age"], kinds=["count", "sum"])
    cases = {
        "SELECT MAX(age) FROM data": "MAX",
        "SELECT * FROM data": "*",
        "SELECT COUNT(*) FROM data a JOIN data b ON a.age = b.age": "JOIN",
        "SELECT SUM(income) FROM data": "income",
        "SELECT AVG(age) FROM data": "AVG",
        "SELECT COUNT(*) FROM data; DROP TABLE data": ";",
    }
    for sql, token in cases.items():
        r = query(qenv, lic["id"], sql)
        assert r.status_code == 400, (sql, r.text)
        assert r.json()["error"] == "invalid_query" and token in r.json()["token"], (sql, r.text)
        assert repr(r.json()["token"]) in r.json()["detail"]
    assert license_state(qenv, lic["id"])["queries_left"] == 1000  # nothing was charged
    with qenv.server.client("operator") as op:
        r = op.post("/queries", json={"license_id": lic["id"], "sql": "SELECT COUNT(*) FROM data"})
        assert r.status_code == 403


def test_failed_query_spends_nothing(qenv: QueryEnv, funded_buyer: None,
                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    workdir = tmp_path_factory.mktemp("doomed")
    files = {f"doomed-{i}": write_data(workdir / f"d{i}.csv", 30, seed=200 + i) for i in range(3)}
    nodes = start_nodes(qenv.server, files, workdir)
    register_nodes(qenv, nodes)
    product = listed_product(qenv, list(nodes), tags=["personal_information"])
    lic = buy_license(qenv, product, epsilon=1.0)
    assert query(qenv, lic["id"], "SELECT COUNT(*) FROM data", epsilon=0.2).status_code == 200
    nodes["doomed-2"].kill()  # one of three gone: the threshold (2) still holds
    r = query(qenv, lic["id"], "SELECT COUNT(*) FROM data", epsilon=0.2)
    assert r.status_code == 200, r.text
    body = r.json()  # the buyer learns how many took part, never which
    assert (body["providers"], body["providers_dropped"]) == (2, 1) and "doomed-2" not in r.text
    before = license_state(qenv, lic["id"])
    nodes["doomed-1"].kill()
    r = query(qenv, lic["id"], "SELECT COUNT(*) FROM data", epsilon=0.2)
    assert r.status_code == 503 and r.json()["error"] == "not_enough_providers", r.text
    after = license_state(qenv, lic["id"])
    assert (after["epsilon_left"], after["delta_left"], after["queries_left"]) == (
        before["epsilon_left"], before["delta_left"], before["queries_left"])
    with qenv.server.client("buyer") as buyer:
        charges = buyer.get(f"/licenses/{lic['id']}/charges").json()
    assert [c["refunded"] for c in charges] == [False, False, True]


def test_exact_product_with_a_node_down_refuses_and_refunds(qenv: QueryEnv, funded_buyer: None,
                                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    """Noise off: a result without one provider would let a buyer difference out that provider's exact total."""
    workdir = tmp_path_factory.mktemp("exact-down")
    files = {f"exact-{i}": write_data(workdir / f"e{i}.csv", 30, seed=300 + i) for i in range(3)}
    nodes = start_nodes(qenv.server, files, workdir)
    register_nodes(qenv, nodes)
    product = listed_product(qenv, list(nodes), policy={"noise": False, "min_group_size": 0})
    lic = buy_license(qenv, product)
    r = query(qenv, lic["id"], "SELECT COUNT(*) AS n FROM data")
    assert r.status_code == 200 and r.json()["providers"] == 3, r.text
    nodes["exact-1"].kill()  # the threshold (2) still holds, but exact answers need all three
    before = license_state(qenv, lic["id"])
    r = query(qenv, lic["id"], "SELECT COUNT(*) AS n FROM data")
    assert r.status_code == 503 and r.json()["error"] == "not_enough_providers", r.text
    assert "every provider" in r.json()["detail"] and "exact-1" not in r.text
    assert license_state(qenv, lic["id"])["queries_left"] == before["queries_left"]
    with qenv.server.client("buyer") as buyer:
        charges = buyer.get(f"/licenses/{lic['id']}/charges").json()
    assert [c["refunded"] for c in charges] == [False, True]


def test_concurrent_queries_never_overspend(qenv: QueryEnv, personal: dict[str, Any]) -> None:
    lic = buy_license(qenv, personal, epsilon=1.0)

    def one(_: int) -> int:
        return query(qenv, lic["id"], "SELECT SUM(age) AS s FROM data", epsilon=0.3).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(one, range(8)))
    assert sorted(codes) == [200] * 3 + [409] * 5, codes
    state = license_state(qenv, lic["id"])
    assert 0 <= state["epsilon_left"] < 0.3 and state["queries_left"] == 1000 - 3


def test_query_record_is_traced_and_its_receipt_verifies(qenv: QueryEnv, personal: dict[str, Any]) -> None:
    lic = buy_license(qenv, personal, columns=ALL_COLUMNS)
    r = query(qenv, lic["id"], "SELECT HISTOGRAM(age, 0, 100, 4) AS h FROM data WHERE level >= 2", epsilon=0.4)
    assert r.status_code == 200, r.text
    body = r.json()
    seq = body["receipt"]["seq"]
    assert body["receipt"]["url"] == f"/ledger/records/{seq}"
    receipt = wait_anchored(qenv.server, seq)
    record = receipt["record"]
    assert record["kind"] == "query.run" and record["subject"] == personal["id"]
    assert record["authorization"] == lic["id"]
    data = record["data"]
    assert data["plan_hash"] == body["plan_hash"] and data["result_hash"] == body["result_hash"]
    assert data["epsilon"] == exact(body["epsilon_spent"]) and data["license_id"] == lic["id"]  # a decimal string
    assert (data["providers"], data["providers_dropped"]) == (3, 0) and "participants" not in data
    leaf = leaf_hash(canonical_json(record))
    assert leaf.hex() == receipt["leaf_hash"]
    cp = receipt["checkpoint"]
    on_chain = qenv.server.ledger.checkpoint(cp["index"])
    assert verify_inclusion(leaf, seq, cp["tree_size"], [bytes.fromhex(p) for p in receipt["inclusion_proof"]],
                            on_chain.root)
    with qenv.server.client("auditor") as auditor:
        trace = auditor.get(f"/audit/products/{personal['id']}/trace")
    assert trace.status_code == 200, trace.text
    steps = [s for s in trace.json()["steps"] if s["link"].get("record_seq") == seq]
    assert len(steps) == 1 and steps[0]["stage"] == "query" and steps[0]["kind"] == "query.run"
    assert steps[0]["detail"]["epsilon"] == exact(body["epsilon_spent"])
    assert steps[0]["detail"]["providers"] == 3 and not any(n in json.dumps(steps[0]) for n in NODES)


def test_exact_differencing_is_refused_and_recorded(qenv: QueryEnv, funded_buyer: None) -> None:
    """Bypass (a) through the API: on an exact product (min group 10) the total is answered, the same
    total minus one row by a filter on a column without public domain is refused, refunded and recorded."""
    product = listed_product(qenv, NODES, policy={"noise": False, "min_group_size": 10})
    lic = buy_license(qenv, product)
    r = query(qenv, lic["id"], "SELECT SUM(income) AS s FROM data")
    assert r.status_code == 200 and r.json()["groups"][0]["se"]["s"] == 0.0, r.text
    r = query(qenv, lic["id"], "SELECT SUM(income) AS s FROM data WHERE age != 37")
    assert r.status_code == 400 and r.json()["error"] == "invalid_query" and r.json()["token"] == "age", r.text
    r = query(qenv, lic["id"], "SELECT HISTOGRAM(age, 0, 99, 512) AS h FROM data WHERE region = 'west'")
    assert r.status_code == 403 and r.json()["error"] == "disclosure_refused", r.text
    assert license_state(qenv, lic["id"])["queries_left"] == 1000 - 1  # refusals cost nothing
    with qenv.server.client("auditor") as auditor:
        actions = auditor.get(f"/audit/accounts/{qenv.server.ids['buyer']}/actions").json()["actions"]
        refused = [a for a in actions if a["kind"] == "query.refused" and a["subject"] == product["id"]]
        assert len(refused) == 2
        records = [auditor.get(a["link"]["receipt"]).json()["record"]["data"] for a in refused]
    assert [d["error"] for d in records] == ["invalid_query", "disclosure_refused"]
    assert "age" in records[0]["detail"] and records[0]["signed"]  # the buyer's own signed request
    assert all(d["license_id"] == lic["id"] and len(d["plan_hash"]) == 64 for d in records)


def _preview(qenv: QueryEnv, license_id: str, *queries: dict[str, Any]) -> dict[str, Any]:
    with qenv.server.client("buyer") as buyer:
        r = buyer.post("/queries/preview", json={"license_id": license_id, "queries": list(queries)})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _records(qenv: QueryEnv) -> int:
    with qenv.server.db().connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM ledger_records").scalar_one())


def test_preview_spends_nothing_and_predicts_the_charge(qenv: QueryEnv, personal: dict[str, Any]) -> None:
    lic = buy_license(qenv, personal, epsilon=1.0)
    sql = "SELECT COUNT(*) AS n, AVG(age) AS a FROM data GROUP BY region"
    before, records = license_state(qenv, lic["id"]), _records(qenv)
    batch = _preview(qenv, lic["id"], {"sql": sql, "epsilon": 0.4}, {"sql": "SELECT SUM(income) FROM data",
                                                                      "epsilon": 0.4}, {"sql": sql, "epsilon": 0.4})
    first, second, third = batch["queries"]
    assert first["refused"] is None and second["refused"] is None and batch["spent"] is False
    assert third["refused"]["error"] == "PrivacyBudgetExhausted", "the batch does not fit: the third is named"
    assert {e["stat"] for e in first["expected_error"]} >= {"count_star", "sum"}
    assert all(e["sd"] > 0 and math.isclose(e["ci95_half_width"], 1.96 * e["sd"]) for e in first["expected_error"])
    assert license_state(qenv, lic["id"]) == before and _records(qenv) == records, "a preview spends nothing"

    alone = _preview(qenv, lic["id"], {"sql": sql, "epsilon": 0.4})
    r = query(qenv, lic["id"], sql, epsilon=0.4)
    assert r.status_code == 200, r.text
    ran, priced = r.json(), alone["queries"][0]
    assert (ran["epsilon_spent"], ran["delta_spent"], ran["rho_spent"]) == (priced["epsilon"], priced["delta"],
                                                                          priced["rho"]), "the charge, exactly"
    assert ran["budget_left"] == alone["budget_left"]
    count_sd = next(e["sd"] for e in priced["expected_error"] if e["stat"] == "count_star")
    assert ran["providers"] == 3 and all(math.isclose(g["se"]["n"], count_sd) for g in ran["groups"]
                                         if not g["suppressed"]), "the expected error is the result's"


def test_product_wide_budget_holds_under_concurrent_buyers(qenv: QueryEnv, funded_buyer: None) -> None:
    """Two buyers, each with a license far above it, fire queries at once: all together never spend more than
    the product-wide budget the authority set, and the refusals name it."""
    server = qenv.server
    product = listed_product(qenv, NODES, tags=["personal_information"])
    second = server.onboard("buyer", "second buyer")
    with server.client("exchange") as ex:
        assert ex.post("/dev/mint", json={"account_id": second["id"], "amount_fen": 10**6}).status_code == 200
    with server.client(key=second["api_key"]) as c:
        deadline = time.monotonic() + 30
        while c.get("/accounts/me").json()["chain_state"] != "confirmed":
            assert time.monotonic() < deadline, "the second buyer's chain setup"
            time.sleep(0.1)
    keys = [None, second["api_key"]]
    licenses = [buy_license(qenv, product, epsilon=5.0, buyer_key=k)["id"] for k in keys]
    with server.client("authority") as authority:
        r = authority.put(f"/products/{product['id']}/total-budget", json={"epsilon": 1.0, "delta": 1e-4})
        assert r.status_code == 200 and r.json()["epsilon_left"] == 1.0, r.text
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda i: query(qenv, licenses[i % 2], "SELECT COUNT(*) FROM data",
                                                buyer_key=keys[i % 2], epsilon=0.3), range(6)))
    ran = [a.json() for a in answers if a.status_code == 200]
    refused = [a.json() for a in answers if a.status_code != 200]
    assert len(ran) == 3 and len(refused) == 3, [a.text for a in answers]  # 3 × 0.3 fits in 1.0, a 4th does not
    assert all(r["error"] == "PrivacyBudgetExhausted" and "scope=product_total" in r["detail"] for r in refused)
    with server.client("auditor") as auditor:
        total = auditor.get(f"/products/{product['id']}/total-budget").json()
    assert math.isclose(total["epsilon_spent"], sum(r["epsilon_spent"] for r in ran), abs_tol=1e-8)
    assert total["epsilon_spent"] <= 1.0 and math.isclose(total["epsilon_left"], 1.0 - total["epsilon_spent"])
    left = _preview(qenv, licenses[0], {"sql": "SELECT COUNT(*) FROM data", "epsilon": 0.3})
    assert "scope=product_total" in left["queries"][0]["refused"]["detail"]
    assert math.isclose(left["product_total_left"]["epsilon"], total["epsilon_left"])
    with server.client("buyer") as buyer:  # another buyer's license: not even its preview
        r = buyer.post("/queries/preview", json={"license_id": licenses[1], "queries": [{"sql": "SELECT COUNT(*) "
                                                                                                "FROM data"}]})
        assert r.status_code == 404, r.text


def test_quantiles_through_the_api(qenv: QueryEnv, personal: dict[str, Any], plain: dict[str, Any]) -> None:
    """Malformed QUANTILE arguments are a 400 naming the token (nothing charged); a noised MEDIAN/MAX has
    its interval and a preview's expected error; an exact MIN is the bin holding the true minimum."""
    lic = buy_license(qenv, personal, kinds=["count", "quantile", "min", "max"])
    bad = {"SELECT QUANTILE(age, 1.5) FROM data": "1.5", "SELECT QUANTILE(age) FROM data": "QUANTILE",
           "SELECT QUANTILE(age, 0.5, 2) FROM data": "QUANTILE", "SELECT MEDIAN(region) FROM data": "region",
           "SELECT QUANTILE(age, 'x') FROM data": "'x'", "SELECT AVG(age) FROM data": "AVG"}
    for sql, token in bad.items():
        r = query(qenv, lic["id"], sql)
        assert r.status_code == 400 and r.json()["error"] == "invalid_query", (sql, r.text)
        assert r.json()["token"] == token, (sql, r.text)
    assert license_state(qenv, lic["id"])["queries_left"] == 1000
    sql = "SELECT MEDIAN(age) AS m, QUANTILE(income, 0.9) AS q, MAX(income) AS x FROM data GROUP BY region"
    priced = _preview(qenv, lic["id"], {"sql": sql, "epsilon": 0.5})["queries"][0]
    tree = {e["stat"]: e for e in priced["expected_error"] if e["stat"] in ("quantile", "max")}
    assert tree["max"]["bins"] == 256 and tree["max"]["quantum"] == 1000 / 256 and tree["max"]["sd"] > 0
    r = query(qenv, lic["id"], sql, epsilon=0.5)
    assert r.status_code == 200, r.text
    for g in r.json()["groups"]:
        for alias, (lo, hi) in {"m": (0, 99), "q": (0, 1000), "x": (0, 1000)}.items():
            if g["values"][alias] is not None:
                assert lo <= g["ci95"][alias][0] <= g["values"][alias] <= g["ci95"][alias][1] <= hi, g
                assert g["se"][alias] > 0 and " ± " in cell(g["values"][alias], g["ci95"][alias])
    exact = query(qenv, buy_license(qenv, plain)["id"], "SELECT MIN(age) AS lo FROM data GROUP BY region")
    assert exact.status_code == 200 and exact.json()["noised"] is False, exact.text
    rel = duckdb.sql(f"SELECT region, MIN(age) FROM {union_sql([qenv.nodes[n] for n in NODES])} GROUP BY region")
    assert rel is not None
    for region, low in rel.fetchall():
        g = next(g for g in exact.json()["groups"] if g["group"]["region"] == region)
        assert g["ci95"]["lo"][0] == g["values"]["lo"] <= low <= g["ci95"]["lo"][1] == g["values"]["lo"] + 99 / 256
