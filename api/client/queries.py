"""Client calls for provider nodes, federated queries and audit."""

from __future__ import annotations

from api.client.base import BaseClient, Json


class QueryAuditCalls(BaseClient):
    """Provider nodes, query policies and queries, ledger records and audit."""

    # -- providers and queries -------------------------------------------------------------------
    def coordinator_identity(self) -> Json:
        """`GET /coordinator/identity`: the key provider nodes must trust."""
        return dict(self.get("/coordinator/identity"))

    def register_node(self, node_id: str, url: str, public_key: str, policy_hash: str | None = None) -> Json:
        """`POST /providers/me/node` (provider): register (or move) the node this provider runs, with the hash
        of the signed policy it enforces."""
        return dict(self.post("/providers/me/node", {"node_id": node_id, "url": url, "public_key": public_key,
                                                     "policy_hash": policy_hash}))

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

    def preview_queries(self, license_id: str, queries: list[Json]) -> Json:
        """`POST /queries/preview` (buyer): what each query (`{"sql", "epsilon"?, "delta"?}`, run in this order)
        would be charged, what it would leave and its expected error; nothing is spent, no provider is asked."""
        return dict(self.post("/queries/preview", {"license_id": license_id, "queries": queries}))

    # -- model products --------------------------------------------------------------------------
    def fit_model(self, ref: str, epsilon: float, delta: float = 1e-6) -> Json:
        """`POST /products/{ref}/model/fit` (the product's operator): fit its model, spending (epsilon, delta)
        from the product-wide budget; the fitted model with its `model.fit` receipt."""
        return dict(self.post(f"/products/{ref}/model/fit", {"epsilon": epsilon, "delta": delta}))

    def license_model(self, license_id: str) -> Json:
        """`GET /licenses/{license_id}/model` (its buyer): the fitted model the license delivers."""
        return dict(self.get(f"/licenses/{license_id}/model"))

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

    def verify(self, witnesses: list[str] | None = None, require_witness: bool = False) -> Json:
        """`POST /audit/verify` (auditor): recompute from the database and compare with the chain; lists who cosigned
        each checkpoint, and notes (or, with `require_witness`, a divergence) where an expected witness did not."""
        return dict(self.post("/audit/verify", {"witnesses": witnesses or [], "require_witness": require_witness}))

    def checkpoints(self, limit: int | None = None) -> list[Json]:
        """`GET /audit/checkpoints` (auditor, authority, exchange): the newest checkpoints on chain, newest first,
        with the witnesses that cosigned each."""
        return list(self.get("/audit/checkpoints", limit=limit))

    def anchoring_lag(self, limit: int | None = None) -> list[Json]:
        """`GET /audit/anchoring-lag` (auditor, authority, exchange): per confirmed checkpoint, oldest first, the
        records it anchored and how many seconds they waited (min, median, max)."""
        return list(self.get("/audit/anchoring-lag", limit=limit))
