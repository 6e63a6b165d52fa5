"""Running a buyer's query: parse, price, spend, federate, record.

1. The license (the buyer's own) names the product, its columns and query kinds; the SQL is parsed
   against the product's declared columns (bounds, public domains) and the license's allowances; the
   plan carries the product's privacy unit, if it has one (`query_policy.privacy_unit`).
2. The product's query policy decides noise: exact answers only for products without personal
   information (`query_policy.check_noise_off_allowed`), otherwise (epsilon, delta) calibrated to the
   plan; the cost charged is what the calibration actually uses (rho, and its epsilon at delta), and
   that same noise plan is what the coordinator has the providers add.
3. `licenses.authorize_and_spend` checks and spends atomically; the spend is committed before any
   provider is asked, so concurrent queries can never overspend.
4. The coordinator runs secure aggregation over the product's registered provider nodes. If it fails
   the spend is refunded (`licenses.refund_spend`), so a failed query costs nothing.
   Exact answers need every provider of the product (refused, and refunded, otherwise). Key setup is
   shared across queries through `QueryContext.sessions` (`privacy.secagg.sessions`).
   A refusal is a committed `query.refused` ledger record: exact answers (noise off) that fail
   `privacy.disclosure`'s differencing control, and plans a node refused under its own signed policy
   (the record names the node and the rule and carries the node's signed refusal).
5. A `query.run` ledger record (plan hash, result hash, cost, license, and how many providers took part
   and dropped, never which: the buyer can read the record) is committed with the result; its seq is
   the buyer's receipt (`GET /ledger/records/{seq}`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session

from ledger.records import append_record
from privacy.calibrate import DPParams, NoisePlan, calibrate
from privacy.coordinator import Coordinator
from privacy.disclosure import exact_plan, run_exact_sync
from privacy.errors import (
    DisclosureRefused,
    NotEnoughProviders,
    PolicyRefused,
    PrivacyError,
    ProviderPolicyError,
    QueryError,
)
from privacy.plan import ColumnSpec, Plan
from privacy.result import AggregateResult
from privacy.secagg.sessions import SESSIONS, SessionCache
from privacy.sql import parse_query
from registry.actor import Actor
from registry.errors import InvalidInput
from registry.models import Product, Role
from registry.products import get_product
from registry.queries.partition import check_partition
from registry.queries.policy import check_noise_off_allowed, effective_threshold, policy_of, privacy_unit
from registry.queries.providers import product_endpoints
from registry.queries.schemas import BudgetLeft, QueryIn, QueryOut
from registry.trading.license_views import visible_license
from registry.trading.licenses import LicenseGrant, authorize_and_spend, refund_spend

log = logging.getLogger("provex.queries")
PROVIDER_TIMEOUT = 10.0
TYPES = {"integer": "int", "number": "float"}


def column_specs(product: Product) -> list[ColumnSpec]:
    """The product's declared columns as the query language sees them.

    Integers and numbers keep their bounds; everything else is a category. Only `group_by` columns
    expose their value domain (integer domains are compared as integers). The privacy-ID column is not
    one: no query may name it (its nodes bound each ID's rows instead)."""
    specs = []
    for c in product.columns:
        if c.get("privacy_id"):
            continue
        kind = TYPES.get(c["type"], "category")
        domain: list[str | int] | None = None
        if c.get("group_by"):
            domain = [int(v) for v in c["domain"]] if kind == "int" else list(c["domain"])
        try:
            specs.append(ColumnSpec(c["name"], "category", domain=domain) if kind == "category" else
                         ColumnSpec(c["name"], kind, c["min"], c["max"], domain=domain,  # type: ignore[arg-type]
                                    decimals=c.get("decimals")))
        except ValueError as e:  # a product registered before the capacity rule
            raise InvalidInput("columns", f"product {product.code} cannot be queried: {e}") from None
    return specs


@dataclass
class QueryContext:
    """What a query needs beyond the database: the exchange's coordinator key, and the
    process-wide cache of key-setup sessions its queries share."""

    coordinator_key: Ed25519PrivateKey
    timeout: float = PROVIDER_TIMEOUT
    sessions: SessionCache = SESSIONS


def _dp_params(session: Session, product: Product, data: QueryIn) -> DPParams | None:
    policy = policy_of(session, product)
    if not policy.noise:
        check_noise_off_allowed(session, product)
        if data.epsilon is not None or data.delta is not None:
            raise InvalidInput("epsilon", f"product {product.code} answers exactly (no personal information); "
                                          "omit epsilon and delta")
        return None
    return DPParams(data.epsilon if data.epsilon is not None else policy.default_epsilon,
                    data.delta if data.delta is not None else policy.default_delta)


def _coordinator(ctx: QueryContext, session: Session, product: Product, exact: bool) -> Coordinator:
    """A coordinator over the product's registered nodes; NotEnoughProviders (before anything is
    spent) when fewer than the threshold are registered, or, for exact answers, any is missing."""
    policy = policy_of(session, product)
    threshold = effective_threshold(product, policy)
    endpoints, missing = product_endpoints(session, product)
    if len(endpoints) < threshold or (exact and missing):
        need = "every one of its" if exact else str(threshold)
        raise NotEnoughProviders(f"product {product.code} needs {need} provider nodes; only "
                                 f"{len(endpoints)} of {len(product.provider_ids)} are registered")
    return Coordinator(ctx.coordinator_key, endpoints, threshold, timeout=ctx.timeout,
                       sessions=ctx.sessions, min_group_size=policy.min_group_size)


@dataclass(frozen=True)
class Prepared:
    """A query checked against its license and product: its plan, and the noise (hence the cost) it takes."""

    license_id: str
    product: Product
    plan: Plan
    dp: DPParams | None
    noise: NoisePlan

    @property
    def columns(self) -> set[str]:
        return {c.name for c in self.plan.columns}


def prepare(session: Session, actor: Actor, data: QueryIn,
            refused: Callable[[Product, Plan, QueryError], None] | None = None) -> Prepared:
    """Parse the SQL against the product's columns and the license's allowances, and calibrate its noise;
    `refused(product, plan, error)` hears of a plan the exact-answer rules refuse (then the error is raised)."""
    actor.require(Role.BUYER)
    lic = visible_license(session, actor, data.license_id)
    product = get_product(session, lic.product_id)
    if product.deliverable == "model":
        raise InvalidInput("license_id", f"product {product.code} delivers a fitted model, not query answers: "
                                         f"GET /licenses/{lic.id}/model")
    specs = column_specs(product)
    plan = parse_query(data.sql, specs, allowed_columns=set(lic.columns), allowed_kinds=set(lic.query_kinds))
    plan = replace(plan, privacy_unit=privacy_unit(product, policy_of(session, product)))
    if plan.privacy_unit is not None and plan.privacy_unit.partitioned:
        check_partition(session, product)
    dp = _dp_params(session, product, data)
    if dp is None:  # exact answers: the differencing control of privacy.disclosure
        try:
            plan = exact_plan(plan, specs)
        except QueryError as e:
            if refused is not None:
                refused(product, plan, e)
            raise
    return Prepared(lic.id, product, plan, dp, calibrate(plan, dp))


def run_query(session: Session, ctx: QueryContext, actor: Actor, data: QueryIn) -> QueryOut:
    """Run one query under a license; commits the spend, then the result record (see module doc)."""
    prep = prepare(session, actor, data,
                   refused=lambda product, plan, e: _refused(session, actor, product, data.license_id, plan, e))
    product, plan, dp, noise, lic_id = prep.product, prep.plan, prep.dp, prep.noise, prep.license_id
    coordinator = _coordinator(ctx, session, product, exact=not noise.enabled)
    grant = authorize_and_spend(session, actor, lic_id, kinds=plan.kinds, columns=prep.columns,
                                epsilon=noise.epsilon, delta=noise.delta, rho=noise.rho or None)
    session.commit()
    try:
        result = (coordinator.run_sync(plan, noise, query_id=grant.charge_id) if dp is not None else
                  run_exact_sync(coordinator, plan, coordinator.min_group_size, grant.charge_id))
    except BaseException as exc:
        log.warning("query %s on %s failed; refunding its charge", grant.charge_id, product.code)
        session.rollback()
        refund_spend(session, grant)
        session.commit()
        if isinstance(exc, DisclosureRefused | ProviderPolicyError):
            _refused(session, actor, product, lic_id, plan, exc, charge_id=grant.charge_id)
        raise
    return _record(session, actor, product, grant, plan, result)


def _refused(session: Session, actor: Actor, product: Product, license_id: str, plan: Plan,
             err: PrivacyError, charge_id: str | None = None) -> None:
    """A committed `query.refused` ledger record: the plan refused and the rule that refused it.

    A node's policy refusal names the node and the rule and carries the node's signed refusal (anyone can
    check it against the node's registered key); a refusal after the spend says the charge was refunded."""
    data: dict[str, Any] = {"license_id": license_id, "plan_hash": plan.hash(), "error": err.code,
                            "detail": err.detail}
    if isinstance(err, ProviderPolicyError):
        data.update(node=err.node, rule=err.rule, refusal=err.refusal if isinstance(err, PolicyRefused) else None)
    if charge_id is not None:
        data.update(charge_id=charge_id, refunded=True)
    append_record(session, kind="query.refused", actor=actor.id, subject=product.id, authorization=license_id,
                  data=data)
    session.commit()


def _record(session: Session, actor: Actor, product: Product, grant: LicenseGrant, plan: Plan,
            result: AggregateResult) -> QueryOut:
    body = result.to_dict()
    result_hash = result.hash()
    rec = append_record(session, kind="query.run", actor=actor.id, subject=product.id, authorization=grant.license_id,
                        data={"query_id": result.query_id, "license_id": grant.license_id,
                              "charge_id": grant.charge_id, "plan_hash": plan.hash(), "result_hash": result_hash,
                              "epsilon": result.epsilon, "delta": result.delta, "rho": result.rho,
                              "noised": result.noised, "providers": len(result.participants),
                              "providers_dropped": len(result.dropped), "kinds": sorted(plan.kinds)})
    session.commit()
    groups: list[dict[str, Any]] = body["groups"]
    return QueryOut(
        query_id=result.query_id, license_id=grant.license_id, product_id=product.id, plan_hash=plan.hash(),
        result_hash=result_hash, result=body, groups=groups,
        suppressed_groups=list(result.suppressed_groups), noised=result.noised,
        providers=len(result.participants), providers_dropped=len(result.dropped), epsilon_spent=result.epsilon,
        delta_spent=result.delta, rho_spent=result.rho,
        budget_left=BudgetLeft(epsilon=grant.epsilon_left, delta=grant.delta_left, queries=grant.queries_left),
        receipt={"seq": rec.seq, "url": f"/ledger/records/{rec.seq}"})
