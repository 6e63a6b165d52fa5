"""A product's query policy: noise on or off, the provider threshold, group suppression, defaults.

Three rules live here and nowhere else:
* noise may be off only for products none of whose resources carries a personal-information or
  commercial-secret tag;
* the threshold of surviving providers must be a strict majority of the product's providers;
* a product with a privacy-ID column protects IDs, not rows: its plans carry the privacy unit (the column,
  the policy's R and G, and P = the number of its providers, the worst case of one ID at every provider),
  which every node enforces and calibration multiplies into every sensitivity (`privacy.unit`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from privacy.unit import PrivacyUnit
from registry.actor import Actor
from registry.errors import InvalidInput, RuleViolation
from registry.models import Product, Resource
from registry.privacy_unit import privacy_unit_view
from registry.products import owned_product
from registry.queries.models import QueryPolicy
from registry.queries.partition import check_partition
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


def privacy_unit(product: Product, policy: QueryPolicy) -> PrivacyUnit | None:
    """What every plan on the product carries: the ID column, R and G, and P = its number of providers."""
    view = privacy_unit_view(product.columns, len(product.provider_ids), policy.max_rows_per_id,
                             policy.max_groups_per_id, policy.ids_partitioned)
    return PrivacyUnit.from_dict(view) if view else None


def set_policy(session: Session, actor: Actor, ref: str, data: QueryPolicyIn) -> tuple[Product, QueryPolicy]:
    """The operator sets how its product answers queries."""
    product = owned_product(session, actor, ref)
    if not data.noise:
        check_noise_off_allowed(session, product)
    row = session.get(QueryPolicy, product.id) or QueryPolicy(product_id=product.id)
    for key, value in data.model_dump().items():
        setattr(row, key, value)
    effective_threshold(product, row)
    if row.ids_partitioned:
        check_partition(session, product)
    row.updated_at = datetime.now(UTC)
    session.add(row)
    return product, row


def policy_view(product: Product, row: QueryPolicy) -> QueryPolicyOut:
    n = len(product.provider_ids)
    threshold = row.threshold if row.threshold is not None else n // 2 + 1
    unit = privacy_unit(product, row)
    return QueryPolicyOut(product_id=product.id, noise=row.noise, threshold=threshold, providers=n,
                          min_group_size=row.min_group_size, default_epsilon=row.default_epsilon,
                          default_delta=row.default_delta, max_rows_per_id=row.max_rows_per_id,
                          max_groups_per_id=row.max_groups_per_id, ids_partitioned=row.ids_partitioned,
                          privacy_unit=unit.to_dict() if unit else None)
