"""A typed Python client for the Provex API (httpx). The CLI, the demo, the portal and the tests use it.

    from api.client import ProvexClient
    with ProvexClient("http://127.0.0.1:8700", api_key="pxk_...") as px:
        page = px.catalog(q="livestock")
        lic = px.licenses()[0]
        result = px.query(lic["id"], "SELECT COUNT(*) FROM data GROUP BY banner", epsilon=0.2)

Every method returns the decoded JSON of the response (the shapes are the API's response models, see
`/docs`). A non-2xx answer raises `ApiError` with the API's `error` code, `detail` text and, for input
errors, the `field` it is about.

`ROUTES` maps every API operation `(METHOD, path)` to the client method that calls it; a test keeps it equal to
the app's OpenAPI, so a new route without a client method fails the suite.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

import httpx

Json = dict[str, Any]


class ApiError(Exception):
    """The API answered with an error body `{"error": code, "detail": text[, "field": name]}`."""

    def __init__(self, status: int, code: str, detail: str, body: Json | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.body = body or {}

    @property
    def field(self) -> str | None:
        """The input field the error is about (validation and domain input errors)."""
        value = self.body.get("field")
        return str(value) if value else None

    @property
    def fields(self) -> dict[str, str]:
        """Every field named by a validation error, with its message."""
        out = {str(f.get("field")): str(f.get("message")) for f in self.body.get("fields") or []}
        if not out and self.field:
            out[self.field] = self.detail.split(": ", 1)[-1]
        return out


class ProvexClient:
    """One API key against one exchange. Thread-compatible like `httpx.Client` (one per thread is safest)."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, transport=transport)

    # -- plumbing -------------------------------------------------------------------------------
    def __enter__(self) -> ProvexClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None,
                idempotency_key: str | None = None) -> Any:
        """Send one request; return the decoded JSON or raise `ApiError`."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        r = self.http.request(method, path, json=json, params=clean, headers=headers)
        if r.status_code >= 400:
            try:
                body = r.json()
            except ValueError:
                body = {"error": "http_error", "detail": r.text[:500]}
            if not isinstance(body, dict):
                body = {"error": "http_error", "detail": str(body)[:500]}
            raise ApiError(r.status_code, str(body.get("error", "http_error")), str(body.get("detail", "")), body)
        if not r.content:
            return None
        return r.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None, idempotency_key: str | None = None) -> Any:
        return self.request("POST", path, json=body if body is not None else {}, idempotency_key=idempotency_key)

    # -- health and accounts --------------------------------------------------------------------
    def health(self) -> Json:
        """`GET /health`: API status and whether the chain answers."""
        return dict(self.get("/health"))

    def me(self) -> Json:
        """`GET /accounts/me`: the caller's account (role, address, chain state)."""
        return dict(self.get("/accounts/me"))

    def create_account(self, role: str, name: str) -> Json:
        """`POST /accounts` (exchange): onboard a participant; the answer carries its API key once."""
        return dict(self.post("/accounts", {"role": role, "name": name}))

    def accounts(self, role: str | None = None) -> list[Json]:
        """`GET /accounts` (authority, exchange, auditor)."""
        return list(self.get("/accounts", role=role))

    def account(self, account_id: str) -> Json:
        """`GET /accounts/{id}` (authority, exchange, auditor): one account."""
        return dict(self.get(f"/accounts/{account_id}"))

    def rotate_own_key(self) -> Json:
        """`POST /accounts/me/rotate-key`: replace the caller's API key; the old one stops working at once.
        The answer carries the new `api_key`, and this client switches to it."""
        out = dict(self.post("/accounts/me/rotate-key"))
        self.http.headers["Authorization"] = f"Bearer {out['api_key']}"
        return out

    def rotate_key(self, account_id: str) -> Json:
        """`POST /accounts/{id}/rotate-key`: the caller's own account only (like `rotate_own_key`, but this
        client keeps its old key); a new key is never issued to anyone but its holder (403)."""
        return dict(self.post(f"/accounts/{account_id}/rotate-key"))

    def revoke_key(self, account_id: str) -> Json:
        """`POST /accounts/{id}/revoke-key` (exchange, or the holder): the account's API key and portal sessions
        stop working at once; no new key is issued."""
        return dict(self.post(f"/accounts/{account_id}/revoke-key"))

    # -- resources and authorizations -----------------------------------------------------------
    def register_resource(self, body: Json, idempotency_key: str | None = None) -> Json:
        """`POST /resources` (authority): a public data resource with its classification."""
        return dict(self.post("/resources", body, idempotency_key))

    def resources(self, sector: str | None = None, classification: str | None = None, *,
                  limit: int | None = None, after: str | None = None) -> list[Json]:
        """`GET /resources`: public data resources, filtered; `limit` and `after` (a resource id) page them."""
        return list(self.get("/resources", sector=sector, classification=classification, limit=limit, after=after))

    def resource(self, ref: str) -> Json:
        """`GET /resources/{ref}`: one resource, by id or code."""
        return dict(self.get(f"/resources/{ref}"))

    def grant_authorization(self, body: Json, idempotency_key: str | None = None) -> Json:
        """`POST /authorizations` (authority): authorize an operator over resources (授权运营)."""
        return dict(self.post("/authorizations", body, idempotency_key))

    def authorizations(self, operator_id: str | None = None, *, limit: int | None = None,
                       after: str | None = None) -> list[Json]:
        """`GET /authorizations`: an operator's own, or all; `limit` and `after` (an authorization id) page them."""
        return list(self.get("/authorizations", operator_id=operator_id, limit=limit, after=after))

    def authorization(self, ref: str) -> Json:
        """`GET /authorizations/{ref}`: one authorization, by id or code."""
        return dict(self.get(f"/authorizations/{ref}"))

    def revoke_authorization(self, ref: str, reason: str) -> Json:
        """`POST /authorizations/{ref}/revoke` (authority); listed products on it are suspended."""
        return dict(self.post(f"/authorizations/{ref}/revoke", {"reason": reason}))

    def sweep_expired_authorizations(self) -> Json:
        """`POST /authorizations/sweep-expired` (exchange, authority): suspend products on expired ones."""
        return dict(self.post("/authorizations/sweep-expired"))

    # -- products, review, catalog, certificates ------------------------------------------------
    def create_product(self, body: Json, idempotency_key: str | None = None) -> Json:
        """`POST /products` (operator): a draft."""
        return dict(self.post("/products", body, idempotency_key))

    def product(self, ref: str) -> Json:
        """`GET /products/{ref}`: one product, by id or code."""
        return dict(self.get(f"/products/{ref}"))

    def update_product(self, ref: str, patch: Json) -> Json:
        """`PATCH /products/{ref}` (operator, own): edit a draft, or a listed/suspended product (new version)."""
        return dict(self.request("PATCH", f"/products/{ref}", json=patch))

    def submit_product(self, ref: str) -> Json:
        """`POST /products/{ref}/submit` (operator): registers the product on chain."""
        return dict(self.post(f"/products/{ref}/submit"))

    def product_chain(self, ref: str) -> Json:
        """`GET /products/{ref}/chain`: database vs chain for one product."""
        return dict(self.get(f"/products/{ref}/chain"))

    def start_review(self, ref: str) -> Json:
        """`POST /products/{ref}/review/start` (exchange): submitted -> under_review."""
        return dict(self.post(f"/products/{ref}/review/start"))

    def review(self, ref: str, decision: str, checklist: Mapping[str, bool], reasons: str) -> Json:
        """`POST /products/{ref}/review` (exchange): approve (lists and certifies) or reject."""
        return dict(self.post(f"/products/{ref}/review",
                              {"decision": decision, "checklist": dict(checklist), "reasons": reasons}))

    def reviews(self, ref: str) -> list[Json]:
        """`GET /products/{ref}/reviews`: a product's review decisions."""
        return list(self.get(f"/products/{ref}/reviews"))

    def set_status(self, ref: str, action: str, reason: str) -> Json:
        """`POST /products/{ref}/{suspend|relist|delist}` (exchange)."""
        if action not in ("suspend", "relist", "delist"):
            raise ValueError("action must be suspend, relist or delist")
        return dict(self.post(f"/products/{ref}/{action}", {"reason": reason}))

    def catalog(self, **filters: Any) -> Json:
        """`GET /catalog`: q, sector, region_code, classification, provider, operator, price_min, price_max,
        status, sort, cursor, limit. Returns `{"items": [...], "next_cursor": ...}`."""
        return dict(self.get("/catalog", **filters))

    def catalog_all(self, **filters: Any) -> Iterator[Json]:
        """Every product matching the filters, following `next_cursor`."""
        cursor: str | None = None
        while True:
            page = self.catalog(**filters, cursor=cursor)
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def certificates(self, product: str) -> list[Json]:
        """`GET /certificates?product=`: a product's registration certificates (public)."""
        return list(self.get("/certificates", product=product))

    def certificate(self, code: str) -> Json:
        """`GET /certificates/{code}`: one registration certificate (public)."""
        return dict(self.get(f"/certificates/{code}"))

    def verify_certificate(self, code: str) -> Json:
        """`GET /certificates/{code}/verify`: check a certificate against the chain (public)."""
        return dict(self.get(f"/certificates/{code}/verify"))

    # -- trading ---------------------------------------------------------------------------------
    def create_offer(self, ref: str, body: Json) -> Json:
        """`POST /products/{ref}/offers` (operator): how the product is sold, with its split and terms."""
        return dict(self.post(f"/products/{ref}/offers", body))

    def offers(self, ref: str) -> list[Json]:
        """`GET /products/{ref}/offers`: a product's offers visible to the caller."""
        return list(self.get(f"/products/{ref}/offers"))

    def offer(self, offer_id: str) -> Json:
        """`GET /offers/{id}`: one offer."""
        return dict(self.get(f"/offers/{offer_id}"))

    def withdraw_offer(self, offer_id: str) -> Json:
        """`POST /offers/{id}/withdraw` (operator): stop selling under an offer."""
        return dict(self.post(f"/offers/{offer_id}/withdraw"))

    def quote(self, ref: str, offer_id: str, quantity: int = 1, voucher_id: str | None = None, *,
              voucher_amount_fen: int | None = None) -> Json:
        """`GET /products/{ref}/quote`: the exact price, its split among the payees, minus any voucher
        (computed by the settlement contract)."""
        return dict(self.get(f"/products/{ref}/quote", offer_id=offer_id, quantity=quantity, voucher_id=voucher_id,
                             voucher_amount_fen=voucher_amount_fen))

    def set_price_cap(self, ref: str, cap_fen: int) -> Json:
        """`PUT /products/{ref}/price-cap` (authority)."""
        return dict(self.request("PUT", f"/products/{ref}/price-cap", json={"cap_fen": cap_fen}))

    def set_budget_policy(self, ref: str, epsilon: float, delta: float, rho: float | None = None) -> Json:
        """`PUT /products/{ref}/budget-policy` (operator, own product): the privacy budget one buyer may spend on
        the product across all its licenses."""
        body: Json = {"epsilon": epsilon, "delta": delta}
        if rho is not None:
            body["rho"] = rho
        return dict(self.request("PUT", f"/products/{ref}/budget-policy", json=body))

    def issue_voucher(self, body: Json) -> Json:
        """`POST /vouchers` (authority): a funded voucher for a buyer (算力券/数据券)."""
        return dict(self.post("/vouchers", body))

    def vouchers(self) -> list[Json]:
        """`GET /vouchers`: the caller's vouchers (all for authority, exchange, auditor)."""
        return list(self.get("/vouchers"))

    def voucher(self, voucher_id: str) -> Json:
        """`GET /vouchers/{id}`: one voucher with what is left of it."""
        return dict(self.get(f"/vouchers/{voucher_id}"))

    def mint(self, account_id: str, amount_fen: int) -> Json:
        """`POST /dev/mint` (exchange, dev chains only): test fen for an account."""
        return dict(self.post("/dev/mint", {"account_id": account_id, "amount_fen": amount_fen}))

    def balance(self) -> Json:
        """`GET /accounts/me/balance`: settlement-token balance on chain (fen)."""
        return dict(self.get("/accounts/me/balance"))

    def statement(self, period: str = "month") -> Json:
        """`GET /accounts/me/statement`: income and spending by product and period, vouchers, receipts."""
        return dict(self.get("/accounts/me/statement", period=period))

    def order(self, offer_id: str, quantity: int = 1, voucher_id: str | None = None,
              purpose: str | None = None, idempotency_key: str | None = None) -> Json:
        """`POST /orders` (buyer): buy a license. Returns `{"order": ..., "license": ...}`."""
        body: Json = {"offer_id": offer_id, "quantity": quantity}
        if voucher_id:
            body["voucher_id"] = voucher_id
        if purpose:
            body["purpose"] = purpose
        return dict(self.post("/orders", body, idempotency_key or str(uuid.uuid4())))

    def get_order(self, order_id: str) -> Json:
        """`GET /orders/{id}`: one order (its buyer; exchange, authority, auditor). `order()` places one."""
        return dict(self.get(f"/orders/{order_id}"))

    def licenses(self) -> list[Json]:
        """`GET /licenses`: the buyer's own (everyone's for exchange, authority, auditor)."""
        return list(self.get("/licenses"))

    def license(self, license_id: str) -> Json:
        """`GET /licenses/{id}`: one license with its usage and budget left."""
        return dict(self.get(f"/licenses/{license_id}"))

    def charges(self, license_id: str) -> list[Json]:
        """`GET /licenses/{id}/charges`: each query charged to the license."""
        return list(self.get(f"/licenses/{license_id}/charges"))

    def refund_license(self, license_id: str) -> Json:
        """`POST /licenses/{id}/refund` (its buyer, or the exchange): refund an unused escrowed license inside its
        refund window. Returns the license, now `refunded`."""
        return dict(self.post(f"/licenses/{license_id}/refund"))

    def release_license(self, license_id: str) -> Json:
        """`POST /licenses/{id}/release` (any participant but the auditor): pay out an escrowed license to its
        payees after the refund window. Returns the license, now `paid`."""
        return dict(self.post(f"/licenses/{license_id}/release"))

    def confirm_destruction(self, license_id: str, statement: str) -> Json:
        """`POST /licenses/{id}/destruction` (buyer): confirm that delivered copies were destroyed after the
        license ended. Returns `{"license_id", "record_seq", "receipt"}` (the ledger record)."""
        return dict(self.post(f"/licenses/{license_id}/destruction", {"statement": statement}))

    # -- negotiations ----------------------------------------------------------------------------
    # requested -> offered -> accepted -> agreed -> finalized (by the order), or terminated; each answer is the
    # negotiation with its `state`, whose `turn` it is, and its `events`.
    def open_negotiation(self, offer_id: str, kind: str, quantity: int = 1, *, term_days: int | None = None,
                         unit_price_fen: int | None = None, terms: Json | None = None, message: str = "") -> Json:
        """`POST /negotiations` (buyer): request terms on an offer (`kind`: one_off, subscription or metered)."""
        body: Json = {"offer_id": offer_id, "kind": kind, "quantity": quantity, "message": message}
        if term_days is not None:
            body["term_days"] = term_days
        if unit_price_fen is not None:
            body["unit_price_fen"] = unit_price_fen
        if terms is not None:
            body["terms"] = terms
        return dict(self.post("/negotiations", body))

    def negotiations(self) -> list[Json]:
        """`GET /negotiations`: the negotiations the caller is a party to (all for exchange, authority, auditor)."""
        return list(self.get("/negotiations"))

    def negotiation(self, negotiation_id: str) -> Json:
        """`GET /negotiations/{id}`: one negotiation with its transitions."""
        return dict(self.get(f"/negotiations/{negotiation_id}"))

    @staticmethod
    def _counter(unit_price_fen: int, quantity: int | None, terms: Json | None, valid_for_seconds: int | None,
                 message: str) -> Json:
        body: Json = {"unit_price_fen": unit_price_fen, "message": message}
        if quantity is not None:
            body["quantity"] = quantity
        if terms is not None:
            body["terms"] = terms
        if valid_for_seconds is not None:
            body["valid_for_seconds"] = valid_for_seconds
        return body

    def offer_negotiation(self, negotiation_id: str, unit_price_fen: int, *, quantity: int | None = None,
                          terms: Json | None = None, valid_for_seconds: int | None = None, message: str = "") -> Json:
        """`POST /negotiations/{id}/offer` (operator): requested -> offered, with a deadline for the buyer."""
        body = self._counter(unit_price_fen, quantity, terms, valid_for_seconds, message)
        return dict(self.post(f"/negotiations/{negotiation_id}/offer", body))

    def request_negotiation(self, negotiation_id: str, unit_price_fen: int, *, quantity: int | None = None,
                            terms: Json | None = None, valid_for_seconds: int | None = None,
                            message: str = "") -> Json:
        """`POST /negotiations/{id}/request` (buyer): offered -> requested, a counter-proposal."""
        body = self._counter(unit_price_fen, quantity, terms, valid_for_seconds, message)
        return dict(self.post(f"/negotiations/{negotiation_id}/request", body))

    def accept_negotiation(self, negotiation_id: str) -> Json:
        """`POST /negotiations/{id}/accept` (buyer): offered -> accepted."""
        return dict(self.post(f"/negotiations/{negotiation_id}/accept"))

    def agree_negotiation(self, negotiation_id: str) -> Json:
        """`POST /negotiations/{id}/agree` (operator): accepted -> agreed; publishes a private offer for the buyer
        on chain (`agreed_offer_id`), which the buyer then orders."""
        return dict(self.post(f"/negotiations/{negotiation_id}/agree"))

    def terminate_negotiation(self, negotiation_id: str, message: str = "") -> Json:
        """`POST /negotiations/{id}/terminate` (buyer or operator): either party ends it."""
        return dict(self.post(f"/negotiations/{negotiation_id}/terminate", {"message": message}))

    # -- providers and queries -------------------------------------------------------------------
    def coordinator_identity(self) -> Json:
        """`GET /coordinator/identity`: the key provider nodes must trust."""
        return dict(self.get("/coordinator/identity"))

    def register_node(self, node_id: str, url: str, public_key: str) -> Json:
        """`POST /providers/me/node` (provider): register (or move) the node this provider runs."""
        return dict(self.post("/providers/me/node", {"node_id": node_id, "url": url, "public_key": public_key}))

    def my_node(self) -> Json:
        """`GET /providers/me/node` (provider): the node this provider registered."""
        return dict(self.get("/providers/me/node"))

    def nodes(self) -> list[Json]:
        """`GET /providers/nodes`: registered provider nodes."""
        return list(self.get("/providers/nodes"))

    def query_policy(self, ref: str) -> Json:
        """`GET /products/{ref}/query-policy`: what queries on the product may do."""
        return dict(self.get(f"/products/{ref}/query-policy"))

    def set_query_policy(self, ref: str, body: Json) -> Json:
        """`PUT /products/{ref}/query-policy` (operator): noise, threshold, group suppression, defaults."""
        return dict(self.request("PUT", f"/products/{ref}/query-policy", json=body))

    def query(self, license_id: str, sql: str, epsilon: float | None = None, delta: float | None = None) -> Json:
        """`POST /queries` (buyer): a federated aggregate query under a license."""
        body: Json = {"license_id": license_id, "sql": sql}
        if epsilon is not None:
            body["epsilon"] = epsilon
        if delta is not None:
            body["delta"] = delta
        return dict(self.post("/queries", body))

    # -- audit -----------------------------------------------------------------------------------
    def record(self, seq: int) -> Json:
        """`GET /ledger/records/{seq}`: a ledger record with its checkpoint and inclusion proof."""
        return dict(self.get(f"/ledger/records/{seq}"))

    def trace(self, ref: str) -> Json:
        """`GET /audit/products/{ref}/trace`: a product's provenance, in order."""
        return dict(self.get(f"/audit/products/{ref}/trace"))

    def account_actions(self, account_id: str) -> Json:
        """`GET /audit/accounts/{id}/actions` (auditor, authority, exchange): everything an account did, and
        under which authorization."""
        return dict(self.get(f"/audit/accounts/{account_id}/actions"))

    def security_events(self, limit: int | None = None) -> list[Json]:
        """`GET /audit/security-events` (auditor): refused authentications and authorizations, newest last."""
        return list(self.get("/audit/security-events", limit=limit))

    def verify(self) -> Json:
        """`POST /audit/verify` (auditor): recompute from the database and compare with the chain."""
        return dict(self.post("/audit/verify"))


ROUTES: dict[tuple[str, str], str] = {
    # (METHOD, OpenAPI path) -> the ProvexClient method that calls it
    ("GET", "/health"): "health",
    ("GET", "/accounts/me"): "me",
    ("POST", "/accounts"): "create_account",
    ("GET", "/accounts"): "accounts",
    ("GET", "/accounts/{account_id}"): "account",
    ("POST", "/accounts/me/rotate-key"): "rotate_own_key",
    ("POST", "/accounts/{account_id}/rotate-key"): "rotate_key",
    ("POST", "/accounts/{account_id}/revoke-key"): "revoke_key",
    ("GET", "/accounts/me/balance"): "balance",
    ("GET", "/accounts/me/statement"): "statement",
    ("POST", "/resources"): "register_resource",
    ("GET", "/resources"): "resources",
    ("GET", "/resources/{ref}"): "resource",
    ("POST", "/authorizations"): "grant_authorization",
    ("GET", "/authorizations"): "authorizations",
    ("GET", "/authorizations/{ref}"): "authorization",
    ("POST", "/authorizations/{ref}/revoke"): "revoke_authorization",
    ("POST", "/authorizations/sweep-expired"): "sweep_expired_authorizations",
    ("POST", "/products"): "create_product",
    ("GET", "/products/{ref}"): "product",
    ("PATCH", "/products/{ref}"): "update_product",
    ("POST", "/products/{ref}/submit"): "submit_product",
    ("GET", "/products/{ref}/chain"): "product_chain",
    ("POST", "/products/{ref}/review/start"): "start_review",
    ("POST", "/products/{ref}/review"): "review",
    ("GET", "/products/{ref}/reviews"): "reviews",
    ("POST", "/products/{ref}/suspend"): "set_status",
    ("POST", "/products/{ref}/relist"): "set_status",
    ("POST", "/products/{ref}/delist"): "set_status",
    ("GET", "/catalog"): "catalog",
    ("GET", "/certificates"): "certificates",
    ("GET", "/certificates/{code}"): "certificate",
    ("GET", "/certificates/{code}/verify"): "verify_certificate",
    ("POST", "/products/{ref}/offers"): "create_offer",
    ("GET", "/products/{ref}/offers"): "offers",
    ("GET", "/offers/{offer_id}"): "offer",
    ("POST", "/offers/{offer_id}/withdraw"): "withdraw_offer",
    ("GET", "/products/{ref}/quote"): "quote",
    ("PUT", "/products/{ref}/price-cap"): "set_price_cap",
    ("PUT", "/products/{ref}/budget-policy"): "set_budget_policy",
    ("POST", "/vouchers"): "issue_voucher",
    ("GET", "/vouchers"): "vouchers",
    ("GET", "/vouchers/{voucher_id}"): "voucher",
    ("POST", "/dev/mint"): "mint",
    ("POST", "/orders"): "order",
    ("GET", "/orders/{order_id}"): "get_order",
    ("GET", "/licenses"): "licenses",
    ("GET", "/licenses/{license_id}"): "license",
    ("GET", "/licenses/{license_id}/charges"): "charges",
    ("POST", "/licenses/{license_id}/refund"): "refund_license",
    ("POST", "/licenses/{license_id}/release"): "release_license",
    ("POST", "/licenses/{license_id}/destruction"): "confirm_destruction",
    ("POST", "/negotiations"): "open_negotiation",
    ("GET", "/negotiations"): "negotiations",
    ("GET", "/negotiations/{negotiation_id}"): "negotiation",
    ("POST", "/negotiations/{negotiation_id}/offer"): "offer_negotiation",
    ("POST", "/negotiations/{negotiation_id}/request"): "request_negotiation",
    ("POST", "/negotiations/{negotiation_id}/accept"): "accept_negotiation",
    ("POST", "/negotiations/{negotiation_id}/agree"): "agree_negotiation",
    ("POST", "/negotiations/{negotiation_id}/terminate"): "terminate_negotiation",
    ("GET", "/coordinator/identity"): "coordinator_identity",
    ("POST", "/providers/me/node"): "register_node",
    ("GET", "/providers/me/node"): "my_node",
    ("GET", "/providers/nodes"): "nodes",
    ("GET", "/products/{ref}/query-policy"): "query_policy",
    ("PUT", "/products/{ref}/query-policy"): "set_query_policy",
    ("POST", "/queries"): "query",
    ("GET", "/ledger/records/{seq}"): "record",
    ("GET", "/audit/products/{ref}/trace"): "trace",
    ("GET", "/audit/accounts/{account_id}/actions"): "account_actions",
    ("GET", "/audit/security-events"): "security_events",
    ("POST", "/audit/verify"): "verify",
}

__all__ = ["ROUTES", "ApiError", "Json", "ProvexClient"]
