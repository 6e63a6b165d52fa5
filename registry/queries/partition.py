"""IDs partitioned by provider: the rule that makes P = 1 true, and the prefixes it rests on.

A product whose query policy sets `ids_partitioned` claims that each privacy ID is held by one provider only.
Each of its nodes' signed policies declares the ID prefixes it holds (`privacy_unit.id_prefixes`), and the
node drops every row whose ID starts with none of them (`privacy.provider.bounding`), so one ID reaches at
most one node's answer if and only if no prefix of one node is a prefix of (or equal to) another node's. The
exchange keeps each node's prefixes from the policy it fetched and verified at registration (the coordinator
refuses a node running another policy than registered), and checks the rule here, without asking any node:
when the policy is set, when the product is listed, at every query, and when one of its providers registers a
node again. Otherwise `IdPrefixesMissing` or `IdPrefixesOverlap` (409) names the product and the nodes.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from registry.errors import RuleViolation
from registry.models import Product, ProductProvider
from registry.queries.models import ProviderNode, QueryPolicy


def check_partition(session: Session, product: Product) -> None:
    """Every registered node of the product declares ID prefixes, and no two nodes' prefixes overlap."""
    nodes = session.exec(select(ProviderNode).where(col(ProviderNode.account_id).in_(product.provider_ids))).all()
    seen: list[tuple[str, str]] = []
    for node in sorted(nodes, key=lambda n: n.node_id):
        if not node.id_prefixes:
            raise RuleViolation("IdPrefixesMissing", product=product.code, node=node.node_id)
        for prefix in node.id_prefixes:
            for other, theirs in seen:
                if other != node.node_id and (prefix.startswith(theirs) or theirs.startswith(prefix)):
                    raise RuleViolation("IdPrefixesOverlap", product=product.code, nodes=f"{other},{node.node_id}",
                                        prefixes=f"{theirs},{prefix}")
            seen.append((node.node_id, prefix))


def check_provider_products(session: Session, provider_id: str) -> None:
    """The rule for every partitioned product of a provider (after it registers a node again)."""
    ids = session.exec(select(ProductProvider.product_id).where(ProductProvider.provider_id == provider_id)).all()
    for product in session.exec(select(Product).where(col(Product.id).in_(list(ids)))).all():
        policy = session.get(QueryPolicy, product.id)
        if policy is not None and policy.ids_partitioned:
            check_partition(session, product)
