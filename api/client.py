"""A typed Python client for the Provex API (httpx). The CLI, the demo, the portal and the tests use it.

    from api.client import ProvexClient
    with ProvexClient("http://127.0.0.1:8700", api_key="pxk_...") as px:
        page = px.catalog(q="livestock")
        lic = px.licenses()[0]
        result = px.query(lic["id"], "SELECT COUNT(*) FROM data GROUP BY banner", epsilon=0.2)

Every method returns the decoded JSON of the response (the shapes are the API's response models, see
`/docs`). A non-2xx answer raises `ApiError` with the API's `error` code, `detail` text and, for input
errors, the `field` it is about.
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
        return dict(self.get(f"/accounts/{account_id}"))

    # -- resources and authorizations -----------------------------------------------------------
    def register_resource(self, body: Json, idempotency_key: str | None = None) -> Json:
        """`POST /resources` (authority): a public data resource with its classification."""
        return dict(self.post("/resources", body, idempotency_key))

    def resources(self, sector: str | None = None, classification: str | None = None) -> list[Json]:
        return list(self.get("/resources", sector=sector, classification=classification))

    def resource(self, ref: str) -> Json:
        return dict(self.get(f"/resources/{ref}"))

    def grant_authorization(self, body: Json, idempotency_key: str | None = None) -> Json:
        """`POST /authorizations` (authority): authorize an operator over resources (授权运营)."""
        return dict(self.post("/authorizations", body, idempotency_key))

    def authorizations(self, operator_id: str | None = None) -> list[Json]:
        return list(self.get("/authorizations", operator_id=operator_id))

    def authorization(self, ref: str) -> Json:
        return dict(self.get(f"/authorizations/{ref}"))

    def revoke_authorization(self, ref: str, reason: str) -> Json:
        """`POST /authorizations/{ref}/revoke` (authority); listed products on it are suspended."""
        return dict(self.post(f"/authorizations/{ref}/revoke", {"reason": reason}))

    # -- products, review, catalog, certificates ------------------------------------------------
    def create_product(self, body: Json, idempotency_key: str | None = None) -> Json:
        """`POST /products` (operator): a draft."""
        return dict(self.post("/products", body, idempotency_key))

    def product(self, ref: str) -> Json:
        return dict(self.get(f"/products/{ref}"))

    def update_product(self, ref: str, patch: Json) -> Json:
        return dict(self.request("PATCH", f"/products/{ref}", json=patch))

    def submit_product(self, ref: str) -> Json:
        """`POST /products/{ref}/submit` (operator): registers the product on chain."""
        return dict(self.post(f"/products/{ref}/submit"))

    def product_chain(self, ref: str) -> Json:
        """`GET /products/{ref}/chain`: database vs chain for one product."""
        return dict(self.get(f"/products/{ref}/chain"))

    def start_review(self, ref: str) -> Json:
        return dict(self.post(f"/products/{ref}/review/start"))

    def review(self, ref: str, decision: str, checklist: Mapping[str, bool], reasons: str) -> Json:
        """`POST /products/{ref}/review` (exchange): approve (lists and certifies) or reject."""
        return dict(self.post(f"/products/{ref}/review",
                              {"decision": decision, "checklist": dict(checklist), "reasons": reasons}))

    def reviews(self, ref: str) -> list[Json]:
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
        return dict(self.get(f"/certificates/{code}"))

    def verify_certificate(self, code: str) -> Json:
        return dict(self.get(f"/certificates/{code}/verify"))

    # -- trading ---------------------------------------------------------------------------------
    def create_offer(self, ref: str, body: Json) -> Json:
        """`POST /products/{ref}/offers` (operator): how the product is sold, with its split and terms."""
        return dict(self.post(f"/products/{ref}/offers", body))

    def offers(self, ref: str) -> list[Json]:
        return list(self.get(f"/products/{ref}/offers"))

    def offer(self, offer_id: str) -> Json:
        return dict(self.get(f"/offers/{offer_id}"))

    def withdraw_offer(self, offer_id: str) -> Json:
        return dict(self.post(f"/offers/{offer_id}/withdraw"))

    def quote(self, ref: str, offer_id: str, quantity: int = 1, voucher_id: str | None = None) -> Json:
        """`GET /products/{ref}/quote`: the exact price, its split among the payees, minus any voucher
        (computed by the settlement contract)."""
        return dict(self.get(f"/products/{ref}/quote", offer_id=offer_id, quantity=quantity, voucher_id=voucher_id))

    def set_price_cap(self, ref: str, cap_fen: int) -> Json:
        """`PUT /products/{ref}/price-cap` (authority)."""
        return dict(self.request("PUT", f"/products/{ref}/price-cap", json={"cap_fen": cap_fen}))

    def issue_voucher(self, body: Json) -> Json:
        """`POST /vouchers` (authority): a funded voucher for a buyer (算力券/数据券)."""
        return dict(self.post("/vouchers", body))

    def vouchers(self) -> list[Json]:
        return list(self.get("/vouchers"))

    def mint(self, account_id: str, amount_fen: int) -> Json:
        """`POST /dev/mint` (exchange, dev chains only): test fen for an account."""
        return dict(self.post("/dev/mint", {"account_id": account_id, "amount_fen": amount_fen}))

    def balance(self) -> Json:
        """`GET /accounts/me/balance`: settlement-token balance on chain (fen)."""
        return dict(self.get("/accounts/me/balance"))

    def statement(self, period: str = "month") -> Json:
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

    def licenses(self) -> list[Json]:
        """`GET /licenses`: the buyer's own (everyone's for exchange, authority, auditor)."""
        return list(self.get("/licenses"))

    def license(self, license_id: str) -> Json:
        return dict(self.get(f"/licenses/{license_id}"))

    def charges(self, license_id: str) -> list[Json]:
        """`GET /licenses/{id}/charges`: each query charged to the license."""
        return list(self.get(f"/licenses/{license_id}/charges"))

    # -- providers and queries -------------------------------------------------------------------
    def coordinator_identity(self) -> Json:
        """`GET /coordinator/identity`: the key provider nodes must trust."""
        return dict(self.get("/coordinator/identity"))

    def register_node(self, node_id: str, url: str, public_key: str) -> Json:
        """`POST /providers/me/node` (provider): register (or move) the node this provider runs."""
        return dict(self.post("/providers/me/node", {"node_id": node_id, "url": url, "public_key": public_key}))

    def nodes(self) -> list[Json]:
        """`GET /providers/nodes`: registered provider nodes."""
        return list(self.get("/providers/nodes"))

    def query_policy(self, ref: str) -> Json:
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
        return dict(self.get(f"/audit/accounts/{account_id}/actions"))

    def verify(self) -> Json:
        """`POST /audit/verify` (auditor): recompute from the database and compare with the chain."""
        return dict(self.post("/audit/verify"))


__all__ = ["ApiError", "Json", "ProvexClient"]
