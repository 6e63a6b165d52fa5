"""Provider nodes as they answer now: each product's nodes with their live state (for its operator and the
overseers), and a provider's own node with the signed policy it enforces and the queries run on the products
it provides data for.

A node's state is one of `serving` (answers with its registered identity and policy, and the policy covers the
product's columns: `registry.queries.serving`), `unreachable` (no answer at an allowed address), `mismatch`
(answers, but with another identity, policy hash or coordinator key), `uncovered` (its policy leaves out a
column of the product) or `no_node` (the provider registered none). Nothing is written.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from ledger.records import LedgerRecord
from privacy.coordinator import ProviderEndpoint
from privacy.provider.policy import Policy, PolicyFormatError, verify_policy
from privacy.secagg.crypto import load_public_key
from registry.actor import Actor
from registry.models import Account, Product, Role
from registry.products import visible_product
from registry.queries.egress import NodeUnverified, fetch_identity, fetch_node_json
from registry.queries.models import ProviderNode
from registry.queries.providers import identity_matches, node_view
from registry.queries.serving import NodeReach, covers

MAX_QUERIES = 200


def _endpoint(row: ProviderNode) -> ProviderEndpoint:
    return ProviderEndpoint(row.node_id, row.url, row.public_key, row.policy_hash)


def live_state(node: ProviderEndpoint, reach: NodeReach, product: Product | None = None) -> str:
    """`serving`, `unreachable`, `mismatch` or (with a product) `uncovered`: see the module doc."""
    try:
        ident = fetch_identity(node.url, reach.egress)
    except NodeUnverified:
        return "unreachable"
    if not identity_matches(ident, node.id, node.public_key_hex, node.policy_hash, reach.coordinator_key):
        return "mismatch"
    if product is not None and node.policy_hash is not None and not covers(node, product, reach):
        return "uncovered"
    return "serving"


def product_nodes(session: Session, actor: Actor, ref: str, reach: NodeReach) -> list[dict[str, Any]]:
    """The product's providers in `provider_ids` order, each with its node (or none) and the node's live state."""
    product = visible_product(session, actor, ref)
    ids = list(product.provider_ids)
    names = dict(session.exec(select(Account.id, Account.name).where(col(Account.id).in_(ids))).all())
    nodes = {n.account_id: n for n in session.exec(
        select(ProviderNode).where(col(ProviderNode.account_id).in_(ids))).all()}
    out = []
    for pid in ids:
        row = nodes.get(pid)
        out.append({"provider_id": pid, "provider_name": names.get(pid, ""),
                    "node": node_view(row).model_dump(mode="json") if row else None,
                    "state": live_state(_endpoint(row), reach, product) if row else "no_node"})
    return out


def _policy(row: ProviderNode, reach: NodeReach) -> Policy | None:
    """The node's signed policy as it serves it now, if it is signed by the node and hashes to the registered
    hash; None otherwise."""
    if row.policy_hash is None:
        return None
    try:
        document = fetch_node_json(row.url, "/policy", reach.egress)
        policy = verify_policy(document, row.node_id, load_public_key(row.public_key))
    except (NodeUnverified, PolicyFormatError, ValueError):
        return None
    return policy if policy.hash() == row.policy_hash else None


def own_status(session: Session, actor: Actor, reach: NodeReach) -> dict[str, Any]:
    """The provider's node (or none), its live state, the policy it enforces, and the products listing it."""
    actor.require(Role.PROVIDER)
    row = session.get(ProviderNode, actor.id)
    products = [{"id": p.id, "code": p.code, "title": p.title, "status": p.status}
                for p in _provided(session, actor)]
    if row is None:
        return {"node": None, "state": "no_node", "policy": None, "products": products}
    policy = _policy(row, reach)
    return {"node": node_view(row).model_dump(mode="json"), "state": live_state(_endpoint(row), reach),
            "policy": policy.to_body() if policy else None, "products": products}


def _provided(session: Session, actor: Actor) -> list[Product]:
    rows = session.exec(select(Product).order_by(col(Product.pk))).all()
    return [p for p in rows if actor.id in (p.provider_ids or [])]


def served_queries(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The `query.run` records on the products that list this provider, newest first (at most 200). A record
    names how many nodes took part, not which: each row is a query the provider's data was asked for."""
    actor.require(Role.PROVIDER)
    products = {p.id: p for p in _provided(session, actor)}
    if not products:
        return []
    rows = session.exec(select(LedgerRecord).where(LedgerRecord.kind == "query.run")
                        .where(col(LedgerRecord.subject).in_(list(products)))
                        .order_by(col(LedgerRecord.seq).desc()).limit(MAX_QUERIES)).all()
    out = []
    for rec in rows:
        body = json.loads(rec.body)
        data, product = body["data"], products[rec.subject]
        out.append({"seq": rec.seq, "at": body["at"], "product_id": product.id, "product_code": product.code,
                    "product_title": product.title, "query_id": data.get("query_id"),
                    "kinds": data.get("kinds", []), "epsilon": _number(data.get("epsilon")),
                    "noised": data.get("noised"), "providers": data.get("providers"),
                    "providers_dropped": data.get("providers_dropped")})
    return out


def _number(value: Any) -> float | None:
    """A number of a ledger record's data (canonical JSON writes non-integers as decimal strings)."""
    return None if value is None else float(value)
