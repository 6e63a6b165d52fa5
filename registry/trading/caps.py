"""Price caps (价格上限): the authority's cap per product and per charge form, with an effective date and a trial
period, and the one rule for the cap that binds at a time, as Settlement.capOf computes it on chain.

The charge form is the offer's kind (one_off per item, metered per call, subscription per period; per data volume
has no offer kind yet). At time t: before `trial_until` the trial cap; from `effective_from` the form's cap; else
the product's cap (`price_caps`); 0 at a level falls through to the next, and no cap at all is None.
"""

from __future__ import annotations

import time

from sqlmodel import Session, col, select

from ledger.records import append_record
from registry.actor import Actor
from registry.chain import ChainGateway, submit
from registry.models import Role
from registry.products import visible_product
from registry.schemas import ChainReceiptOut
from registry.trading.cap_schemas import PriceCapRuleIn, PriceCapRuleOut
from registry.trading.models import FORM_OF_KIND, PriceCap, PriceCapRule


def now() -> int:
    return int(time.time())


def cap_at(session: Session, product_id: str, kind: str | None, t: int) -> int | None:
    """The unit-price cap binding a purchase of an offer of `kind` of the product at unix time `t`."""
    rule = session.get(PriceCapRule, (product_id, kind)) if kind in FORM_OF_KIND else None
    if rule is not None and t < rule.trial_until and rule.trial_cap_fen > 0:
        return rule.trial_cap_fen
    if rule is not None and rule.cap_fen > 0 and t >= rule.effective_from:
        return rule.cap_fen
    row = session.get(PriceCap, product_id)
    return row.cap_fen if row is not None and row.cap_fen > 0 else None


def set_rule(session: Session, gateway: ChainGateway, actor: Actor, ref: str, kind: str,
             data: PriceCapRuleIn) -> PriceCapRule:
    """The authority sets the cap of one charge form of a product (Settlement.setFormCap)."""
    actor.require(Role.AUTHORITY)
    product = visible_product(session, actor, ref)
    row = session.get(PriceCapRule, (product.id, kind)) or PriceCapRule(product_id=product.id, kind=kind,
                                                                        authority_id=actor.id)
    values = data.model_dump()
    for k, v in values.items():
        setattr(row, k, v)
    row.authority_id = actor.id
    session.add(row)
    tx = submit(session, gateway, subject_type="price_cap_rule", subject_id=product.id, action="price_cap_rule.set",
                payload={"product_id": product.id, "authority_id": actor.id, "form": FORM_OF_KIND[kind], **values})
    row.chain_state, row.tx_hash, row.block_number, row.log_index = (tx.state, tx.tx_hash, tx.block_number,
                                                                     tx.log_index)
    append_record(session, kind="price_cap_rule.set", actor=actor.id, subject=product.id,
                  authorization=product.authorization_id, data={"kind": kind, **values})
    return row


def rules_of(session: Session, actor: Actor, ref: str) -> list[PriceCapRule]:
    product = visible_product(session, actor, ref)
    return list(session.exec(select(PriceCapRule).where(PriceCapRule.product_id == product.id)
                             .order_by(col(PriceCapRule.kind))).all())


def rule_view(session: Session, row: PriceCapRule) -> PriceCapRuleOut:
    return PriceCapRuleOut(product_id=row.product_id, kind=row.kind, cap_fen=row.cap_fen,
                           effective_from=row.effective_from, trial_cap_fen=row.trial_cap_fen,
                           trial_until=row.trial_until, cap_now_fen=cap_at(session, row.product_id, row.kind, now()),
                           chain=ChainReceiptOut(state=row.chain_state, tx_hash=row.tx_hash,
                                                 block_number=row.block_number, log_index=row.log_index))


def caps_now(session: Session, actor: Actor, ref: str) -> dict[str, int | None]:
    """The unit-price cap binding each charge form of the product now (its form's rule, else the product's cap;
    None: no cap), as an offer of that kind is checked against it."""
    product = visible_product(session, actor, ref)
    t = now()
    return {str(kind): cap_at(session, product.id, kind, t) for kind in FORM_OF_KIND}
