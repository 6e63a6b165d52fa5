"""A product's privacy-ID column through the API: the registration rules, and R and G in its query policy."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from api.node_policy import draft_policy
from privacy.provider.policy import sign_policy, write_document
from privacy.secagg.crypto import load_or_create_identity
from tests.api.test_portal_security import Browser
from tests.utils.builders import authorized, make_authorization, make_product, make_resource, product_body
from tests.utils.queries import COLUMNS, QueryEnv, buy_license, query, register_nodes, start_nodes, write_data

ID_COLUMNS = [{"name": "county", "type": "string", "group_by": True, "domain": ["A", "B"]},
              {"name": "yield_t", "type": "number", "min": 0, "max": 1e6},
              {"name": "farm_id", "type": "string", "privacy_id": True}]


def test_registration_refuses_two_privacy_ids_or_a_grouped_one(qenv: QueryEnv) -> None:
    authz = authorized(qenv.server)
    two = [*ID_COLUMNS, {"name": "herder_id", "type": "integer", "min": 0, "max": 9, "privacy_id": True}]
    grouped = [{**ID_COLUMNS[0], "privacy_id": True}, ID_COLUMNS[1]]
    numeric = [ID_COLUMNS[0], {**ID_COLUMNS[1], "privacy_id": True}]
    with qenv.server.client("operator") as op:
        for columns, names in ((two, ["farm_id", "herder_id"]), (grouped, ["county"]), (numeric, ["yield_t"])):
            r = op.post("/products", json=product_body(authz, columns=columns))
            assert r.status_code == 422 and all(n in r.text for n in names), r.text
        shown = product_body(authz, columns=ID_COLUMNS, sample=[{"county": "A", "farm_id": "F1"}])
        r = op.post("/products", json=shown)
        assert r.status_code == 422 and r.json()["field"] == "sample[0].farm_id", r.text


def test_the_query_policy_round_trips_r_and_g_and_the_product_states_its_unit(qenv: QueryEnv) -> None:
    plain = make_product(qenv.server, columns=ID_COLUMNS[:2])
    assert plain["privacy_unit"] is None  # row-level, and said so
    product = make_product(qenv.server, columns=ID_COLUMNS)
    assert product["privacy_unit"] == {"column": "farm_id", "max_rows_per_id": 10, "max_groups_per_id": 10,
                                       "providers_per_id": 1}
    path = f"/products/{product['id']}/query-policy"
    with qenv.server.client("operator") as op:
        r = op.put(path, json={"max_rows_per_id": 4, "max_groups_per_id": 2})
        assert r.status_code == 200 and r.json()["privacy_unit"]["max_rows_per_id"] == 4, r.text
        got = op.get(path).json()
        assert (got["max_rows_per_id"], got["max_groups_per_id"]) == (4, 2)
        assert op.get(f"/products/{product['id']}").json()["privacy_unit"]["max_groups_per_id"] == 2
        for bad in ({"max_rows_per_id": 0}, {"max_groups_per_id": 101}, {"max_rows_per_id": 1001}):
            r = op.put(path, json=bad)
            assert r.status_code == 422 and next(iter(bad)) in r.text, r.text
        assert op.get(path).json()["max_rows_per_id"] == 4  # nothing written by the refused ones
    with Browser(qenv.server) as b:  # the portal's product page says whom the noise protects, in zh and en
        b.sign_in(qenv.server.keys["operator"])
        en = b.http.get(f"/portal/products/{product['code']}?lang=en").text
        assert "Per farm_id: each node keeps at most 2 groups per farm_id and at most 4 rows" in en
        zh = b.http.get(f"/portal/products/{product['code']}?lang=zh").text
        assert "按 farm_id 保护" in zh and "最多取 2 个分组、每组最多 4 行" in zh
        assert "按行保护" in b.http.get(f"/portal/products/{plain['code']}?lang=zh").text


AGE_ID = [*COLUMNS[:2], {**COLUMNS[2], "privacy_id": True}, COLUMNS[3]]  # `age` as the privacy ID
EXACT_PER_ID = {"noise": False, "min_group_size": 0, "max_rows_per_id": 1, "max_groups_per_id": 1}


def listed(qenv: QueryEnv, nodes: list[str], stage: str = "listed") -> dict[str, Any]:
    authz = make_authorization(qenv.server, [make_resource(qenv.server, sensitivity_tags=[])["id"]])
    return make_product(qenv.server, authz, stage=stage, columns=AGE_ID,
                        sample=[{"region": "north", "level": 1, "income": 12.5}],
                        provider_ids=[qenv.provider_ids[n] for n in nodes])


def distinct_ages(qenv: QueryEnv, node: str, prefix: str = "") -> int:
    return int(duckdb.sql(f"SELECT COUNT(DISTINCT age) FROM read_csv_auto('{qenv.nodes[node].data}') "
                          f"WHERE CAST(age AS VARCHAR) LIKE '{prefix}%'").fetchall()[0][0])


def test_a_query_through_the_api_bounds_each_id_at_each_node(qenv: QueryEnv, funded_buyer: None) -> None:
    """R = G = 1, exact answers: each node counts each age once."""
    nodes = ["node-0", "node-1", "node-2"]
    columns = AGE_ID
    authz = make_authorization(qenv.server, [make_resource(qenv.server, sensitivity_tags=[])["id"]])
    product = make_product(qenv.server, authz, stage="listed", columns=columns,
                           sample=[{"region": "north", "level": 1, "income": 12.5}],
                           provider_ids=[qenv.provider_ids[n] for n in nodes])
    with qenv.server.client("operator") as op:
        r = op.put(f"/products/{product['id']}/query-policy", json={
            "noise": False, "min_group_size": 0, "max_rows_per_id": 1, "max_groups_per_id": 1})
        assert r.status_code == 200 and r.json()["privacy_unit"]["providers_per_id"] == 3, r.text
    lic = buy_license(qenv, product, columns=["region", "level", "age", "income"])
    r = query(qenv, lic["id"], "SELECT COUNT(*) AS n FROM data")
    assert r.status_code == 200 and r.json()["groups"][0]["values"]["n"] == sum(distinct_ages(qenv, n) for n in nodes)
    r = query(qenv, lic["id"], "SELECT SUM(income) FROM data WHERE age > 3")
    assert r.status_code == 400 and r.json()["token"] == "age", r.text  # the ID is never queried


def test_ids_partitioned_by_provider_need_their_prefixes(qenv: QueryEnv, funded_buyer: None,
                                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    """Nodes declaring age prefixes 1 and 2: a product over both counts each age at one node only (P = 1); over
    one of them and a node without prefixes, the product may not claim partitioned IDs."""
    work = tmp_path_factory.mktemp("pid-nodes")
    prefixes = {"pid-a": ["1"], "pid-b": ["2"]}
    files = {n: write_data(work / f"{n}.csv", 60, seed=400 + i) for i, n in enumerate(prefixes)}
    for n, own in prefixes.items():
        policy = draft_policy(n, "people", AGE_ID, max_epsilon=None, min_group_size=1, id_prefixes=own)
        key_dir = work / f"keys-{n}"
        write_document(key_dir / "policy.json", sign_policy(policy, load_or_create_identity(key_dir)))
    register_nodes(qenv, start_nodes(qenv.server, files, work))
    good, bad = listed(qenv, ["pid-a", "pid-b"]), listed(qenv, ["pid-a", "node-0"], stage="draft")
    with qenv.server.client("operator") as op:
        r = op.put(f"/products/{good['id']}/query-policy", json={**EXACT_PER_ID, "ids_partitioned": True})
        assert r.status_code == 200 and r.json()["privacy_unit"]["providers_per_id"] == 1, r.text
        r = op.put(f"/products/{bad['id']}/query-policy", json={**EXACT_PER_ID, "ids_partitioned": True})
        assert r.status_code == 409 and r.json()["error"] == "IdPrefixesMissing" and "node-0" in r.text, r.text
        assert op.get(f"/products/{bad['id']}/query-policy").json()["ids_partitioned"] is False
    lic = buy_license(qenv, good, columns=["region", "level", "age", "income"])
    r = query(qenv, lic["id"], "SELECT COUNT(*) AS n FROM data")
    expected = distinct_ages(qenv, "pid-a", "1") + distinct_ages(qenv, "pid-b", "2")  # others' ages are dropped
    assert r.status_code == 200 and r.json()["groups"][0]["values"]["n"] == expected, r.text
