"""Model products end to end: registration validates the model, the operator fits it over real provider nodes
(spending from the product-wide budget, a signed `model.fit` record), a licensed buyer gets the fitted model and
nothing else; LINREG as a buyer's query on a data product."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from api.cli import app
from api.result_text import cell
from ledger.canonical import canonical_json
from ledger.records import exact
from tests.api.test_portal_security import Browser
from tests.utils.builders import make_authorization, make_product, make_resource, product_body
from tests.utils.queries import ALL_KINDS, COLUMNS, QueryEnv, buy_license, listed_product, query, union_sql

NODES = ["node-0", "node-1", "node-2"]
MODEL = {"kind": "linear", "target": "income", "features": ["age", "level"]}


def _reference(qenv: QueryEnv) -> tuple[np.ndarray, int]:
    rows = duckdb.sql(f"SELECT income, age, level FROM {union_sql([qenv.nodes[n] for n in NODES])} "
                      "WHERE income IS NOT NULL").fetchall()
    data = np.array(rows, dtype=float)
    beta, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(data)), data[:, 1:]]), data[:, 0], rcond=None)
    return beta, len(data)


@pytest.fixture(scope="module")
def model_product(qenv: QueryEnv, funded_buyer: None) -> dict[str, Any]:
    res = make_resource(qenv.server, sensitivity_tags=["personal_information"])
    authz = make_authorization(qenv.server, [res["id"]])
    return make_product(qenv.server, authz, stage="listed", columns=COLUMNS, deliverable="model", model=MODEL,
                        sample=[{"region": "north", "level": 1, "age": 30, "income": 12.5}],
                        provider_ids=[qenv.provider_ids[n] for n in NODES])


def test_registration_validates_the_model(qenv: QueryEnv) -> None:
    authz = make_authorization(qenv.server, [make_resource(qenv.server)["id"]])
    bad = [({"deliverable": "model"}, "declares its model"),
           ({"deliverable": "model", "model": {**MODEL, "target": "region"}}, "not a numeric column"),
           ({"deliverable": "model", "model": {**MODEL, "features": ["age", "income"]}}, "distinct"),
           ({"model": MODEL}, "only a product whose deliverable is a model")]
    with qenv.server.client("operator") as op:
        for over, why in bad:
            r = op.post("/products", json=product_body(authz, columns=COLUMNS, **over))
            assert r.status_code == 422 and why in r.text, r.text


def test_fit_license_and_model(qenv: QueryEnv, model_product: dict[str, Any]) -> None:
    assert (model_product["deliverable"], model_product["model"]) == ("model", MODEL)
    pid = model_product["id"]
    lic = buy_license(qenv, model_product)
    with qenv.server.client("buyer") as buyer:  # nothing fitted yet; and a model product answers no queries
        assert buyer.get(f"/licenses/{lic['id']}/model").status_code == 404
    r = query(qenv, lic["id"], "SELECT COUNT(*) FROM data", epsilon=0.5)
    assert r.status_code == 422 and "delivers a fitted model" in r.text, r.text
    with qenv.server.client("operator") as op:
        r = op.post(f"/products/{pid}/model/fit", json={"epsilon": 1.0, "delta": 1e-6})
        assert r.status_code == 200, r.text
        fitted = r.json()
        spent = op.get(f"/products/{pid}/total-budget").json()
    assert fitted["terms"] == ["(intercept)", "age", "level"] and 0.9 < fitted["epsilon"] <= 1.0
    assert math.isclose(spent["epsilon_spent"], fitted["epsilon"], rel_tol=1e-6)
    beta, n = _reference(qenv)
    assert abs(fitted["n"] - n) < 60
    for coef, se, want, (lo, hi) in zip(fitted["coef"], fitted["se"], beta, fitted["ci95"], strict=True):
        assert abs(coef - want) <= 5 * se and lo < coef < hi
    with qenv.server.client("buyer") as buyer:
        got = buyer.get(f"/licenses/{lic['id']}/model")
        assert got.status_code == 200 and got.json() == fitted, got.text
        record = buyer.get(f"/ledger/records/{fitted['receipt']['seq']}").json()["record"]
        assert buyer.get("/licenses/no-such-license/model").status_code == 404
    assert record["kind"] == "model.fit" and record["subject"] == pid
    model = {k: fitted[k] for k in ("kind", "target", "terms", "coef", "se_noise", "n", "r2", "residual_sd",
                                     "ridge", "se", "ci95")}
    assert record["data"]["model_hash"] == fitted["model_hash"] == hashlib.sha256(canonical_json(model)).hexdigest()
    assert record["data"]["epsilon"] == exact(fitted["epsilon"]) and record["data"]["plan_hash"] == fitted["plan_hash"]
    with qenv.server.client("operator") as op:  # the operator is no buyer: the license's model is not its to read
        assert op.get(f"/licenses/{lic['id']}/model").status_code == 403
        r = op.put(f"/products/{pid}/total-budget", json={"epsilon": fitted["epsilon"] + 0.5, "delta": 1e-3})
        assert r.status_code == 200, r.text
        r = op.post(f"/products/{pid}/model/fit", json={"epsilon": 1.0})  # past the product-wide cap: refused whole
        assert r.status_code == 409 and "scope=product_total" in r.json()["detail"], r.text
        assert math.isclose(op.get(f"/products/{pid}/total-budget").json()["epsilon_spent"], fitted["epsilon"])
    _shown_in_portal_and_cli(qenv, model_product, lic["id"], fitted)


def _shown_in_portal_and_cli(qenv: QueryEnv, product: dict[str, Any], license_id: str, fitted: dict[str, Any]) -> None:
    coef = cell(fitted["coef"][1], fitted["ci95"][1])
    with Browser(qenv.server) as b:
        b.sign_in(qenv.server.keys["buyer"])
        page = b.http.get(f"/portal/buyer?license={license_id}&lang=en").text
        assert 'data-testid="license-model"' in page and "<code>(intercept)</code>" in page and coef in page
        assert 'id="query-form"' not in page  # a model product answers no queries
        assert "模型产品" in b.http.get(f"/portal/products/{product['code']}?lang=zh").text
    out = CliRunner().invoke(app, ["model", "show", license_id, "--api", qenv.server.url,
                                   "--key", qenv.server.keys["buyer"]], env={"COLUMNS": "200"})
    assert out.exit_code == 0 and "(intercept)" in out.stdout and coef in out.stdout, out.stdout


def test_linreg_query_on_a_data_product(qenv: QueryEnv, funded_buyer: None) -> None:
    product = listed_product(qenv, NODES, tags=["personal_information"])
    lic = buy_license(qenv, product, kinds=[*ALL_KINDS, "linreg"])
    r = query(qenv, lic["id"], "SELECT LINREG(income, age) AS m FROM data WHERE level != 3", epsilon=1.0)
    assert r.status_code == 200, r.text
    body = r.json()
    fit = body["groups"][0]["values"]["m"]
    assert fit["terms"] == ["(intercept)", "age"] and len(body["groups"][0]["se"]["m"]) == 2
    assert 0.9 < body["epsilon_spent"] <= 1.0 and body["result"]["groups"] == body["groups"]
    assert cell(fit, body["groups"][0]["ci95"]["m"]).startswith("(intercept) ")  # as `provex query` prints it
    with qenv.server.client("buyer") as buyer:  # a data product's license delivers no model
        assert buyer.get(f"/licenses/{lic['id']}/model").status_code == 422
    narrow = buy_license(qenv, product)
    r = query(qenv, narrow["id"], "SELECT LINREG(income, age) FROM data", epsilon=1.0)
    assert r.status_code == 400 and "LINREG" in r.text, r.text
