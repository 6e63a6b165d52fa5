"""Fold the trusted contracts' events into what the chain says each business row holds (keyed by chain id)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.contracts import Classification, Ledger, LicenseStatus, ProductStatus
from ledger.events import ChainEvent, read_events
from registry.reconcile.facts import Facts, Source

ZERO_ADDRESS = "0x" + "0" * 40
# The business contracts whose every event is reconciled (CheckpointLog is the log check's; the token's
# transfers are the payments Settlement's events already name).
CONTRACTS = ("DataRegistry", "Settlement", "VoucherProgrammes")


@dataclass
class ChainSide:
    """Expected rows from the chain, and every business event in chain order."""

    facts: Facts = field(default_factory=Facts)
    events: list[ChainEvent] = field(default_factory=list)


def h(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def addr(value: str) -> str | None:
    return None if value.lower() == ZERO_ADDRESS else value.lower()


def _src(ev: ChainEvent) -> Source:
    return Source(tx=ev.tx_hash, block=ev.block_number, log_index=ev.log_index, event=f"{ev.contract}.{ev.name}")


def _registry(f: Facts, ev: ChainEvent, s: Source) -> None:
    a = ev.args
    if ev.name == "ResourceRegistered":
        f.set("resources", h(a["resourceId"]), s, classification=Classification(a["classification"]).name.lower(),
              content_hash=bytes(a["contentHash"]).hex(), metadata_hash=bytes(a["metadataHash"]).hex())
    elif ev.name == "AuthorizationGranted":
        f.set("authorizations", h(a["authorizationId"]), s, operator_id=addr(a["operator"]),
              resource_ids=sorted(h(r) for r in a["resourceIds"]), purpose_hash=bytes(a["purposeHash"]).hex(),
              valid_from=int(a["validFrom"]), valid_until=int(a["validUntil"]),
              max_classification=Classification(a["maxClassification"]).name.lower(), revoked=False)
    elif ev.name == "AuthorizationRevoked":
        f.update("authorizations", h(a["authorizationId"]), s, revoked=True)
    elif ev.name == "AuthorizationLimited":
        f.update("authorizations", h(a["authorizationId"]), s, valid_until=int(a["validUntil"]),
                 purpose_hash=bytes(a["purposeHash"]).hex())
    elif ev.name == "ProductRegistered":
        f.set("products", h(a["productId"]), s, operator_id=addr(a["operator"]),
              authorization_id=h(a["authorizationId"]), resource_ids=sorted(h(r) for r in a["resourceIds"]),
              metadata_hash=bytes(a["metadataHash"]).hex(), sector=h(a["sector"]), version=1,
              status=ProductStatus.REGISTERED.name.lower())
    elif ev.name == "ProductMetadataUpdated":
        f.update("products", h(a["productId"]), s, version=int(a["version"]),
                 metadata_hash=bytes(a["metadataHash"]).hex())
    elif ev.name == "ProductStatusChanged":
        f.update("products", h(a["productId"]), s, status=ProductStatus(a["toStatus"]).name.lower())


def _settlement(f: Facts, ev: ChainEvent, s: Source) -> None:
    a = ev.args
    if ev.name == "PriceCapSet":
        f.set("price_caps", h(a["productId"]), s, cap_fen=int(a["cap"]))
    elif ev.name == "FormCapSet":
        f.set("price_cap_rules", f"{h(a['productId'])}/{int(a['form'])}", s, cap_fen=int(a["cap"]),
              effective_from=int(a["effectiveFrom"]), trial_cap_fen=int(a["trialCap"]),
              trial_until=int(a["trialUntil"]))
    elif ev.name == "OfferPublished":
        f.set("offers", h(a["offerId"]), s, product_id=h(a["productId"]), buyer_id=addr(a["buyer"]),
              tiers=[[int(q), int(p)] for q, p in zip(a["tierMinQuantity"], a["tierUnitPrice"], strict=True)],
              payees=[[str(p).lower(), int(b)] for p, b in zip(a["payees"], a["bps"], strict=True)],
              refund_window=int(a["refundWindow"]), kind=int(a["form"]))
    elif ev.name == "VoucherIssued":
        f.set("vouchers", h(a["voucherId"]), s, holder_id=addr(a["holder"]), amount_fen=int(a["amount"]),
              expires_at=int(a["expiry"]), sectors=[h(x) for x in a["sectors"]], redeemed_fen=0, reclaimed_fen=0)
    elif ev.name == "VoucherReclaimed":
        f.update("vouchers", h(a["voucherId"]), s, reclaimed_fen=int(a["amount"]))
    elif ev.name == "VoucherRedeemed":
        f.add("vouchers", h(a["voucherId"]), s, redeemed_fen=int(a["amount"]))
        f.set("_license_vouchers", h(a["licenseId"]), s, voucher=h(a["voucherId"]))
    elif ev.name == "PublicWelfareUserSet":
        f.set("public_welfare_users", str(a["user"]).lower(), s, address=str(a["user"]).lower(),
              eligible=bool(a["eligible"]))
    else:
        _license_event(f, ev, s)


def _license_event(f: Facts, ev: ChainEvent, s: Source) -> None:
    a = ev.args
    if ev.name == "LicensePurchased":
        lid = h(a["licenseId"])
        common = {"buyer_id": addr(a["buyer"]), "quantity": int(a["quantity"]), "amount_fen": int(a["amount"]),
                  "voucher_fen": int(a["voucherPaid"]), "tx_hash": ev.tx_hash}
        f.set("licenses", lid, s, product_id=h(a["productId"]), offer_id=h(a["offerId"]),
              terms_hash=bytes(a["termsHash"]).hex(), status=LicenseStatus(a["status"]).name.lower(),
              use="commercial", **common)  # until a PublicWelfareUse in the same transaction says otherwise
        f.set("orders", lid, s, state="paid", **common)
    elif ev.name == "PaymentSplit":
        row = f.row("licenses", h(a["licenseId"]))
        if row is not None:
            paid = row.columns.get("payouts", ([], s))[0]
            f.set("licenses", h(a["licenseId"]), s, status="paid",  # release() says so only by paying out
                  payouts=sorted([*paid, [str(a["payee"]).lower(), int(a["amount"])]]))
    elif ev.name == "PublicWelfareUse":
        f.update("licenses", h(a["licenseId"]), s, use="public_welfare")
    elif ev.name == "LicenseRefunded":
        f.update("licenses", h(a["licenseId"]), s, status="refunded")
        voucher = f.row("_license_vouchers", h(a["licenseId"]))
        if voucher is not None:
            f.add("vouchers", voucher.columns["voucher"][0], s, redeemed_fen=-int(a["voucherAmount"]))


def _programmes(f: Facts, ev: ChainEvent, s: Source) -> None:
    a = ev.args
    if ev.name == "ProgrammeCreated":
        f.set("voucher_programmes", h(a["programmeId"]), s, annual_budget_fen=int(a["annualBudget"]),
              max_share_bps=int(a["maxShareBps"]), starts_at=int(a["start"]), ends_at=int(a["end"]),
              sectors=sorted(h(x) for x in a["sectors"]), product_ids=sorted(h(x) for x in a["products"]),
              holder_ids=sorted(str(x).lower() for x in a["holders"]))
    elif ev.name == "ProgrammeCharged":  # in the same transaction as, and just before, its VoucherIssued
        f.set("vouchers", h(a["voucherId"]), s, programme_id=h(a["programmeId"]))


FOLDS: dict[str, Callable[[Facts, ChainEvent, Source], None]] = {"DataRegistry": _registry,
                                                                 "Settlement": _settlement,
                                                                 "VoucherProgrammes": _programmes}


def read_chain(ledger: Ledger) -> ChainSide:
    """Every event of the business contracts since deployment, folded into expected rows."""
    out = ChainSide()
    start = ledger.deployment.deployment_block
    for name in CONTRACTS:
        out.events += read_events(ledger.client, name, ledger.contracts[name], start)
    out.events.sort(key=lambda ev: (ev.block_number, ev.log_index))
    for ev in out.events:
        FOLDS[ev.contract](out.facts, ev, _src(ev))
    return out
