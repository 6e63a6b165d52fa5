"""Hostile input over real HTTP: oversized and deep bodies, huge numbers, unicode edge cases, bad keys."""

from __future__ import annotations

import uuid

import pytest

from tests.utils.builders import authorized, product_body, resource_body
from tests.utils.server import Server

EDGE_TEXT = [
    "数据资源 · 锡林郭勒盟",
    "emoji 🐄🐑 and ZWJ 👩‍🌾",
    "right-to-left \u202eevil\u202c text",
    "zero\u200bwidth",
    "combining e\u0301 vs \u00e9",
    "x" * 200,
]


def test_oversized_body_is_refused_before_parsing(server: Server) -> None:
    with server.client("authority") as c:
        r = c.post("/resources", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                   headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"


@pytest.mark.parametrize("depth", [50, 5_000, 100_000])
def test_deep_json_is_a_client_error(server: Server, depth: int) -> None:
    body = "[" * depth + "]" * depth
    with server.client("authority") as c:
        r = c.post("/resources", content=body.encode(), headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"] in {"invalid_input"}


@pytest.mark.parametrize("volume", [10**40, -1, 1e308, "twelve", 1.5])
def test_huge_and_wrong_numbers_are_refused_with_the_field(server: Server, volume: object) -> None:
    with server.client("authority") as c:
        r = c.post("/resources", json=resource_body(volume=volume))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "volume"


@pytest.mark.parametrize("name", EDGE_TEXT)
def test_unicode_free_text_is_stored_exactly(server: Server, name: str) -> None:
    with server.client("authority") as c:
        r = c.post("/resources", json=resource_body(name=name, department=name))
        assert r.status_code == 201, r.text
        got = c.get(f"/resources/{r.json()['id']}").json()
    assert got["name"] == name and got["department"] == name


@pytest.mark.parametrize("name", ["nul\x00byte", "x" * 201, "", "lone \ud800 surrogate"])
def test_unstorable_text_is_refused_not_truncated(server: Server, name: str) -> None:
    with server.client("authority") as c:
        payload = resource_body(name=name)
        if "\ud800" in name:
            raw = ('{"name": "lone \\ud800 surrogate"' + ',' +
                   __import__("json").dumps({k: v for k, v in payload.items() if k != "name"})[1:])
            r = c.post("/resources", content=raw.encode(), headers={"content-type": "application/json"})
        else:
            r = c.post("/resources", json=payload)
    assert r.status_code in (400, 422), r.text
    assert r.json().get("field") in ("name", "body"), r.text


def test_refusals_are_logged_as_security_events(server: Server) -> None:
    bogus = f"px_{uuid.uuid4().hex}"
    with server.client(key=bogus) as c:
        assert c.get("/accounts/me").status_code == 401
    with server.client("buyer") as c:
        assert c.post("/resources", json=resource_body()).status_code == 403
    with server.client("auditor") as c:
        r = c.get("/audit/security-events", params={"limit": 50})
        assert r.status_code == 200, r.text
        events = r.json()
    kinds = [(e["kind"], e["status"], e["path"]) for e in events]
    assert ("unauthenticated", 401, "/accounts/me") in kinds
    assert any(k == "forbidden" and s == 403 and p == "/resources" for k, s, p in kinds)
    assert all(bogus not in str(e) for e in events), "the presented key itself is never logged"
    with server.client("buyer") as c:
        assert c.get("/audit/security-events").status_code == 403


def test_revoked_key_is_refused_and_logged(server: Server) -> None:
    with server.client("exchange") as ex:
        acct = server.onboard("buyer", "key rotation buyer")
        old = acct["api_key"]
        with server.client(key=old) as c:
            assert c.get("/accounts/me").status_code == 200  # cached as valid
        with server.client(key=old) as other:  # a buyer revokes no one else's key
            assert other.post(f"/accounts/{server.ids['operator']}/revoke-key").status_code == 403
            r = other.post(f"/accounts/{acct['id']}/rotate-key")  # its holder gets its new key
            assert r.status_code == 200, r.text
            new = r.json()["api_key"]
    assert new != old
    with server.client(key=old) as c:
        assert c.get("/accounts/me").status_code == 401
    with server.client(key=new) as c:
        assert c.get("/accounts/me").json()["id"] == acct["id"]
    with server.client("exchange") as ex:
        r = ex.post(f"/accounts/{acct['id']}/revoke-key")  # the exchange revokes (cached key) and learns nothing
        assert r.status_code == 200 and "api_key" not in r.json()
    with server.client(key=new) as c:
        assert c.get("/accounts/me").status_code == 401
    with server.client("auditor") as c:
        events = c.get("/audit/security-events").json()
    assert any(e["path"] == "/accounts/me" and e["status"] == 401 for e in events)


def test_largest_accepted_number_is_stored_exactly(server: Server) -> None:
    with server.client("authority") as c:
        r = c.post("/resources", json=resource_body(volume=10**15))
        assert r.status_code == 201, r.text
        assert c.get(f"/resources/{r.json()['id']}").json()["volume"] == 10**15


@pytest.mark.parametrize(("column", "says"), [
    ({"name": "v", "type": "number", "min": 0, "max": 2.0**62}, "exceeds 2^47"),
    ({"name": "v", "type": "number", "min": -1e12, "max": 1e12, "decimals": 4}, "exceeds 2^47"),
    ({"name": "v", "type": "integer", "min": 0, "max": 10, "decimals": 2}, "0 decimals"),
    ({"name": "v", "type": "number", "min": 0, "max": 1, "decimals": 13}, "decimals"),
    ({"name": "v", "type": "string", "decimals": 2}, "only apply to number"),
])
def test_product_columns_that_could_overflow_are_refused_at_registration(server: Server, column: dict[str, object],
                                                                         says: str) -> None:
    """Bounds x 10^decimals whose sums of squares could overflow the accumulators: a clear 422 naming it."""
    authz = authorized(server, "operator")
    with server.client("operator") as op:
        r = op.post("/products", json=product_body(authz, columns=[column], sample=[]))
        assert r.status_code == 422 and r.json()["error"] == "invalid_input", r.text
        assert says in r.json()["detail"], r.text
        ok = {"name": "v", "type": "number", "min": -40, "max": 50, "decimals": 6}
        r = op.post("/products", json=product_body(authz, columns=[ok], sample=[]))
        assert r.status_code == 201 and r.json()["columns"][0]["decimals"] == 6, r.text


@pytest.mark.parametrize("path", ["/charge-schedule?cursor=99999999999999999999", "/charge-schedule?cursor=-1",
                                  "/ledger/records/99999999999999999999"])
def test_out_of_range_numbers_in_the_url_are_refused_with_the_field(server: Server, path: str) -> None:
    with server.client("auditor") as c:
        r = c.get(path)
    assert r.status_code == 422, r.text
    assert "cursor" in r.text or "seq" in r.text
