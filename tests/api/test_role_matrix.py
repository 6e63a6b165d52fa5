"""Every route x every role: 401 without a key, 403 naming the role, otherwise the route runs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.utils.builders import authorized, make_product
from tests.utils.server import Server

ROLES = ["authority", "operator", "provider", "exchange", "buyer", "auditor"]
ALL = set(ROLES)
PUBLIC = "public"
A, OP, E, U, B, P = "authority", "operator", "exchange", "auditor", "buyer", "provider"
NO_CALL = "no-call"  # the role rule is checked from the OpenAPI x-roles and by Schemathesis, not called here

# (method, path) -> roles allowed (or PUBLIC), and the JSON body sent (None = no body)
MATRIX: dict[tuple[str, str], tuple[set[str] | str, Any]] = {
    ("GET", "/health"): (PUBLIC, None),
    ("GET", "/signing"): (PUBLIC, None),
    ("POST", "/governance/roles"): ({A}, {}),
    ("POST", "/accounts"): ({E}, {}),
    ("GET", "/accounts/me"): (ALL, None),
    ("GET", "/accounts"): ({A, E, U}, None),
    ("GET", "/accounts/{account_id}"): ({A, E, U}, None),
    ("POST", "/resources"): ({A}, {}),
    ("GET", "/resources"): ({A, OP, E, U}, None),
    ("GET", "/resources/{ref}"): ({A, OP, E, U}, None),
    ("POST", "/authorizations"): ({A}, {}),
    ("GET", "/authorizations"): ({A, OP, E, U}, None),
    ("GET", "/authorizations/{ref}"): ({A, OP, E, U}, None),
    ("POST", "/authorizations/{ref}/revoke"): ({A}, {}),
    ("POST", "/authorizations/{ref}/limit"): ({A}, {}),
    ("POST", "/authorizations/sweep-expired"): ({A, E}, None),
    ("POST", "/products"): ({OP}, {}),
    ("GET", "/products/{ref}"): (ALL, None),
    ("PATCH", "/products/{ref}"): ({OP}, {}),
    ("POST", "/products/{ref}/submit"): ({OP}, None),
    ("GET", "/products/{ref}/chain"): ({A, E, U}, None),
    ("POST", "/products/{ref}/review/start"): ({E}, None),
    ("POST", "/products/{ref}/review"): ({E}, {}),
    ("GET", "/products/{ref}/reviews"): ({A, OP, E, U}, None),
    ("POST", "/products/{ref}/suspend"): ({E}, {}),
    ("POST", "/products/{ref}/relist"): ({E}, {}),
    ("POST", "/products/{ref}/delist"): ({E}, {}),
    ("GET", "/catalog"): (ALL, None),
    ("GET", "/notices"): (PUBLIC, None),
    ("GET", "/notices/{ref}"): (PUBLIC, None),
    ("POST", "/products/{ref}/objections"): (ALL, {}),
    ("GET", "/products/{ref}/objections"): (ALL, None),
    ("POST", "/products/{ref}/objections/{objection_id}/resolution"): ({E}, {}),
    ("POST", "/products/{ref}/listing"): ({E}, None),
    ("POST", "/products/{ref}/revisions"): ({OP}, {}),
    ("GET", "/products/{ref}/revisions"): ({A, OP, E, U}, None),
    ("POST", "/products/{ref}/revisions/{revision_id}/decision"): ({E}, {}),
    ("POST", "/products/{ref}/revisions/{revision_id}/publish"): ({OP}, None),
    ("POST", "/products/{ref}/corrections"): ({OP, E}, {}),
    ("POST", "/products/{ref}/cancellations"): ({OP}, {}),
    ("POST", "/products/{ref}/cancellations/{revision_id}/decision"): ({E}, {}),
    ("GET", "/certificates/{code}"): (PUBLIC, None),
    ("GET", "/certificates/{code}/verify"): (PUBLIC, None),
    ("GET", "/certificates"): (PUBLIC, NO_CALL),
    # audit
    ("GET", "/ledger/records/{seq}"): (ALL, NO_CALL),  # whose records each sees: tests/api/test_audit.py
    ("GET", "/audit/products/{ref}/trace"): ({A, E, U}, None),
    ("GET", "/audit/accounts/{account_id}/actions"): ({A, E, U}, None),
    ("POST", "/audit/verify"): ({U}, None),
    ("GET", "/audit/checkpoints"): ({A, E, U}, None),
    ("GET", "/audit/anchoring-lag"): ({A, E, U}, None),
    ("GET", "/audit/security-events"): ({U}, None),
    # keys
    ("POST", "/accounts/{account_id}/rotate-key"): (ALL, NO_CALL),  # the holder only: tests/api/test_keys.py
    ("POST", "/accounts/{account_id}/revoke-key"): (ALL, NO_CALL),  # the holder or the exchange: test_keys.py
    ("POST", "/accounts/me/rotate-key"): (ALL, NO_CALL),
    ("POST", "/accounts/me/recover-key"): (PUBLIC, NO_CALL),  # no API key: the chain key's signature (test_keys.py)
    # providers and queries
    ("GET", "/coordinator/identity"): (PUBLIC, None),
    ("GET", "/providers/me/node"): ({P}, NO_CALL),
    ("POST", "/providers/me/node"): ({P}, {}),
    ("GET", "/providers/nodes"): ({A, OP, E, U}, None),
    ("GET", "/providers/me/status"): ({P}, None),
    ("GET", "/providers/me/queries"): ({P}, None),
    ("GET", "/products/{ref}/nodes"): ({A, OP, E, U}, None),
    ("POST", "/queries"): ({B}, {}),
    ("POST", "/queries/preview"): ({B}, {}),
    ("POST", "/products/{ref}/model/fit"): ({OP}, {}),
    ("GET", "/licenses/{license_id}/model"): ({B}, NO_CALL),
    ("POST", "/verifications"): ({B}, {}),
    ("GET", "/licenses/{license_id}/verifications"): ({B}, NO_CALL),
    ("GET", "/licenses/{license_id}/verification-nodes"): ({B}, NO_CALL),
    ("PUT", "/products/{ref}/query-policy"): ({OP}, {}),
    ("GET", "/products/{ref}/query-policy"): (ALL, NO_CALL),
    # trading
    ("POST", "/products/{ref}/offers"): ({OP}, {}),
    ("GET", "/products/{ref}/offers"): (ALL, None),
    ("GET", "/offers/{offer_id}"): (ALL, NO_CALL),
    ("POST", "/offers/{offer_id}/withdraw"): ({OP}, NO_CALL),
    ("PUT", "/products/{ref}/price-cap"): ({A}, {}),
    ("PUT", "/products/{ref}/price-caps/{form}"): ({A}, {}),
    ("GET", "/products/{ref}/price-caps"): (ALL, None),
    ("GET", "/products/{ref}/price-caps/now"): (ALL, None),
    ("PUT", "/products/{ref}/budget-policy"): ({OP}, {}),
    ("PUT", "/products/{ref}/total-budget"): ({A, OP}, {}),
    ("GET", "/products/{ref}/total-budget"): (ALL, NO_CALL),
    ("GET", "/products/{ref}/budget-usage"): (ALL, None),
    ("GET", "/products/{ref}/quote"): (ALL, NO_CALL),
    ("GET", "/voucher-programmes"): (ALL, None),
    ("POST", "/voucher-programmes"): ({A}, {}),
    ("GET", "/voucher-programmes/{programme_id}"): (ALL, NO_CALL),
    ("GET", "/vouchers"): (ALL, None),
    ("POST", "/vouchers"): ({A}, {}),
    ("GET", "/vouchers/{voucher_id}"): (ALL, NO_CALL),
    ("POST", "/vouchers/{voucher_id}/reclaim"): ({A}, NO_CALL),
    ("GET", "/public-welfare-users"): ({A, E, U}, None),
    ("GET", "/charge-schedule"): (PUBLIC, None),
    ("POST", "/public-welfare-users"): ({A}, {}),
    ("POST", "/orders"): ({B}, {}),
    ("GET", "/orders/{order_id}"): (ALL, NO_CALL),
    ("GET", "/orders"): (ALL, None),  # a buyer's own, all for overseers: tests/portal/test_portal_governance.py
    ("GET", "/licenses"): (ALL, None),
    ("GET", "/licenses/{license_id}"): (ALL, NO_CALL),
    ("GET", "/licenses/{license_id}/charges"): (ALL, NO_CALL),
    ("GET", "/licenses/{license_id}/receipt"): (ALL, NO_CALL),  # who sees it: the license's and record's rules
    ("POST", "/licenses/{license_id}/refund"): ({B, E}, NO_CALL),
    ("POST", "/licenses/{license_id}/release"): (ALL - {U}, NO_CALL),
    ("POST", "/licenses/{license_id}/destruction"): ({B}, {}),
    ("GET", "/negotiations"): (ALL, None),
    ("POST", "/negotiations"): ({B}, {}),
    ("GET", "/negotiations/{negotiation_id}"): (ALL, NO_CALL),
    ("POST", "/negotiations/{negotiation_id}/offer"): ({OP}, {}),
    ("POST", "/negotiations/{negotiation_id}/request"): ({B}, {}),
    ("POST", "/negotiations/{negotiation_id}/accept"): ({B}, NO_CALL),
    ("POST", "/negotiations/{negotiation_id}/agree"): ({OP}, NO_CALL),
    ("POST", "/negotiations/{negotiation_id}/terminate"): ({B, OP}, NO_CALL),
    ("GET", "/accounts/me/statement"): (ALL, None),
    ("GET", "/accounts/me/balance"): (ALL, None),
    ("POST", "/dev/mint"): ({E}, {}),
    # reports
    ("PUT", "/revenue/allowances"): ({A}, {}),
    ("GET", "/revenue"): ({A, OP, E, U}, None),
    ("POST", "/reports"): ({A, OP}, NO_CALL),  # reads the whole log: tests/api/test_reports.py
    ("GET", "/reports"): (PUBLIC, None),
    ("GET", "/reports/{report_id}"): (PUBLIC, NO_CALL),
    # data-asset evidence: the owning operator only (tests/api/test_assets.py)
    ("POST", "/products/{ref}/costs"): ({OP}, NO_CALL),
    ("GET", "/products/{ref}/costs"): ({A, OP, E, U}, None),
    ("GET", "/products/{ref}/asset-ledger"): ({A, OP, E, U}, None),
    ("GET", "/products/{ref}/asset-evidence"): ({A, OP, E, U}, NO_CALL),
}

_targets: dict[str, dict[str, str]] = {}


def targets(server: Server) -> dict[str, str]:
    """One listed product (with its authorization, resource and certificate) per server."""
    if server.backend not in _targets:
        authz = authorized(server)
        product = make_product(server, authz, stage="listed")
        with server.client("exchange") as ex:
            certs = ex.get(f"/products/{product['id']}/reviews").json()
            assert certs
        with server.client("auditor") as aud:
            chain = aud.get(f"/products/{product['id']}/chain").json()
            assert chain["agree"]
        code = _certificate_code(server, product["id"])
        _targets[server.backend] = {"account_id": server.ids["buyer"], "ref": product["id"],
                                    "code": code, "authz": authz["id"], "resource": authz["resource_ids"][0]}
    return _targets[server.backend]


def _certificate_code(server: Server, product_id: str) -> str:
    with server.db().connect() as conn:
        import sqlalchemy as sa

        return str(conn.execute(sa.text("SELECT code FROM certificates WHERE product_id = :p"),
                                {"p": product_id}).scalar_one())


def _url(path: str, t: dict[str, str]) -> str:
    if path.startswith("/authorizations/{ref}"):
        return path.replace("{ref}", t["authz"])
    if path.startswith("/resources/{ref}"):
        return path.replace("{ref}", t["resource"])
    return (path.replace("{ref}", t["ref"]).replace("{code}", t["code"]).replace("{account_id}", t["account_id"])
            .replace("{seq}", "0").replace("{license_id}", "no-such-license")
            .replace("{negotiation_id}", "no-such-negotiation"))


def _call(client: httpx.Client, method: str, url: str, body: Any) -> httpx.Response:
    return client.request(method, url, json=body) if body is not None else client.request(method, url)


def test_matrix_covers_every_route(server: Server) -> None:
    spec = httpx.get(server.url + "/openapi.json").json()
    routes = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert routes == set(MATRIX)


def test_published_roles_match_the_matrix(server: Server) -> None:
    """The `x-roles` each operation publishes (read from its own dependency) is this matrix."""
    spec = httpx.get(server.url + "/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            allowed = MATRIX[(method.upper(), path)][0]
            expected = {PUBLIC} if allowed == PUBLIC else set(allowed)
            assert set(op["x-roles"]) == expected, (method, path)


LIVE = sorted(r for r, (_, body) in MATRIX.items() if body != NO_CALL)


@pytest.mark.parametrize("route", LIVE, ids=lambda r: f"{r[0]} {r[1]}")
def test_route_roles(server: Server, route: tuple[str, str]) -> None:
    allowed, body = MATRIX[route]
    method, path = route
    url = _url(path, targets(server))
    with server.client() as anon:
        r = _call(anon, method, url, body)
        if allowed == PUBLIC:
            assert r.status_code == 200, r.text
        else:
            assert r.status_code == 401 and r.json()["error"] == "unauthenticated"
    for role in ROLES:
        with server.client(role) as c:
            r = _call(c, method, url, body)
        assert r.status_code < 500, (role, r.text)
        if allowed == PUBLIC or role in allowed:
            assert r.status_code not in (401, 403), (role, r.text)
            if method == "GET":
                assert r.status_code == 200, (role, r.text)
        else:
            assert r.status_code == 403, (role, r.status_code, r.text)
            assert r.json()["error"] == "forbidden" and "requires role" in r.json()["detail"]


def test_operators_only_touch_their_own(server: Server) -> None:
    draft = make_product(server)
    listed = make_product(server, stage="listed")
    mine = authorized(server)
    with server.client("operator2") as other:
        assert other.get(f"/products/{draft['id']}").status_code == 404
        assert other.patch(f"/products/{draft['id']}", json={"title": "x"}).status_code == 404
        assert other.post(f"/products/{draft['id']}/submit").status_code == 404
        r = other.patch(f"/products/{listed['id']}", json={"title": "hijack"})
        assert r.status_code == 403 and "operator" in r.json()["detail"]
        assert other.get(f"/authorizations/{mine['id']}").status_code == 404
        assert all(a["operator_id"] == server.ids["operator2"] for a in other.get("/authorizations").json())
        page = other.get("/catalog", params={"status": "draft", "limit": 100}).json()
        assert all(p["operator_id"] == server.ids["operator2"] for p in page["items"])
    with server.client("buyer") as buyer:
        page = buyer.get("/catalog", params={"limit": 100}).json()
        # the public ones: listed, and in their public notice (another test's product may be in notice now)
        assert page["items"] and all(p["status"] in ("listed", "in_notice") for p in page["items"])
        assert buyer.get("/catalog", params={"status": "draft"}).json()["items"] == []
