"""Model products: the operator fits the product's model; buyers holding a license get the fitted model.

A fit is ``LINREG(target, features...)`` (:mod:`privacy.regression`) over the product's registered provider
nodes with noise calibrated to the (ε, δ) the operator asks, spent from the product-wide budget
(`registry.trading.product_budget`, the budget every buyer's queries draw on too). The spend, the
`model.fit` ledger record (plan hash, model hash, ε, δ, ρ, n, providers taking part) and the stored fit are one
transaction committed after the fit: a fit that fails spends and records nothing (the spend's row lock is held
while the providers compute, a few seconds at most). Buyers see only the fitted model, never the data: a model
product answers no queries.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from ledger.canonical import canonical_json
from ledger.records import append_record
from privacy.calibrate import DPParams, calibrate
from privacy.errors import QueryError
from privacy.sql import parse_query
from registry.actor import Actor
from registry.errors import Conflict, InvalidInput, NotFound
from registry.model_schemas import ModelFitIn, ModelOut
from registry.models import Product, Role
from registry.products import get_product
from registry.queries.models import ModelFit
from registry.queries.run import QueryContext, _coordinator, column_specs
from registry.signing import new_id
from registry.trading.errors import UsageRefused
from registry.trading.licenses import buyers_license
from registry.trading.models import LicenseStatus
from registry.trading.offers import require_operator_of
from registry.trading.product_budget import spend_total
from registry.trading.units import delta_units, eps_units

ALIAS = "model"


def model_sql(product: Product) -> str:
    """The fit as a query over the product's table."""
    spec = product.model_spec
    return f"SELECT LINREG({', '.join([spec['target'], *spec['features']])}) AS {ALIAS} FROM data"


def _model_product(session: Session, ref: str) -> Product:
    product = get_product(session, ref)
    if product.deliverable != "model":
        raise InvalidInput("deliverable", f"product {product.code} delivers data, not a model")
    return product


def fit_model(session: Session, ctx: QueryContext, actor: Actor, ref: str, data: ModelFitIn) -> ModelOut:
    """Fit the product's model (its operator); commits the spend, the record and the fit together."""
    actor.require(Role.OPERATOR)
    product = _model_product(session, ref)
    require_operator_of(actor, product)
    try:
        plan = parse_query(model_sql(product), column_specs(product))
    except QueryError as e:
        raise InvalidInput("model", f"product {product.code}'s model cannot be fitted: {e.reason}") from None
    noise = calibrate(plan, DPParams(data.epsilon, data.delta))
    coordinator = _coordinator(ctx, session, product, exact=False)
    spend_total(session, product, (eps_units(noise.epsilon), delta_units(noise.delta), eps_units(noise.rho)),
                (noise.epsilon, noise.delta))
    result = coordinator.run_sync(plan, noise)
    group = result.groups[0]
    fit = None if group.suppressed else group.values[ALIAS]
    if fit is None:
        raise Conflict(f"product {product.code}: too few complete cases to fit its model; nothing was spent")
    model = {"kind": "linear", "target": product.model_spec["target"], **fit,
             "se": group.se[ALIAS], "ci95": group.ci95[ALIAS]}
    model_hash = hashlib.sha256(canonical_json(model)).hexdigest()
    rec = append_record(session, kind="model.fit", actor=actor.id, subject=product.id, data={
        "plan_hash": plan.hash(), "model_hash": model_hash, "epsilon": noise.epsilon, "delta": noise.delta,
        "rho": noise.rho, "n": fit["n"], "providers": len(result.participants),
        "providers_dropped": len(result.dropped)})
    row = ModelFit(id=new_id(session), product_id=product.id, seq=rec.seq, model=model, model_hash=model_hash,
                   plan_hash=plan.hash(), epsilon=noise.epsilon, delta=noise.delta)
    session.add(row)
    session.commit()
    return model_view(row)


def model_view(row: ModelFit) -> ModelOut:
    m: dict[str, Any] = row.model
    return ModelOut(product_id=row.product_id, kind=m["kind"], target=m["target"], terms=m["terms"], coef=m["coef"],
                    se=m["se"], se_noise=m["se_noise"], ci95=m["ci95"], n=m["n"], r2=m["r2"],
                    residual_sd=m["residual_sd"], ridge=m["ridge"], epsilon=row.epsilon, delta=row.delta,
                    plan_hash=row.plan_hash, model_hash=row.model_hash, fitted_at=row.fitted_at,
                    receipt={"seq": row.seq, "url": f"/ledger/records/{row.seq}"})


def license_model(session: Session, actor: Actor, license_id: str) -> ModelOut:
    """The newest fit of the licensed model product, for the license's own buyer (while the license holds)."""
    actor.require(Role.BUYER)
    lic = buyers_license(session, actor, license_id)
    if lic.status == LicenseStatus.REFUNDED:
        raise UsageRefused("LicenseRefunded", license=lic.id)
    now = datetime.now(UTC).replace(tzinfo=None)
    if now < lic.valid_from.replace(tzinfo=None):
        raise UsageRefused("LicenseNotYetValid", license=lic.id, validFrom=lic.valid_from.isoformat())
    if now >= lic.valid_until.replace(tzinfo=None):
        raise UsageRefused("LicenseExpired", license=lic.id, validUntil=lic.valid_until.isoformat())
    product = _model_product(session, lic.product_id)
    row = session.exec(select(ModelFit).where(ModelFit.product_id == product.id)
                       .order_by(col(ModelFit.seq).desc())).first()
    if row is None:
        raise NotFound(f"product {product.code}'s model has not been fitted yet")
    return model_view(row)
