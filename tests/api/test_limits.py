"""Issue 19 probes over real HTTP: amounts, quantities and cursors beyond the one bound are a 422 naming the
field and the bound (never a 500 from a 64-bit column); booleans and strings are not numbers; deep samples
are refused at the edge; the OpenAPI states every maximum as an exact integer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from registry.limits import MAX_CURSOR, MAX_FEN, MAX_JSON_DEPTH, MAX_QUANTITY
from tests.utils.builders import authorized, product_body, resource_body
from tests.utils.server import Server
from tests.utils.trading import listed_product, make_offer, mint, new_account, offer_body, voucher_programme

HUGE = [2**63, 2**127, MAX_FEN + 1]


def _refused(r: Any, field: str, bound: int | None = None) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_input" and body["field"] == field, body
    if bound is not None:
        assert str(bound) in body["detail"], body


@pytest.mark.parametrize("amount", HUGE)
def test_voucher_amount_beyond_the_bound(server: Server, amount: int) -> None:
    with server.client("authority") as c:
        r = c.post("/vouchers", json={"programme_id": str(uuid.uuid4()), "holder_id": server.ids["buyer"],
                                      "amount_fen": amount, "expires_at": "2099-01-01T00:00:00Z"})
    _refused(r, "amount_fen", MAX_FEN)


@pytest.mark.parametrize("cap", [*HUGE, False, True, "5"])
def test_price_cap_beyond_the_bound_or_not_an_integer(server: Server, cap: object) -> None:
    with server.client("authority") as c:
        r = c.put(f"/products/{uuid.uuid4()}/price-cap", json={"cap_fen": cap})
    _refused(r, "cap_fen", MAX_FEN if isinstance(cap, int) and not isinstance(cap, bool) else None)


@pytest.mark.parametrize("quantity", [2**63, MAX_QUANTITY + 1, False, "2"])
def test_order_quantity_beyond_the_bound(server: Server, quantity: object) -> None:
    with server.client("buyer") as c:
        r = c.post("/orders", json={"offer_id": str(uuid.uuid4()), "quantity": quantity})
    _refused(r, "quantity", MAX_QUANTITY if isinstance(quantity, int) and not isinstance(quantity, bool) else None)


@pytest.mark.parametrize(("field", "value", "bound"), [("quantity", 2**63, MAX_QUANTITY),
                                                         ("unit_price_fen", 2**127, MAX_FEN)])
def test_negotiation_numbers_beyond_the_bound(server: Server, field: str, value: int, bound: int) -> None:
    with server.client("buyer") as c:
        r = c.post("/negotiations", json={"offer_id": str(uuid.uuid4()), "kind": "metered", field: value})
    _refused(r, field, bound)


@pytest.mark.parametrize(("path", "param", "bound"), [("/catalog", "price_max", MAX_FEN),
                                                       ("/catalog", "price_min", MAX_FEN),
                                                       ("/authorizations", "after", MAX_CURSOR),
                                                       ("/resources", "after", MAX_CURSOR)])
def test_query_numbers_beyond_the_bound(server: Server, path: str, param: str, bound: int) -> None:
    with server.client("auditor") as c:
        r = c.get(path, params={param: str(10**40)})
        _refused(r, param, bound)
        assert c.get(path, params={param: str(bound)}).status_code == 200


def test_record_number_beyond_the_bound(server: Server) -> None:
    with server.client("auditor") as c:
        _refused(c.get(f"/ledger/records/{2**63}"), "seq", MAX_CURSOR)


@pytest.mark.parametrize("volume", [False, True, "12"])
def test_booleans_and_strings_are_not_integers(server: Server, volume: object) -> None:
    with server.client("authority") as c:
        _refused(c.post("/resources", json=resource_body(volume=volume)), "volume")


@pytest.mark.parametrize("epsilon", ["0.5", True])
def test_epsilon_must_be_a_number(server: Server, epsilon: object) -> None:
    product = listed_product(server)
    body = offer_body("one_off", [(1, 100)])
    body["terms"] = {**body["terms"], "epsilon": epsilon}
    with server.client("operator") as op:
        _refused(op.post(f"/products/{product['id']}/offers", json=body), "terms.epsilon")


def test_quote_of_a_price_beyond_the_bound_is_refused(server: Server) -> None:
    product = listed_product(server)
    offer = make_offer(server, product, "metered", [(1, MAX_FEN)])
    buyer = new_account(server)
    with server.client(key=buyer["api_key"]) as c:
        r = c.get(f"/products/{product['id']}/quote", params={"offer_id": offer["id"], "quantity": 2})
        _refused(r, "quantity", MAX_FEN)
        _refused(c.post("/orders", json={"offer_id": offer["id"], "quantity": 2}), "quantity", MAX_FEN)


def test_negotiated_amount_beyond_the_bound_is_refused(server: Server) -> None:
    product = listed_product(server)
    offer = make_offer(server, product, "negotiable", [])
    with server.client("buyer") as c:
        r = c.post("/negotiations", json={"offer_id": offer["id"], "kind": "metered", "quantity": MAX_QUANTITY,
                                          "unit_price_fen": MAX_FEN})
    _refused(r, "quantity", MAX_FEN)


def _nested(depth: int) -> dict[str, Any]:
    """A sample row whose `county` value is nested `depth` objects deep."""
    value: Any = "Xincheng"
    for _ in range(depth):
        value = {"a": value}
    return {"county": value}


@pytest.mark.parametrize("depth", [30, MAX_JSON_DEPTH])
def test_deep_product_sample_is_refused_at_the_edge(server: Server, depth: int) -> None:
    authz = authorized(server)
    with server.client("operator") as op:
        r = op.post("/products", json=product_body(authz, sample=[_nested(depth)]))
    _refused(r, "sample", None)
    assert f"{MAX_JSON_DEPTH} levels" in r.json()["detail"]


def test_sample_within_the_limit_is_stored(server: Server) -> None:
    authz = authorized(server)
    with server.client("operator") as op:
        r = op.post("/products", json=product_body(authz, sample=[_nested(MAX_JSON_DEPTH - 2)]))
    assert r.status_code == 201, r.text


def test_largest_amount_is_accepted_and_stored_exactly(server: Server) -> None:
    mint(server, server.ids["authority"], MAX_FEN)  # a voucher is funded by its issuer
    programme = voucher_programme(server, [server.ids["buyer"]], budget=MAX_FEN)
    assert programme["annual_budget_fen"] == MAX_FEN
    with server.client("authority") as c:
        r = c.post("/vouchers", json={"programme_id": programme["id"], "holder_id": server.ids["buyer"],
                                      "amount_fen": MAX_FEN, "expires_at": "2099-01-01T00:00:00Z"})
        assert r.status_code == 201, r.text
        assert r.json()["amount_fen"] == MAX_FEN


def _maxima(node: Any, path: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("maximum", "exclusiveMaximum"):
                found.append((path, value))
            found.extend(_maxima(value, f"{path}.{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_maxima(value, f"{path}[{i}]"))
    return found


def test_openapi_states_the_maxima_exactly(server: Server) -> None:
    with server.client() as c:
        raw = c.get("/openapi.json").text
    assert "e+" not in raw.lower(), "a maximum written as a float cannot be read exactly"
    doc = __import__("json").loads(raw)
    maxima = _maxima(doc)
    assert all(not isinstance(v, float) or v < 2**53 for _, v in maxima), maxima
    fen = [v for p, v in maxima if "amount_fen" in p or "cap_fen" in p or "unit_price_fen" in p]
    assert fen and set(fen) == {MAX_FEN}, fen
    assert any("quantity" in p and v == MAX_QUANTITY for p, v in maxima)
