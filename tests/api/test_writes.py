"""Idempotent retries, chain rejections mapped to 409 with nothing written, bad input never a 500."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from eth_account import Account

from tests.utils.builders import authorized, authz_body, make_resource, product_body, resource_body
from tests.utils.server import Server


def count(server: Server, table: str) -> int:
    with server.db().connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_idempotent_retry_returns_first_result_and_writes_nothing(server: Server) -> None:
    key = str(uuid.uuid4())
    body = resource_body()
    with server.client("authority") as c:
        before, chain_before = count(server, "resources"), count(server, "chain_tx")
        first = c.post("/resources", json=body, headers={"Idempotency-Key": key})
        assert first.status_code == 201
        second = c.post("/resources", json=body, headers={"Idempotency-Key": key})
        assert second.status_code == 201 and second.json() == first.json()
        assert second.headers.get("idempotent-replayed") == "true"
        assert count(server, "resources") == before + 1 and count(server, "chain_tx") == chain_before + 1
        other = c.post("/resources", json={**body, "volume": 7}, headers={"Idempotency-Key": key})
        assert other.status_code == 422 and other.json()["error"] == "idempotency_key_mismatch"
        assert count(server, "resources") == before + 1
        too_long = c.post("/resources", json=body, headers={"Idempotency-Key": "k" * 201})
        assert too_long.status_code == 422 and too_long.json()["field"] == "Idempotency-Key"
    with server.client("exchange") as ex:  # keys are scoped per account; a response with an API key is not kept
        account = {"role": "buyer", "name": "idem buyer", **server.binding(Account.create(), "buyer", "idem buyer")}
        r = ex.post("/accounts", json=account, headers={"Idempotency-Key": key})
        assert r.status_code == 201
        again = ex.post("/accounts", json=account, headers={"Idempotency-Key": key})
        assert again.status_code == 409 and again.json()["error"] == "idempotency_key_secret_response"
        assert r.json()["api_key"] not in again.text


def test_idempotent_error_is_replayed_too(server: Server) -> None:
    key = str(uuid.uuid4())
    core = make_resource(server, "core")
    with server.client("authority") as c:
        body = authz_body(server, [core["id"]])
        r1 = c.post("/authorizations", json=body, headers={"Idempotency-Key": key})
        r2 = c.post("/authorizations", json=body, headers={"Idempotency-Key": key})
        assert r1.status_code == r2.status_code == 409 and r1.json() == r2.json()
        assert r1.json()["error"] == "CoreDataNotTradable"


def test_chain_rejection_maps_to_409_and_writes_nothing(server: Server) -> None:
    """The database is tampered so the early check passes; the chain still refuses."""
    res = make_resource(server, "important")
    with server.db().begin() as conn:
        conn.execute(sa.text("UPDATE resources SET classification='general' WHERE id=:i"), {"i": res["id"]})
    before, chain_before = count(server, "authorizations"), count(server, "chain_tx")
    with server.client("authority") as c:
        r = c.post("/authorizations", json=authz_body(server, [res["id"]], max_classification="general"))
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "ClassificationExceeded"
    assert r.json()["detail"].startswith("ClassificationExceeded(resourceId=0x")
    assert "classification=1" in r.json()["detail"] and "maxClassification=0" in r.json()["detail"]
    assert count(server, "authorizations") == before and count(server, "chain_tx") == chain_before
    with server.db().begin() as conn:  # undo the tamper: later tests verify this shared database
        conn.execute(sa.text("UPDATE resources SET classification='important' WHERE id=:i"), {"i": res["id"]})


def test_early_rules_name_the_contract_error(server: Server) -> None:
    general, core = make_resource(server), make_resource(server, "core")
    important = make_resource(server, "important")
    with server.client("authority") as c:
        r = c.post("/authorizations", json=authz_body(server, [general["id"], core["id"]]))
        assert r.status_code == 409 and r.json()["error"] == "CoreDataNotTradable"
        r = c.post("/authorizations", json=authz_body(server, [important["id"]], max_classification="general"))
        assert r.status_code == 409 and r.json()["error"] == "ClassificationExceeded"
        authz = c.post("/authorizations", json=authz_body(server, [general["id"]])).json()
    with server.client("operator") as op:
        r = op.post("/products", json=product_body(authz, resource_ids=[important["id"]]))
        assert r.status_code == 409 and r.json()["error"] == "NotAuthorized"
        r = op.post("/products", json=product_body(authz, classification="important"))
        assert r.status_code == 422 and r.json()["field"] == "classification"
    with server.client("operator2") as other:
        r = other.post("/products", json=product_body(authz))
        assert r.status_code == 409 and r.json()["error"] == "NotAuthorizationHolder"


def _set(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = dict(body)
    keys = path.split(".")
    target: Any = out
    for k in keys[:-1]:
        target[k] = list(target[k]) if isinstance(target[k], list) else dict(target[k])
        target = target[k] if not k.isdigit() else target
    last = keys[-1]
    if value is KeyError:
        target.pop(last)
    else:
        target[last] = value
    return out


RESOURCE_CASES = [
    ("name", "", "name"), ("name", 5, "name"), ("name", "x" * 201, "name"), ("name", KeyError, "name"),
    ("sector", "Not A Code", "sector"), ("region_code", "15010", "region_code"),
    ("classification", "secret", "classification"), ("sensitivity_tags", ["gossip"], "sensitivity_tags[0]"),
    ("content_hash", "xyz", "content_hash"), ("column_schema", [], "column_schema"),
    ("update_frequency", "hourly", "update_frequency"), ("volume", -1, "volume"), ("volume", "many", "volume"),
    ("volume", 1.5, "volume"), ("extra", 1, "extra"),
]


UNKNOWN_ID = "0badc0de-0000-4000-8000-000000000001"  # no such row; fixed so test ids are the same in every run


def _ids(cases: list[tuple[str, Any, str]]) -> list[str]:
    return [f"{c[0]}={c[1]!r}"[:40] for c in cases]


@pytest.mark.parametrize(("field", "value", "named"), RESOURCE_CASES, ids=_ids(RESOURCE_CASES))
def test_bad_resource_input(server: Server, field: str, value: Any, named: str) -> None:
    with server.client("authority") as c:
        r = c.post("/resources", json=_set(resource_body(), field, value))
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_input" and r.json()["field"] == named, r.json()


PRODUCT_CASES = [
    ("title", "", "title"), ("keywords", ["a"] * 21, "keywords"), ("keywords", "crops", "keywords"),
    ("temporal_start", "2015-13-01", "temporal_start"), ("temporal_end", "2014-01-01", "temporal_end"),
    ("quality", {"completeness": 1.5, "timeliness": 1, "accuracy": 1}, "quality.completeness"),
    ("columns", [{"name": "x", "type": "number"}], "columns[0]"),
    ("columns", [{"name": "g", "type": "string", "group_by": True}], "columns[0]"),
    ("columns", [{"name": "Bad Name", "type": "string"}], "columns[0].name"),
    ("sample", [{"nope": 1}], "sample[0].nope"), ("authorization_id", "not-a-uuid", "authorization_id"),
    ("authorization_id", UNKNOWN_ID, "authorization_id"), ("resource_ids", [], "resource_ids"),
    ("provider_ids", [UNKNOWN_ID], "provider_ids[0]"), ("classification", "core", "classification"),
]


@pytest.mark.parametrize(("field", "value", "named"), PRODUCT_CASES, ids=_ids(PRODUCT_CASES))
def test_bad_product_input(server: Server, field: str, value: Any, named: str) -> None:
    authz = _authz_for(server)
    with server.client("operator") as c:
        r = c.post("/products", json=_set(product_body(authz), field, value))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == named, r.json()


_authz_cache: dict[str, dict[str, Any]] = {}


def _authz_for(server: Server) -> dict[str, Any]:
    if server.backend not in _authz_cache:
        _authz_cache[server.backend] = authorized(server)
    return _authz_cache[server.backend]


def test_bad_authorization_input(server: Server) -> None:
    res = make_resource(server)
    with server.client("authority") as c:
        cases = [("valid_from", "yesterday", "valid_from"), ("valid_until", "2020-01-01T00:00:00", "valid_until"),
                 ("operator_id", server.ids["buyer"], "operator_id"), ("resource_ids", [str(uuid.uuid4())],
                                                                      "resource_ids[0]"),
                 ("max_classification", "core", "max_classification"), ("purposes", [], "purposes")]
        for field, value, named in cases:
            r = c.post("/authorizations", json=_set(authz_body(server, [res["id"]]), field, value))
            assert r.status_code == 422, (field, r.text)
            assert r.json()["field"] in (named, ""), (field, r.json())
        r = c.post("/authorizations", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["error"] == "invalid_input"
        r = c.post("/authorizations", json=[1, 2])
        assert r.status_code == 422
    with server.client("buyer") as b:
        assert b.get("/catalog", params={"limit": 0}).json()["field"] == "limit"
        assert b.get("/catalog", params={"price_min": -1}).json()["field"] == "price_min"
        r = b.get("/catalog", params={"cursor": "garbage!!"})
        assert r.status_code == 422 and r.json()["field"] == "cursor"
        assert b.get("/products/does-not-exist").status_code == 404
        assert b.get("/nowhere").json()["error"] == "not_found"
    with server.client(key="pxk_wrong") as bad:
        assert bad.get("/accounts/me").status_code == 401
