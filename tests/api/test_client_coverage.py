"""`api.client.ProvexClient` covers every API operation: `ROUTES` equals the app's OpenAPI, each mapped method
sends exactly that operation to a live server, and the trading, key and audit methods behave end to end."""

from __future__ import annotations

import inspect
import re
import time
import typing
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.client import DEV_ROUTES, ROUTES, ApiError, ProvexClient
from api.settings import Settings
from tests.utils.server import Server
from tests.utils.trading import listed_product, make_offer, mint, new_account

METHODS = {"get", "put", "post", "patch", "delete"}
PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000"


def _operations(settings: Settings | None = None) -> dict[tuple[str, str], list[str]]:
    """(METHOD, path) -> x-roles, for every operation of the app, built in-process (no server)."""
    spec = create_app(settings).openapi()
    return {(m.upper(), path): list(op.get("x-roles") or [])
            for path, ops in spec["paths"].items() for m, op in ops.items() if m in METHODS}


OPERATIONS = _operations()


def test_routes_table_equals_the_openapi_operations() -> None:
    table, api = set(ROUTES), set(OPERATIONS)
    assert not api - table, f"API operations without a client method: {sorted(api - table)}"
    assert not table - api, f"client ROUTES entries the API does not have: {sorted(table - api)}"


def test_dev_routes_are_mounted_in_dev_only() -> None:
    assert DEV_ROUTES.issubset(ROUTES)
    assert set(_operations(Settings(env="dev"))) == set(ROUTES)
    prod = Settings.model_construct(env="prod")  # unvalidated: prod settings refuse dev defaults at start
    assert set(_operations(prod)) == set(ROUTES) - DEV_ROUTES


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_each_mapped_method_exists_and_documents_its_route(route: tuple[str, str]) -> None:
    name = ROUTES[route]
    method = getattr(ProvexClient, name, None)
    assert callable(method), f"ProvexClient.{name} is missing"
    assert not name.startswith("_") and name not in ("get", "post", "request")
    hints = typing.get_type_hints(method)
    assert hints["return"] in (dict[str, Any], list[dict[str, Any]]), f"{name} returns {hints['return']}"
    # the docstring names the operation (the path's placeholders may be spelled {id}, {ref}, ...)
    doc = inspect.getdoc(method) or ""
    shape = re.sub(r"\\\{[^}]*\\\}", r"\\{[^}]+\\}", re.escape(route[1]))
    if len({r for r, n in ROUTES.items() if n == name}) == 1:
        assert re.search(f"`{route[0]} {shape}[`?]", doc), f"{name} docstring should name `{route[0]} {route[1]}`"


# -- the methods send their operations to a live server -------------------------------------------------------
class Recording(httpx.HTTPTransport):
    """The real network transport, remembering each request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path))
        return super().handle_request(request)


def _template(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(path)))


def _dispatched(method: str, path: str) -> tuple[str, str]:
    """The operation a request lands on: among the templates it fits, literal segments win ({x} last)."""
    fits = [(m, p) for m, p in OPERATIONS if m == method and _template(p).fullmatch(path)]
    assert fits, f"{method} {path} is no API operation"
    return min(fits, key=lambda r: r[1].count("{"))


def _placeholder_args(name: str, path: str) -> dict[str, Any]:
    """Values for a method's required parameters, from their types (the server refuses them before use)."""
    fn = getattr(ProvexClient, name)
    hints = typing.get_type_hints(fn)
    args: dict[str, Any] = {}
    for p in inspect.signature(fn).parameters.values():
        if p.name == "self" or p.default is not inspect.Parameter.empty or p.kind is p.VAR_KEYWORD:
            continue
        hint = hints[p.name]
        if p.name == "action":
            args[p.name] = path.rsplit("/", 1)[1]
        elif hint is int:
            args[p.name] = 1
        elif hint is float:
            args[p.name] = 0.5
        elif hint is str:
            args[p.name] = PLACEHOLDER_ID
        else:
            args[p.name] = {}
    return args


def test_each_method_sends_its_operation(server: Server) -> None:
    """Without a key: protected operations answer 401 (so the route exists and guards itself), public ones answer;
    either way the single request sent must land on the mapped operation."""
    transport = Recording()
    with ProvexClient(server.url, transport=transport) as anon:
        for (method, path), name in sorted(ROUTES.items()):
            transport.sent.clear()
            try:
                getattr(anon, name)(**_placeholder_args(name, path))
                outcome = 200
            except ApiError as e:
                outcome = e.status
                assert e.status != 405 and e.detail != "Not Found", f"{name}: {e}"
            assert len(transport.sent) == 1, f"{name} sent {transport.sent}"
            assert _dispatched(*transport.sent[0]) == (method, path), f"{name} sent {transport.sent[0]}"
            if OPERATIONS[(method, path)] != ["public"]:
                assert outcome == 401, f"{name} ({method} {path}) answered {outcome} without a key"


# -- the new methods behave ------------------------------------------------------------------------------------
def _as(server: Server, role: str | None = None, key: str | None = None) -> ProvexClient:
    signer = server.accounts.get(role or "") if key is None else server.signer_of(key)
    return ProvexClient(server.url, key or server.keys[role or ""], timeout=30, signer=signer)


def test_negotiation_through_the_client(server: Server) -> None:
    product = listed_product(server)
    base = make_offer(server, product, "negotiable", [], basis="negotiated")
    buyer = new_account(server, fen=50_000)
    with _as(server, key=buyer["api_key"]) as b, _as(server, "operator") as op:
        n = b.open_negotiation(base["id"], "one_off", unit_price_fen=5, message="pilot")
        nid = n["id"]
        assert (n["state"], n["turn"]) == ("requested", "operator")
        with pytest.raises(ApiError) as refused:
            b.accept_negotiation(nid)
        assert (refused.value.status, refused.value.code) == (403, "NotYourTurn")
        n = op.offer_negotiation(nid, 9, valid_for_seconds=600)
        assert (n["state"], n["turn"]) == ("offered", "buyer")
        n = b.request_negotiation(nid, 7, message="meet in the middle")
        assert (n["state"], n["turn"]) == ("requested", "operator")
        n = op.terminate_negotiation(nid, "no deal")
        assert n["state"] == "terminated"
        assert [e["to_state"] for e in b.negotiation(nid)["events"]] == [
            "requested", "offered", "requested", "terminated"]
        with pytest.raises(ApiError) as ended:
            b.accept_negotiation(nid)
        assert ended.value.status == 409
        # a second one to the end: accepted, agreed (a private offer on chain), ordered -> finalized
        nid2 = b.open_negotiation(base["id"], "one_off", unit_price_fen=6)["id"]
        op.offer_negotiation(nid2, 8)
        assert b.accept_negotiation(nid2)["state"] == "accepted"
        agreed = op.agree_negotiation(nid2)
        assert agreed["state"] == "agreed" and agreed["agreed_offer_id"]
        placed = b.order(agreed["agreed_offer_id"])
        order = b.get_order(placed["order"]["id"])
        assert order["id"] == placed["order"]["id"]
        assert b.negotiation(nid2)["state"] == "finalized"
        assert {nid, nid2} <= {x["id"] for x in b.negotiations()}
    stranger = new_account(server)
    with _as(server, key=stranger["api_key"]) as s:
        assert not {nid, nid2} & {x["id"] for x in s.negotiations()}  # not a party, sees neither


def test_refund_release_destruction_voucher_and_budget_through_the_client(server: Server) -> None:
    product = listed_product(server)
    offer = make_offer(server, product, "one_off", [(1, 700)], refund_window_seconds=600)
    quick = make_offer(server, product, "one_off", [(1, 300)], refund_window_seconds=2)
    buyer = new_account(server, fen=5_000)
    mint(server, server.ids["authority"], 1_000)
    expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    with _as(server, "operator") as op:
        assert op.set_budget_policy(product["id"], 2.0, 1e-5) == {"epsilon": 2.0, "delta": 1e-5, "rho": None}
    with _as(server, "authority") as auth:
        programme = auth.create_voucher_programme({
            "name": "client programme", "annual_budget_fen": 150, "max_share_bps": 5_000,
            "starts_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(), "ends_at": expires,
            "holder_ids": [buyer["id"]]})
        voucher = auth.issue_voucher({"programme_id": programme["id"], "holder_id": buyer["id"], "amount_fen": 100,
                                      "expires_at": expires, "sectors": []})
        assert auth.voucher_programme(programme["id"])["remaining_fen"] == 50
        assert [p["id"] for p in auth.voucher_programmes()].count(programme["id"]) == 1
    with _as(server, key=buyer["api_key"]) as b:
        assert b.voucher(voucher["id"])["remaining_fen"] == 100
        lic = b.order(offer["id"], voucher_id=voucher["id"])["license"]
        assert lic["status"] == "escrowed"
        with pytest.raises(ApiError) as early:
            b.confirm_destruction(lic["id"], "nothing to destroy yet")
        assert early.value.status == 409
        refunded = b.refund_license(lic["id"])
        assert refunded["id"] == lic["id"] and refunded["status"] == "refunded"
        assert b.voucher(voucher["id"])["remaining_fen"] == 100
        with pytest.raises(ApiError) as twice:
            b.refund_license(lic["id"])
        assert (twice.value.status, twice.value.code) == (409, "NotEscrowed")
        destroyed = b.confirm_destruction(lic["id"], "All results received under this license were deleted.")
        assert destroyed["license_id"] == lic["id"]
        assert destroyed["receipt"] == f"/ledger/records/{destroyed['record_seq']}"
        kept = b.order(quick["id"])["license"]["id"]
        time.sleep(2.5)
        mint(server, server.ids["authority"], 1)  # Anvil mines on demand: a block carrying the new time
        assert b.release_license(kept)["status"] == "paid"


def test_keys_node_and_security_events_through_the_client(server: Server) -> None:
    acct = new_account(server)
    old = acct["api_key"]
    with _as(server, key=old) as c:
        rotated = c.rotate_own_key()
        assert rotated["id"] == acct["id"] and rotated["api_key"] != old
        assert c.me()["id"] == acct["id"]  # the client switched to the new key
        with _as(server, key=old) as stale:
            with pytest.raises(ApiError) as gone:
                stale.me()
            assert gone.value.status == 401
        again = c.rotate_key(acct["id"])  # its own account, by id
        assert again["api_key"] not in (old, rotated["api_key"])
        with _as(server, key=again["api_key"]) as holder:
            with pytest.raises(ApiError) as not_auditor:
                holder.security_events()
            assert not_auditor.value.status == 403
        with _as(server, "exchange") as ex:
            with pytest.raises(ApiError) as not_holder:
                ex.rotate_key(acct["id"])  # a new key goes to its holder only
            assert not_holder.value.status == 403 and not_holder.value.body.get("api_key") is None
            revoked_view = ex.revoke_key(acct["id"])
        assert revoked_view["id"] == acct["id"] and "api_key" not in revoked_view
    with _as(server, key=again["api_key"]) as c:
        with pytest.raises(ApiError) as revoked:
            c.me()  # the exchange revoked the key this client holds
        assert revoked.value.status == 401
    provider = new_account(server, role="provider")
    with _as(server, key=provider["api_key"]) as p:
        with pytest.raises(ApiError) as none:
            p.my_node()
        assert none.value.status == 404 and "POST /providers/me/node" in none.value.detail
    with _as(server, "auditor") as aud:
        events = aud.security_events(limit=50)
        assert any(e["status"] == 401 and e["path"] == "/accounts/me" for e in events)
        assert any(e["status"] == 403 and e["path"] == "/audit/security-events" for e in events)
        assert all(old not in str(e) for e in events)
        assert aud.account_actions(acct["id"])["account"]["id"] == acct["id"]

