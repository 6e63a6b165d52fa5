"""Purchases: the buyer signs its payment; the chain payment makes the order a license.

1. `place_order` checks every rule early (product tradable, offer active and for this buyer, quantity,
   voucher, funds) so a refusal writes nothing; then writes the `order` (license id fixed up front,
   Idempotency-Key unique per buyer) with its `license.buy` job, whose acts (approve when short,
   `buyLicense`) the buyer signs (`registry.signing`).
2. The signed acts are relayed at once (unless older chain jobs are queued): on the receipt the order is
   `paid` and the license row is created in the same transaction; a revert writes nothing (409). If the
   chain is down the order stays `pending` and the outbox dispatcher relays it later.
3. Every later send (the outbox's) first asks the chain for the license id: if the chain already has it (sent
   before a crash or outage), the payment is adopted, never repeated; the send right after placing skips the
   question (nothing else sends a young purchase). `LicenseExists` on chain is the last guard.
4. Prices and splits are the contract's rules computed in process over the chain's offer
   (`registry.trading.pricing`); each chain fact of a purchase is read where it decides something.

A license row exists only when the chain has the payment.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ledger.acts import Act
from ledger.client import Receipt
from ledger.contracts import LicenseStatus as ChainLicenseStatus
from ledger.errors import ChainError, ChainUnavailable, ContractRevert
from ledger.ids import chain_id_of, hex32
from ledger.records import append_record
from ledger.settlement_rules import split_of
from registry.access import require_servable, sees
from registry.actor import Actor
from registry.chain import ChainGateway, apply_result, catch_up, chain_time, record_receipt, relay_entries, submit
from registry.errors import ChainRejected, InvalidInput, NotFound, RuleViolation
from registry.hashing import b32, canonical_hash
from registry.limits import MAX_FEN
from registry.models import Account, ChainState, ChainTx, Product, Role
from registry.products import get_product
from registry.reports.revenue import flag_settlement
from registry.signing import new_id
from registry.trading.license_views import visible_license
from registry.trading.licenses import build_terms, create_license
from registry.trading.models import License, LicenseStatus, Offer, Order, OrderState, Use
from registry.trading.negotiations import check_agreement, finalize_for_license
from registry.trading.offers import check_price_cap, get_offer, receipt_of
from registry.trading.pricing import check_quantity, price_of, require_on_chain, unit_price_of
from registry.trading.public_welfare import check_use
from registry.trading.schemas import OrderIn, OrderOut
from registry.trading.vouchers import add_redeemed, check_voucher

log = logging.getLogger("provex.orders")


def _find_order_by_key(session: Session, buyer_id: str, key: str) -> Order | None:
    return session.exec(select(Order).where(Order.buyer_id == buyer_id).where(Order.idempotency_key == key)).first()


def check_order(session: Session, gateway: ChainGateway, actor: Actor, data: OrderIn) -> tuple[Offer, Product]:
    """Every purchase rule that can be checked without the chain, named like the contract's errors."""
    actor.require(Role.BUYER)
    try:
        offer = get_offer(session, data.offer_id)
    except NotFound:
        raise InvalidInput("offer_id", f"unknown offer {data.offer_id}") from None
    product = get_product(session, offer.product_id)
    oid = hex32(chain_id_of(offer.id))
    require_servable(session, product)
    if offer.buyer_id is not None and offer.buyer_id != actor.id:
        buyer = session.exec(select(Account.address).where(Account.id == offer.buyer_id)).one()
        raise RuleViolation("NotOfferBuyer", offerId=oid, buyer=buyer, caller=actor.address)
    if not offer.active:
        raise RuleViolation("OfferInactive", offerId=oid)
    check_quantity(offer, data.quantity)
    # a cap set after the offer binds too, the cap of its charge form at this time
    check_price_cap(session, product, [unit_price_of(offer, data.quantity)], offer.kind)
    if data.purpose is not None and data.purpose not in offer.terms["purposes"]:
        raise InvalidInput("purpose", f"not one of the offer's purposes: {offer.terms['purposes']}")
    check_use(session, actor, data)
    if offer.negotiation_id:
        check_agreement(session, offer, data.quantity)
    require_on_chain(offer)
    return offer, product


def _check_funds(session: Session, gateway: ChainGateway, actor: Actor, offer: Offer, product: Product,
                 data: OrderIn) -> tuple[int | None, int]:
    """Price, voucher and balance against the chain; returns the contract's price (`priceOf`) and the voucher
    fen to use, or (None, the fen asked for) when the chain is down (the checks are skipped, the order queued).
    A public-welfare license costs nothing: (0, 0)."""
    if data.use == Use.PUBLIC_WELFARE:
        return 0, 0
    try:
        amount = price_of(gateway.ledger, offer, data.quantity)
        voucher_fen = 0
        if data.voucher_id:
            _, voucher_fen = check_voucher(session, actor, data.voucher_id, product, amount, data.voucher_amount_fen)
        balance = gateway.ledger.balance_of(actor.address)
    except ChainUnavailable:
        return None, data.voucher_amount_fen or 0
    except ContractRevert as exc:
        raise ChainRejected(exc) from exc
    if balance < amount - voucher_fen:
        raise RuleViolation("ERC20InsufficientBalance", sender=actor.address, balance=balance,
                            needed=amount - voucher_fen)
    return amount, voucher_fen


def place_order(session: Session, gateway: ChainGateway, actor: Actor, data: OrderIn,
                idempotency_key: str | None = None) -> Order:
    """Check every rule, then write the order with its `license.buy` job: the buyer's signed acts are relayed
    at once (the license recorded in the same transaction) or, when the chain is down, queued."""
    if idempotency_key:
        existing = _find_order_by_key(session, actor.id, idempotency_key)
        if existing is not None:
            return existing
    offer, product = check_order(session, gateway, actor, data)
    if data.voucher_id:  # chain-free voucher rules first (amount rules need the price)
        check_voucher(session, actor, data.voucher_id, product, MAX_FEN, data.voucher_amount_fen)
    amount, voucher_fen = _check_funds(session, gateway, actor, offer, product, data)
    order_id, license_id = new_id(session), new_id(session)
    # To the minute: the buyer's signed request runs twice (to learn its acts, then with their signatures), and
    # the terms' hash is in the signed calldata; a minute boundary in between is an `act_changed`, prepared again.
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    terms = build_terms(offer, license_id=license_id, buyer_id=actor.id, buyer_address=actor.address,
                        quantity=data.quantity, purpose=data.purpose or offer.terms["purposes"][0], use=data.use,
                        start=start)
    order = Order(id=order_id, buyer_id=actor.id, product_id=product.id, offer_id=offer.id, quantity=data.quantity,
                  license_id=license_id, voucher_id=data.voucher_id, voucher_requested_fen=data.voucher_amount_fen,
                  terms=terms, terms_hash=canonical_hash(terms), idempotency_key=idempotency_key,
                  use=data.use, chain_state=ChainState.PENDING)
    session.add(order)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        again = _find_order_by_key(session, actor.id, idempotency_key or "")
        if again is None:
            raise
        return again
    append_record(session, kind="order.placed", actor=actor.id, subject=product.id,
                  data={"order_id": order.id, "license_id": license_id, "offer_id": offer.id,
                        "quantity": data.quantity, "voucher_id": data.voucher_id, "terms_hash": order.terms_hash,
                        "use": data.use.value})
    submit(session, gateway, subject_type="order", subject_id=order.id, action="license.buy",
           payload={"order_id": order.id, "amount": amount, "voucher_fen": voucher_fen}, defer=True)
    return order


def _older_jobs_pending(session: Session, job: ChainTx) -> bool:
    """Older queued jobs (an offer, a voucher, an account's gas) go first; other purchases are independent
    of this one (each has its own license id), so purchases in flight do not hold each other back."""
    stmt = (select(ChainTx.pk).where(ChainTx.state == ChainState.PENDING).where(col(ChainTx.pk) < job.pk)
            .where(ChainTx.action != "license.buy").limit(1))
    return session.exec(stmt).first() is not None


def pay_now(session: Session, gateway: ChainGateway, order: Order) -> None:
    """Once the order and its signed job are committed, send the payment at once, in a transaction of its own
    (the database is not held while the chain works, so concurrent purchases do not wait on each other).
    On an outage the outbox sends it later; on a revert the order fails (409)."""
    job = session.exec(select(ChainTx).where(ChainTx.subject_type == "order")
                       .where(ChainTx.subject_id == order.id)).first()
    if job is None or job.state != ChainState.PENDING or _older_jobs_pending(session, job):
        return
    try:
        receipt = send_purchase(gateway, session, job, fresh=True)
    except (ChainUnavailable, IntegrityError):
        session.rollback()  # still pending; the dispatcher (or the concurrent sender) finishes it
        return
    except ContractRevert as exc:
        job.state, job.error, job.attempts = ChainState.FAILED, str(exc), job.attempts + 1
        session.add(job)
        apply_result(session, job)
        session.commit()
        raise ChainRejected(exc) from exc
    except ChainError as exc:
        log.warning("purchase %s left pending: %s", job.subject_id, exc)
        session.rollback()
        return
    record_receipt(job, receipt)
    session.add(job)
    apply_result(session, job)
    session.commit()


def plan_purchase(gateway: ChainGateway, session: Session, p: dict[str, Any]) -> list[Act]:
    """The buyer's acts: approve Settlement when its allowance is short (dev token), then `buyLicense`
    (`buyPublicWelfareLicense` for a public-welfare order: nothing to pay). The order is new (its license id is
    derived from the signed request, which runs once), so the chain is not asked for its license here: the
    sender asks before any later send (`send_purchase`), and `LicenseExists` on chain is the last guard."""
    order = session.exec(select(Order).where(Order.id == p["order_id"])).one()
    ledger = gateway.ledger
    if order.use == Use.PUBLIC_WELFARE:
        return [ledger.acts.buy_public_welfare_license(order.license_id, order.offer_id, order.quantity,
                                                       b32(order.terms_hash))]
    buyer = session.exec(select(Account.address).where(Account.id == order.buyer_id)).one()
    try:
        short = p["amount"] is None or ledger.allowance(buyer) < int(p["amount"]) - int(p["voucher_fen"])
    except ChainUnavailable:
        short = True  # queued for later: approve first, to be safe
    acts = [ledger.acts.approve_settlement()] if short else []
    return [*acts, ledger.acts.buy_license(order.license_id, order.offer_id, order.quantity, b32(order.terms_hash),
                                           order.voucher_id or "", int(p["voucher_fen"]))]


def send_purchase(gateway: ChainGateway, session: Session, job: ChainTx, *, fresh: bool = False) -> Receipt:
    """The `license.buy` runner: relay the buyer's signed acts (unless the chain has the license already),
    then record the license from the chain's own figures. On a revert the order is marked failed (in the
    caller's session) and the revert re-raised.

    `fresh`: sent right after the order was placed (`pay_now`), its acts planned moments ago against the chain
    (`plan_purchase` asked for the license) and no other sender touching it yet (the outbox leaves young
    purchases alone): the license is not asked for again before the send. A send made meanwhile would still
    be found by the forwarder (its nonce used: the payment adopted, `relay_entries`)."""
    order = session.exec(select(Order).where(Order.id == job.payload["order_id"])).one()
    if order.state == OrderState.PAID and order.tx_hash:
        return Receipt(order.tx_hash, order.block_number or 0, order.log_index, 0)
    ledger = gateway.ledger
    offer = get_offer(session, order.offer_id)
    chain_license = None if fresh else ledger.license(order.license_id)
    receipt: Receipt | None = None
    if chain_license is None:
        try:
            receipt = relay_entries(gateway, job, burn=job.pk is not None)
        except ContractRevert as exc:
            order.state, order.error = OrderState.FAILED, str(exc)
            session.add(order)
            append_record(session, kind="order.failed", actor=order.buyer_id, subject=order.product_id,
                          data={"order_id": order.id, "error": exc.name})
            raise
        chain_license = ledger.license(order.license_id)
        assert chain_license is not None
    if receipt is None or receipt.log_index is None:  # adopted: the payment was made by an earlier send
        bought = ledger.find_events("Settlement", "LicensePurchased", licenseId=chain_id_of(order.license_id))
        assert bought, f"license {order.license_id} is on chain without its LicensePurchased event"
        receipt = bought[-1].receipt()
    payouts = _payouts(gateway, offer, chain_license.amount) if order.use == Use.COMMERCIAL else []
    _record_paid(session, order, offer, receipt, chain_license.amount, chain_license.voucher_paid,
                 LicenseStatus.ESCROWED if chain_license.status == ChainLicenseStatus.ESCROWED else LicenseStatus.PAID,
                 chain_license.release_after, payouts)
    return receipt


def _payouts(gateway: ChainGateway, offer: Offer, amount: int) -> list[dict[str, Any]]:
    """Each payee's share of a paid price, split as the contract splits it (`Settlement.splitOf`, in process)."""
    shares = split_of(amount, [x["bps"] for x in offer.payees])
    return [{"account_id": x["account_id"], "role": x["role"], "amount_fen": s}
            for x, s in zip(offer.payees, shares, strict=True)]


def _record_paid(session: Session, order: Order, offer: Offer, receipt: Receipt, amount: int, voucher_fen: int,
                 status: LicenseStatus, release_after: int, payouts: list[dict[str, Any]]) -> None:
    order.state, order.amount_fen, order.voucher_fen = OrderState.PAID, amount, voucher_fen
    order.paid_at = datetime.now(UTC)
    order.tx_hash, order.block_number, order.log_index = receipt.tx_hash, receipt.block_number, receipt.log_index
    order.error = None
    session.add(order)
    lic = create_license(session, order_id=order.id, license_id=order.license_id, offer=offer, terms=order.terms,
                         terms_hash=order.terms_hash, unit_price_fen=unit_price_of(offer, order.quantity),
                         amount_fen=amount, voucher_fen=voucher_fen, status=status, release_after=release_after,
                         payouts=payouts)
    lic.chain_state, lic.tx_hash, lic.block_number, lic.log_index = (ChainState.CONFIRMED, receipt.tx_hash,
                                                                     receipt.block_number, receipt.log_index)
    if order.voucher_id and voucher_fen:
        add_redeemed(session, order.voucher_id, voucher_fen)
    if offer.negotiation_id:
        finalize_for_license(session, offer.negotiation_id, order.buyer_id, lic.id)
    purchase = append_record(
        session, kind="license.purchase", actor=order.buyer_id, subject=order.product_id,
        data={"order_id": order.id, "license_id": lic.id, "offer_id": offer.id, "quantity": order.quantity,
              "amount_fen": amount, "voucher_id": order.voucher_id, "voucher_fen": voucher_fen,
              "terms_hash": order.terms_hash, "status": status.value, "tx_hash": receipt.tx_hash, "payouts": payouts,
              "use": order.use})
    # the maximum allowed revenue: flagged as it settles, never refused (registry.reports.revenue)
    flag_settlement(session, get_product(session, order.product_id), lic.id, amount, purchase.created_at)
    session.flush()


def get_order(session: Session, actor: Actor, order_id: str) -> Order:
    row = session.exec(select(Order).where(Order.id == order_id)).first()
    if row is None or not sees(actor, row.buyer_id):
        raise NotFound(f"order {order_id} not found")
    return row


def license_of(session: Session, order: Order) -> License | None:
    return session.exec(select(License).where(License.id == order.license_id)).first()


def order_view(row: Order) -> OrderOut:
    return OrderOut(id=row.id, state=row.state, buyer_id=row.buyer_id, product_id=row.product_id,
                    offer_id=row.offer_id, quantity=row.quantity, license_id=row.license_id, amount_fen=row.amount_fen,
                    voucher_id=row.voucher_id, voucher_fen=row.voucher_fen, terms_hash=row.terms_hash,
                    error=row.error, use=row.use, created_at=row.created_at, paid_at=row.paid_at,
                    chain=receipt_of(row))


# ------------------------------------------------------------ refund & release


def refund_license(session: Session, gateway: ChainGateway, actor: Actor, license_id: str) -> License:
    """Refund an unused escrowed license inside its window (the exchange's key signs Settlement.refund)."""
    actor.require(Role.BUYER, Role.EXCHANGE)
    lic = visible_license(session, actor, license_id)
    lid = hex32(chain_id_of(lic.id))
    if lic.status != LicenseStatus.ESCROWED:
        raise RuleViolation("NotEscrowed", licenseId=lid, status=lic.status)
    if lic.queries_used > 0:
        raise RuleViolation("LicenseUsed", licenseId=lid, queriesUsed=lic.queries_used)
    if chain_time(gateway) >= lic.release_after:
        raise RuleViolation("RefundWindowClosed", licenseId=lid, releaseAfter=lic.release_after)
    L = License
    claimed = session.execute(sa.update(L).where(col(L.id) == lic.id).where(col(L.status) == LicenseStatus.ESCROWED)
                              .where(col(L.queries_used) == 0)
                              .values(status=LicenseStatus.REFUNDED, refunded_at=datetime.now(UTC))
                              .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise RuleViolation("LicenseUsed", licenseId=lid, detail="used or refunded concurrently")
    session.refresh(lic)
    # The refund is the exchange's act: an exchange account signs its own; one a buyer asks for, the house key.
    submit(session, gateway, subject_type="license", subject_id=lic.id, action="license.refund",
           payload={"license_id": lic.id, "requested_by": actor.id}, by_house=actor.role != Role.EXCHANGE)
    order = session.exec(select(Order).where(Order.id == lic.order_id)).one()
    if order.voucher_id and lic.voucher_fen:
        add_redeemed(session, order.voucher_id, -lic.voucher_fen)
    append_record(session, kind="license.refund", actor=actor.id, subject=lic.product_id,
                  data={"license_id": lic.id, "buyer_fen": lic.amount_fen - lic.voucher_fen,
                        "voucher_fen": lic.voucher_fen})
    return lic


def release_license(session: Session, gateway: ChainGateway, actor: Actor, license_id: str) -> License:
    """Pay out an escrowed license once its refund window has passed (anyone who can see it)."""
    lic = visible_license(session, actor, license_id)
    lid = hex32(chain_id_of(lic.id))
    if lic.status != LicenseStatus.ESCROWED:
        raise RuleViolation("NotEscrowed", licenseId=lid, status=lic.status)
    if chain_time(gateway) < lic.release_after:
        raise RuleViolation("RefundWindowOpen", licenseId=lid, releaseAfter=lic.release_after)
    catch_up(gateway, lic.release_after)
    lic.status = LicenseStatus.PAID
    session.add(lic)
    submit(session, gateway, subject_type="license", subject_id=lic.id, action="license.release",
           payload={"license_id": lic.id, "signer_id": actor.id})
    append_record(session, kind="license.release", actor=actor.id, subject=lic.product_id,
                  data={"license_id": lic.id, "payouts": lic.payouts})
    return lic
