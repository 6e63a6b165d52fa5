"""A product's privacy-ID column through the API: the registration rules, and R and G in its query policy."""

from __future__ import annotations

import duckdb

from tests.api.test_portal_security import Browser
from tests.utils.builders import authorized, make_authorization, make_product, make_resource, product_body
from tests.utils.queries import COLUMNS, QueryEnv, buy_license, query

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


def test_a_query_through_the_api_bounds_each_id_at_each_node(qenv: QueryEnv, funded_buyer: None) -> None:
    """`age` as the privacy ID, R = G = 1, exact answers: each node counts each age once."""
    nodes = ["node-0", "node-1", "node-2"]
    columns = [*COLUMNS[:2], {**COLUMNS[2], "privacy_id": True}, COLUMNS[3]]
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
    distinct = [duckdb.sql(f"SELECT COUNT(DISTINCT age) FROM read_csv_auto('{qenv.nodes[n].data}')").fetchall()[0][0]
                for n in nodes]
    assert r.status_code == 200 and r.json()["groups"][0]["values"]["n"] == sum(distinct), r.text
    r = query(qenv, lic["id"], "SELECT SUM(income) FROM data WHERE age > 3")
    assert r.status_code == 400 and r.json()["token"] == "age", r.text  # the ID is never queried
