"""Client calls for trading: offers, quotes, price caps and budgets, vouchers, money, orders, licenses,
negotiations."""

from __future__ import annotations

import uuid

from api.client.base import BaseClient, Json


class TradingCalls(BaseClient):
    """Offers, quotes, vouchers, money, orders, licenses and negotiations."""

    # -- offers, prices, vouchers, money, orders, licenses -----------------------------------------------
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

    def set_price_cap_rule(self, ref: str, form: str, cap_fen: int, effective_from: int, trial_cap_fen: int = 0,
                           trial_until: int = 0) -> Json:
        """`PUT /products/{ref}/price-caps/{form}` (authority): form one_off, metered or subscription."""
        return dict(self.request("PUT", f"/products/{ref}/price-caps/{form}", json={
            "cap_fen": cap_fen, "effective_from": effective_from, "trial_cap_fen": trial_cap_fen,
            "trial_until": trial_until}))

    def price_cap_rules(self, ref: str) -> list[Json]:
        """`GET /products/{ref}/price-caps`."""
        return list(self.request("GET", f"/products/{ref}/price-caps"))

    def set_price_cap(self, ref: str, cap_fen: int) -> Json:
        """`PUT /products/{ref}/price-cap` (authority)."""
        return dict(self.request("PUT", f"/products/{ref}/price-cap", json={"cap_fen": cap_fen}))

    def set_total_budget(self, ref: str, epsilon: float, delta: float) -> Json:
        """`PUT /products/{ref}/total-budget` (the product's operator, or the authority): what all buyers
        together may spend on the product."""
        return dict(self.request("PUT", f"/products/{ref}/total-budget", json={"epsilon": epsilon, "delta": delta}))

    def total_budget(self, ref: str) -> Json:
        """`GET /products/{ref}/total-budget`: the product-wide cap, what all buyers spent, what is left."""
        return dict(self.get(f"/products/{ref}/total-budget"))

    def budget_usage(self, ref: str) -> Json:
        """`GET /products/{ref}/budget-usage`: the product-wide budget and, for a buyer, its own on the product
        (never refreshing), each with its spend over time (`history`, after `epsilon_before`)."""
        return dict(self.get(f"/products/{ref}/budget-usage"))

    def set_budget_policy(self, ref: str, epsilon: float, delta: float, rho: float | None = None) -> Json:
        """`PUT /products/{ref}/budget-policy` (operator, own product): the privacy budget one buyer may spend on
        the product across all its licenses."""
        body: Json = {"epsilon": epsilon, "delta": delta}
        if rho is not None:
            body["rho"] = rho
        return dict(self.request("PUT", f"/products/{ref}/budget-policy", json=body))

    def create_voucher_programme(self, body: Json) -> Json:
        """`POST /voucher-programmes` (authority): a programme with its annual budget, share cap, spending window,
        eligible sectors and products and allow-list, created on chain with the authority's own act."""
        return dict(self.post("/voucher-programmes", body))

    def voucher_programmes(self) -> list[Json]:
        """`GET /voucher-programmes`: programmes with their use this budget year."""
        return list(self.get("/voucher-programmes"))

    def voucher_programme(self, programme_id: str) -> Json:
        """`GET /voucher-programmes/{id}`: one programme's budget, issued, remaining, redeemed and vouchers."""
        return dict(self.get(f"/voucher-programmes/{programme_id}"))

    def issue_voucher(self, body: Json) -> Json:
        """`POST /vouchers` (authority): a funded voucher for a buyer (算力券/数据券)."""
        return dict(self.post("/vouchers", body))

    def reclaim_voucher(self, voucher_id: str) -> Json:
        """`POST /vouchers/{id}/reclaim` (authority): the unspent part of an expired voucher back to the authority
        and to its programme's budget."""
        return dict(self.post(f"/vouchers/{voucher_id}/reclaim"))

    def vouchers(self) -> list[Json]:
        """`GET /vouchers`: the caller's vouchers (all for authority, exchange, auditor)."""
        return list(self.get("/vouchers"))

    def voucher(self, voucher_id: str) -> Json:
        """`GET /vouchers/{id}`: one voucher with what is left of it."""
        return dict(self.get(f"/vouchers/{voucher_id}"))

    def charge_schedule(self, limit: int = 100, cursor: str | None = None, sector: str | None = None) -> Json:
        """`GET /charge-schedule` (public): listed products' public prices and caps, a page at a time
        (`next_cursor`); `?format=csv` gives the same as CSV."""
        return dict(self.get("/charge-schedule", limit=limit, cursor=cursor, sector=sector))

    def set_public_welfare_user(self, account_id: str, eligible: bool, reason: str) -> Json:
        """`POST /public-welfare-users` (authority): name a buyer account for free public-welfare use (公共治理、
        公益事业), or stop naming it; signed by the authority's own key, enforced by Settlement."""
        return dict(self.post("/public-welfare-users", {"account_id": account_id, "eligible": eligible,
                                                         "reason": reason}))

    def public_welfare_users(self) -> list[Json]:
        """`GET /public-welfare-users` (authority, exchange, auditor): the accounts named and why."""
        return list(self.get("/public-welfare-users"))

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
              purpose: str | None = None, idempotency_key: str | None = None, use: str | None = None) -> Json:
        """`POST /orders` (buyer): buy a license (`use="public_welfare"`: free, for accounts the authority has
        named). Returns `{"order": ..., "license": ...}`."""
        body: Json = {"offer_id": offer_id, "quantity": quantity}
        if use:
            body["use"] = use
        if voucher_id:
            body["voucher_id"] = voucher_id
        if purpose:
            body["purpose"] = purpose
        return dict(self.post("/orders", body, idempotency_key or str(uuid.uuid4())))

    def get_order(self, order_id: str) -> Json:
        """`GET /orders/{id}`: one order (its buyer; exchange, authority, auditor). `order()` places one."""
        return dict(self.get(f"/orders/{order_id}"))

    def orders(self, state: str | None = None, product_id: str | None = None, *, limit: int | None = None,
               after: int | None = None) -> Json:
        """`GET /orders`: orders, oldest first (all for exchange, authority, auditor; a buyer's own otherwise):
        `{"items": [...], "next_after": n | None}`; pass `next_after` as `after` for the next page."""
        return dict(self.get("/orders", state=state, product_id=product_id, limit=limit, after=after))

    def all_orders(self, state: str | None = None) -> list[Json]:
        """Every order `orders()` would page through."""
        items: list[Json] = []
        after: int | None = None
        while True:
            page = self.orders(state, limit=500, after=after)
            items += page["items"]
            after = page["next_after"]
            if after is None:
                return items

    def licenses(self, use: str | None = None) -> list[Json]:
        """`GET /licenses`: the buyer's own (everyone's for exchange, authority, auditor), optionally of one use
        category (`public_welfare`: what the authority audits)."""
        return list(self.get("/licenses", use=use))

    def license(self, license_id: str) -> Json:
        """`GET /licenses/{id}`: one license with its usage, its budget window (`budget_window`, `window_start`,
        `window_refreshes_at`) and what is spent and left in the current window."""
        return dict(self.get(f"/licenses/{license_id}"))

    def charges(self, license_id: str) -> list[Json]:
        """`GET /licenses/{id}/charges`: each query charged to the license."""
        return list(self.get(f"/licenses/{license_id}/charges"))

    def license_receipt(self, license_id: str) -> Json:
        """`GET /licenses/{id}/receipt`: the ledger receipt of the license's purchase (`license.purchase` record,
        leaf hash, checkpoint, inclusion proof; the proof is null until a checkpoint covers the record)."""
        return dict(self.get(f"/licenses/{license_id}/receipt"))

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
