"""Every contract event paired with the record that describes it: an event no record claims is activity that
exists only on chain."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from ledger.events import ChainEvent
from ledger.ids import chain_id_of
from ledger.verify import Divergence

UNLIMITED = 1 << 62
# Which argument names the subject of each event a record can claim (the rest have no record kind: resources,
# authorization grants, product registration and metadata are matched to their rows instead).
EVENT_KEYS = {"PriceCapSet": "productId", "FormCapSet": "productId", "OfferPublished": "offerId",
              "OfferWithdrawn": "offerId",
              "ProgrammeCreated": "programmeId",
              "VoucherIssued": "voucherId", "VoucherRedeemed": "licenseId", "VoucherReclaimed": "voucherId",
              "LicensePurchased": "licenseId", "PaymentSplit": "licenseId", "LicenseRefunded": "licenseId",
              "AuthorizationRevoked": "authorizationId", "AuthorizationLimited": "authorizationId",
              "ProductStatusChanged": "productId",
              "PublicWelfareUserSet": "user", "PublicWelfareUse": "licenseId"}
# The table an event's subject lives in, to name it.
EVENT_TABLES = {"PriceCapSet": "price_caps", "FormCapSet": "price_cap_rules", "OfferPublished": "offers",
                "OfferWithdrawn": "offers",
                "ProgrammeCreated": "voucher_programmes",
                "VoucherIssued": "vouchers", "VoucherRedeemed": "licenses", "VoucherReclaimed": "vouchers",
                "LicensePurchased": "licenses", "PaymentSplit": "licenses", "LicenseRefunded": "licenses",
                "PublicWelfareUserSet": "public_welfare_users", "PublicWelfareUse": "licenses",
                "AuthorizationRevoked": "authorizations", "AuthorizationLimited": "authorizations",
                "ProductStatusChanged": "products",
                "ResourceRegistered": "resources", "AuthorizationGranted": "authorizations",
                "ProductRegistered": "products", "ProductMetadataUpdated": "products"}


# The record kinds that claim events.
CLAIMING = frozenset({"price_cap.set", "price_cap_rule.set", "offer.publish", "offer.withdraw",
                      "voucher_programme.create",
                      "voucher.issue", "voucher.reclaim", "license.purchase",
                      "license.refund", "license.release", "product.status", "authorization.revoked",
                      "authorization.expired", "authorization.limited", "public_welfare.set"})


def cid(identifier: str) -> str:
    return "0x" + chain_id_of(identifier).hex()


def subject_of(value: bytes | str) -> str:
    """An event's subject argument as claims name it: a bytes32 id in hex, an address in lower case."""
    return value.lower() if isinstance(value, str) else "0x" + bytes(value).hex()


class Claims:
    """The events the records say happened: (event, subject chain id) -> how many, and the claiming records."""

    def __init__(self) -> None:
        self.count: Counter[tuple[str, str]] = Counter()
        self.purchases: dict[str, tuple[int, str]] = {}  # license chain id -> (record seq, tx hash)

    def _claim(self, event: str, identifier: str, n: int = 1) -> None:
        self.count[(event, cid(identifier))] += n

    def note(self, rec: dict[str, Any], negotiable: set[str]) -> None:
        """The events record `rec` claims."""
        kind, d = rec["kind"], rec["data"]
        if kind == "price_cap.set":
            self._claim("PriceCapSet", rec["subject"])
        elif kind == "price_cap_rule.set":
            self._claim("FormCapSet", rec["subject"])
        elif kind in ("offer.publish", "offer.withdraw") and d["offer_id"] not in negotiable:
            self._claim("OfferPublished" if kind == "offer.publish" else "OfferWithdrawn", d["offer_id"])
        elif kind == "voucher.issue":
            self._claim("VoucherIssued", rec["subject"])
        elif kind == "voucher.reclaim":
            self._claim("VoucherReclaimed", rec["subject"])
        elif kind == "voucher_programme.create":
            self._claim("ProgrammeCreated", rec["subject"])
        elif kind == "public_welfare.set":
            self.count[("PublicWelfareUserSet", str(d["address"]).lower())] += 1
        elif kind == "license.purchase":
            self._purchase(rec)
        elif kind == "license.refund":
            self._claim("LicenseRefunded", d["license_id"])
        elif kind == "license.release":
            self._claim("PaymentSplit", d["license_id"], UNLIMITED)
        elif kind == "product.status":
            self._claim("ProductStatusChanged", rec["subject"])
        elif kind == "authorization.limited":
            self._claim("AuthorizationLimited", rec["subject"])
        elif kind in ("authorization.revoked", "authorization.expired"):
            if kind == "authorization.revoked":
                self._claim("AuthorizationRevoked", rec["subject"])
            for product in d.get("suspended_products", []):
                self._claim("ProductStatusChanged", product)

    def _purchase(self, rec: dict[str, Any]) -> None:
        d = rec["data"]
        self._claim("LicensePurchased", d["license_id"])
        self.purchases[cid(d["license_id"])] = (rec["seq"], d["tx_hash"])
        if d.get("voucher_fen"):
            self._claim("VoucherRedeemed", d["license_id"])
        if d["status"] == "paid":
            self._claim("PaymentSplit", d["license_id"], UNLIMITED)
        if d.get("use") == "public_welfare":
            self._claim("PublicWelfareUse", d["license_id"])


def chain_only(event: ChainEvent, detail: str) -> Divergence:
    key = EVENT_KEYS.get(event.name)
    row = subject_of(event.args[key]) if key else None
    return Divergence("chain_only", EVENT_TABLES.get(event.name, event.contract), row, None, None,
                      f"{event.contract}.{event.name} at block {event.block_number}: {detail}", tx=event.tx_hash)


def unclaimed(events: Iterable[ChainEvent], claims: Claims) -> Iterator[Divergence]:
    """Events (in chain order) that no record claims, and purchases whose record names another transaction."""
    left = Counter(claims.count)
    for ev in events:
        key = EVENT_KEYS.get(ev.name)
        if key is None:
            continue
        subject = subject_of(ev.args[key])
        if left[(ev.name, subject)] <= 0:
            yield chain_only(ev, "no record describes it")
            continue
        left[(ev.name, subject)] -= 1
        if ev.name == "LicensePurchased":
            seq, tx = claims.purchases[subject]
            if tx != ev.tx_hash:
                yield Divergence("record_mismatch", "ledger_records", seq, "data.tx_hash", None,
                                 f"record says tx {tx}, the license was bought in {ev.tx_hash}", record=seq,
                                 tx=ev.tx_hash)
