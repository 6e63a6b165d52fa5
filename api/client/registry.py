"""Client calls for the core registry: health, accounts and keys, resources, authorizations, products,
review, catalog and certificates."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from api.client.base import BaseClient, Json


class RegistryCalls(BaseClient):
    """Accounts and keys, resources, authorizations, products and their review, catalog, certificates."""

    # -- health and accounts --------------------------------------------------------------------
    def health(self) -> Json:
        """`GET /health`: API status and whether the chain answers."""
        return dict(self.get("/health"))

    def me(self) -> Json:
        """`GET /accounts/me`: the caller's account (role, address, chain state)."""
        return dict(self.get("/accounts/me"))

    def create_account(self, role: str, name: str, binding: Json) -> Json:
        """`POST /accounts` (exchange): onboard the participant who signed `binding` (`make_binding`: address,
        nonce, deadline, signature); the answer carries its API key once."""
        return dict(self.post("/accounts", {"role": role, "name": name, **binding}))

    def recover_key(self) -> Json:
        """`POST /accounts/me/recover-key`: a new API key, authenticated by the client's signer (its chain key)
        alone; the client needs no API key for it."""
        return dict(self.post("/accounts/me/recover-key"))

    def signing(self) -> Json:
        """`GET /signing`: the EIP-712 domains and types participants sign with (no key needed)."""
        return dict(self.get("/signing"))

    def grant_chain_roles(self, account_ids: list[str], house: bool = False) -> Json:
        """`POST /governance/roles` (authority as governance): the admin accounts' (and house key's) chain roles."""
        return dict(self.post("/governance/roles", {"account_ids": account_ids, "house": house}))

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

    def limit_authorization(self, ref: str, reason: str, valid_until: str | None = None,
                            purposes: list[str] | None = None) -> Json:
        """`POST /authorizations/{ref}/limit` (authority): an earlier end (ISO time) and/or fewer purposes."""
        body: Json = {"reason": reason, "valid_until": valid_until, "purposes": purposes}
        return dict(self.post(f"/authorizations/{ref}/limit", {k: v for k, v in body.items() if v is not None}))

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
        """`PATCH /products/{ref}` (operator, own): edit a draft (a listed product takes `propose_revision`)."""
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

    def review(self, ref: str, decision: str, checklist: Mapping[str, bool], reasons: str,
               notice_days: float | None = None) -> Json:
        """`POST /products/{ref}/review` (exchange): approve (starts the public notice; `notice_days` at least the
        configured period) or reject."""
        body: Json = {"decision": decision, "checklist": dict(checklist), "reasons": reasons}
        if notice_days is not None:
            body["notice_days"] = notice_days
        return dict(self.post(f"/products/{ref}/review", body))

    def reviews(self, ref: str) -> list[Json]:
        """`GET /products/{ref}/reviews`: a product's review decisions."""
        return list(self.get(f"/products/{ref}/reviews"))

    def set_status(self, ref: str, action: str, reason: str) -> Json:
        """`POST /products/{ref}/{suspend|relist|delist}` (exchange)."""
        if action not in ("suspend", "relist", "delist"):
            raise ValueError("action must be suspend, relist or delist")
        return dict(self.post(f"/products/{ref}/{action}", {"reason": reason}))

    def catalog(self, q: str | None = None, *, sort: str | None = None, cursor: str | None = None,
                **filters: Any) -> Json:
        """`GET /catalog`: `q` (words that must all match), `sort` (newest, oldest, title, title_desc, price,
        price_desc), `cursor` (the previous page's `next_cursor`, same query), and filters sector, region_code,
        classification, provider, operator, price_min, price_max, status, limit.
        Returns `{"items": [...], "next_cursor": ...}`."""
        return dict(self.get("/catalog", q=q, sort=sort, cursor=cursor, **filters))

    def catalog_all(self, q: str | None = None, *, sort: str | None = None, **filters: Any) -> Iterator[Json]:
        """Every product matching the filters, in `sort` order, following `next_cursor`."""
        cursor: str | None = None
        while True:
            page = self.catalog(q, sort=sort, cursor=cursor, **filters)
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
