"""The serving-node rule: a product is listed (at approval and at relist) only when at least one of its
provider nodes answers now with the policy it registered. The rule lives here and nowhere else.

Every Provex product promises queries: its columns are query columns, and every offer's terms sell query
kinds (a license has no other use), so the rule holds for every listing; a product without providers can
never be listed. A node *serves* the product when, asked now through the egress guard
(`registry.queries.egress`):

* `GET /identity` shows its registered id, key and policy hash, and trusts this exchange's coordinator;
* if it registered a signed policy, `GET /policy` is that policy (signed by the node, hashing to the
  registered hash) and it declares every column of the product (a column it leaves out would be refused
  in every plan that uses it). A node registered without a policy serves under the exchange's policy alone.

Otherwise `NoServingNode` (409) names the product, its providers and how many of them registered a node;
nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from privacy.coordinator import ProviderEndpoint
from privacy.provider.policy import PolicyFormatError, verify_policy
from privacy.secagg.crypto import load_public_key
from registry.errors import RuleViolation
from registry.models import Product
from registry.queries.egress import NodeAddressPolicy, NodeUnverified, fetch_identity, fetch_node_json
from registry.queries.models import QueryPolicy
from registry.queries.partition import check_partition
from registry.queries.providers import identity_matches, product_endpoints


@dataclass(frozen=True)
class NodeReach:
    """What asking a node needs: the exchange's coordinator public key (hex) and where nodes may be reached."""

    coordinator_key: str
    egress: NodeAddressPolicy


def covers(node: ProviderEndpoint, product: Product, reach: NodeReach) -> bool:
    """The node's signed policy is the registered one and declares every column of the product."""
    try:
        document = fetch_node_json(node.url, "/policy", reach.egress)
        policy = verify_policy(document, node.id, load_public_key(node.public_key_hex))
    except (NodeUnverified, PolicyFormatError, ValueError):
        return False
    return policy.hash() == node.policy_hash and {c["name"] for c in product.columns} <= set(policy.columns)


def serves(node: ProviderEndpoint, product: Product, reach: NodeReach) -> bool:
    """The node answers now with its registered identity and policy, and that policy covers the product."""
    try:
        ident = fetch_identity(node.url, reach.egress)
    except NodeUnverified:
        return False
    if not identity_matches(ident, node.id, node.public_key_hex, node.policy_hash, reach.coordinator_key):
        return False
    return node.policy_hash is None or covers(node, product, reach)


def require_serving_node(session: Session, product: Product, reach: NodeReach) -> str:
    """The id of the first of the product's nodes that serves it (in `provider_ids` order); NoServingNode
    otherwise."""
    policy = session.get(QueryPolicy, product.id)
    if policy is not None and policy.ids_partitioned:
        check_partition(session, product)
    endpoints, _missing = product_endpoints(session, product)
    for node in endpoints:
        if serves(node, product, reach):
            return node.id
    raise RuleViolation("NoServingNode", product=product.code, providers=len(product.provider_ids),
                        registeredNodes=len(endpoints))
