"""A product's query policy: noise on or off, the provider threshold, group suppression, defaults.

Two rules live here and nowhere else:
* noise may be off only for products none of whose resources carries a personal-information or
  commercial-secret tag;
* the threshold of surviving providers must be a strict majority of the product's providers.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from registry.actor import Actor
from registry.errors import InvalidInput, RuleViolation
from registry.models import Product, Resource
from registry.products import owned_product
from registry.queries.models import QueryPolicy
from registry.queries.schemas import QueryPolicyIn, QueryPolicyOut

# Sensitivity tags that rule out exact answers: personal information (PIPL: personal and sensitive
# personal information: health, minors, whereabouts, financial accounts) and commercial secrets.
PERSONAL_TAGS = frozenset({"personal_information", "health", "minors", "location", "financial",
                           "commercial_secret"})


def policy_of(session: Session, product: Product) -> QueryPolicy:
    """The stored policy, or the defaults (noise on, majority threshold)."""
    return session.get(QueryPolicy, product.id) or QueryPolicy(product_id=product.id)


def personal_tags(session: Session, product: Product) -> list[str]:
    """The personal-information and commercial-secret tags found on the product's resources."""
    tags: set[str] = set()
    for res in session.exec(select(Resource).where(col(Resource.id).in_(product.resource_ids))).all():
        tags |= PERSONAL_TAGS.intersection(res.sensitivity_tags)
    return sorted(tags)


def check_noise_off_allowed(session: Session, product: Product) -> None:
    """NoiseRequired: exact (noise-free) answers only for products without personal information or
    commercial secrets."""
    tags = personal_tags(session, product)
    if tags:
        raise RuleViolation("NoiseRequired", product=product.code, personalInformationTags=",".join(tags))


def effective_threshold(product: Product, policy: QueryPolicy) -> int:
    """The policy's threshold, or floor(n/2)+1; always checked to be a strict majority of n."""
    n = len(product.provider_ids)
    threshold = policy.threshold if policy.threshold is not None else n // 2 + 1
    if not n // 2 < threshold <= max(n, 1):
        raise InvalidInput("threshold", f"must be a majority of the product's {n} providers "
                                        f"({n // 2 + 1}..{n}), got {threshold}")
    return threshold


def set_policy(session: Session, actor: Actor, ref: str, data: QueryPolicyIn) -> tuple[Product, QueryPolicy]:
    """The operator sets how its product answers queries."""
    product = owned_product(session, actor, ref)
    if not data.noise:
        check_noise_off_allowed(session, product)
    row = session.get(QueryPolicy, product.id) or QueryPolicy(product_id=product.id)
    for key, value in data.model_dump().items():
        setattr(row, key, value)
    effective_threshold(product, row)
    row.updated_at = datetime.now(UTC)
    session.add(row)
    return product, row


def policy_view(product: Product, row: QueryPolicy) -> QueryPolicyOut:
    n = len(product.provider_ids)
    threshold = row.threshold if row.threshold is not None else n // 2 + 1
    return QueryPolicyOut(product_id=product.id, noise=row.noise, threshold=threshold, providers=n,
                          min_group_size=row.min_group_size, default_epsilon=row.default_epsilon,
                          default_delta=row.default_delta)
