"""Typed wrappers over the Provex contracts. Reverts surface as ContractRevert.

Every chain act exists twice: `ledger.acts.<act>(...)` builds it as an `Act` (target and calldata,
nothing sent) for a participant to sign and a relayer to forward (`ledger.forwarder`), and
`ledger.<act>(sender, ...)` sends the same act as the sender's own transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import event_abi_to_log_topic, keccak
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from ledger.client import ChainClient, Receipt
from ledger.compiler import Build
from ledger.deploy import Deployment
from ledger.ids import chain_id_of

MAX_UINT256 = 2**256 - 1

DEFAULT_ADMIN_ROLE = b"\x00" * 32
AUTHORITY_ROLE = keccak(text="AUTHORITY_ROLE")
OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
EXCHANGE_ROLE = keccak(text="EXCHANGE_ROLE")
RECORDER_ROLE = keccak(text="RECORDER_ROLE")
MINTER_ROLE = keccak(text="MINTER_ROLE")

ROLE_NAMES: dict[bytes, str] = {
    DEFAULT_ADMIN_ROLE: "DEFAULT_ADMIN_ROLE", AUTHORITY_ROLE: "AUTHORITY_ROLE", OPERATOR_ROLE: "OPERATOR_ROLE",
    EXCHANGE_ROLE: "EXCHANGE_ROLE", RECORDER_ROLE: "RECORDER_ROLE", MINTER_ROLE: "MINTER_ROLE",
}


class Classification(IntEnum):
    GENERAL = 0
    IMPORTANT = 1
    CORE = 2


class ProductStatus(IntEnum):
    REGISTERED = 1
    LISTED = 2
    SUSPENDED = 3
    DELISTED = 4


class LicenseStatus(IntEnum):
    PAID = 1
    ESCROWED = 2
    REFUNDED = 3


@dataclass(frozen=True)
class ChainProduct:
    operator: str
    status: ProductStatus
    version: int
    authorization_id: bytes
    metadata_hash: bytes
    sector: bytes
    resource_ids: list[bytes]


@dataclass(frozen=True)
class ChainLicense:
    buyer: str
    status: LicenseStatus
    purchased_at: int
    release_after: int
    offer_id: bytes
    product_id: bytes
    voucher_id: bytes
    terms_hash: bytes
    quantity: int
    amount: int
    voucher_paid: int


@dataclass(frozen=True)
class Checkpoint:
    index: int
    tree_size: int
    timestamp: int
    root: bytes


@dataclass(frozen=True)
class Act:
    """One contract call built but not sent: what a participant signs, or sends as its own transaction."""

    contract: str  # "DataRegistry", "Settlement", ...
    to: str  # the contract's address
    data: bytes  # the calldata
    event: str  # the event whose log index a receipt of this act carries
    fn: ContractFunction = field(repr=False, compare=False)


class Acts:
    """Builds each write of the Provex contracts as an `Act`; reads nothing from the chain."""

    def __init__(self, contracts: dict[str, Contract]) -> None:
        self._contracts = contracts

    def _act(self, contract: str, name: str, args: Sequence[Any], event: str) -> Act:
        c = self._contracts[contract]
        data = bytes.fromhex(c.encode_abi(name, args=list(args))[2:])
        return Act(contract, c.address, data, event, c.functions[name](*args))

    # ------------------------------------------------------------ roles, admin

    def grant_role(self, contract: str, role: bytes, account: str) -> Act:
        return self._act(contract, "grantRole", (role, account), "RoleGranted")

    def revoke_role(self, contract: str, role: bytes, account: str) -> Act:
        return self._act(contract, "revokeRole", (role, account), "RoleRevoked")

    def begin_admin_transfer(self, contract: str, new_admin: str) -> Act:
        return self._act(contract, "beginDefaultAdminTransfer", (new_admin,), "DefaultAdminTransferScheduled")

    def accept_admin_transfer(self, contract: str) -> Act:
        return self._act(contract, "acceptDefaultAdminTransfer", (), "RoleGranted")

    # ------------------------------------------------------------------ registry

    def register_resource(self, resource_id: str, classification: Classification, content_hash: bytes,
                          metadata_hash: bytes) -> Act:
        return self._act("DataRegistry", "registerResource",
                         (chain_id_of(resource_id), int(classification), content_hash, metadata_hash),
                         "ResourceRegistered")

    def grant_authorization(self, authorization_id: str, operator: str, resource_ids: Sequence[str],
                            purpose_hash: bytes, valid_from: int, valid_until: int,
                            max_classification: Classification) -> Act:
        return self._act("DataRegistry", "grantAuthorization",
                         (chain_id_of(authorization_id), operator, [chain_id_of(r) for r in resource_ids],
                          purpose_hash, valid_from, valid_until, int(max_classification)),
                         "AuthorizationGranted")

    def revoke_authorization(self, authorization_id: str, reason_hash: bytes) -> Act:
        return self._act("DataRegistry", "revokeAuthorization", (chain_id_of(authorization_id), reason_hash),
                         "AuthorizationRevoked")

    def register_product(self, product_id: str, authorization_id: str, resource_ids: Sequence[str],
                         metadata_hash: bytes, sector: str) -> Act:
        return self._act("DataRegistry", "registerProduct",
                         (chain_id_of(product_id), chain_id_of(authorization_id),
                          [chain_id_of(r) for r in resource_ids], metadata_hash, chain_id_of(sector)),
                         "ProductRegistered")

    def update_product_metadata(self, product_id: str, metadata_hash: bytes) -> Act:
        return self._act("DataRegistry", "updateProductMetadata", (chain_id_of(product_id), metadata_hash),
                         "ProductMetadataUpdated")

    def set_product_status(self, product_id: str, status: ProductStatus, reason_hash: bytes = b"\x00" * 32) -> Act:
        return self._act("DataRegistry", "setProductStatus", (chain_id_of(product_id), int(status), reason_hash),
                         "ProductStatusChanged")

    def suspend_unauthorized(self, product_id: str) -> Act:
        return self._act("DataRegistry", "suspendUnauthorized", (chain_id_of(product_id),), "ProductStatusChanged")

    # --------------------------------------------------------------------- token

    def mint(self, to: str, amount: int) -> Act:
        return self._act("SettlementToken", "mint", (to, amount), "Transfer")

    def approve_settlement(self, amount: int = MAX_UINT256) -> Act:
        """Let Settlement pull the signer's fen (a signed act only on the dev token: an existing
        ERC-20 is no ERC-2771 target, so there the buyer approves with its own transaction)."""
        return self._act("SettlementToken", "approve", (self._contracts["Settlement"].address, amount), "Approval")

    # ---------------------------------------------------------------- settlement

    def set_price_cap(self, product_id: str, cap: int) -> Act:
        return self._act("Settlement", "setPriceCap", (chain_id_of(product_id), cap), "PriceCapSet")

    def publish_offer(self, offer_id: str, product_id: str, tiers: Sequence[tuple[int, int]],
                      payees: Sequence[tuple[str, int]], refund_window: int = 0, buyer: str | None = None) -> Act:
        """An offer: `tiers` are (min quantity, unit price fen), `payees` (address, bps)."""
        return self._act("Settlement", "publishOffer",
                         (chain_id_of(offer_id), chain_id_of(product_id), buyer or "0x" + "0" * 40,
                          [t[0] for t in tiers], [t[1] for t in tiers],
                          [p[0] for p in payees], [p[1] for p in payees], refund_window),
                         "OfferPublished")

    def withdraw_offer(self, offer_id: str) -> Act:
        return self._act("Settlement", "withdrawOffer", (chain_id_of(offer_id),), "OfferWithdrawn")

    def issue_voucher(self, voucher_id: str, holder: str, amount: int, expiry: int,
                      sectors: Sequence[str] = ()) -> Act:
        return self._act("Settlement", "issueVoucher",
                         (chain_id_of(voucher_id), holder, amount, expiry, [chain_id_of(s) for s in sectors]),
                         "VoucherIssued")

    def reclaim_voucher(self, voucher_id: str) -> Act:
        return self._act("Settlement", "reclaimVoucher", (chain_id_of(voucher_id),), "VoucherReclaimed")

    def buy_license(self, license_id: str, offer_id: str, quantity: int, terms_hash: bytes,
                    voucher_id: str = "", voucher_amount: int = 0) -> Act:
        return self._act("Settlement", "buyLicense",
                         (chain_id_of(license_id), chain_id_of(offer_id), quantity, terms_hash,
                          chain_id_of(voucher_id), voucher_amount),
                         "LicensePurchased")

    def release(self, license_id: str) -> Act:
        return self._act("Settlement", "release", (chain_id_of(license_id),), "PaymentSplit")

    def refund(self, license_id: str) -> Act:
        return self._act("Settlement", "refund", (chain_id_of(license_id),), "LicenseRefunded")

    # --------------------------------------------------------------- checkpoints

    def anchor(self, tree_size: int, root: bytes) -> Act:
        return self._act("CheckpointLog", "anchor", (tree_size, root), "CheckpointAnchored")


class Ledger:
    """The deployed Provex contracts on one chain."""

    def __init__(self, client: ChainClient, deployment: Deployment, build: Build) -> None:
        self.client = client
        self.deployment = deployment
        w3 = client.w3

        def at(name: str) -> Contract:
            return w3.eth.contract(address=Web3.to_checksum_address(deployment.addresses[name]),
                                   abi=build.artifacts[name].abi)

        self.forwarder = at("ProvexForwarder")
        self.token = at("SettlementToken")
        self.registry = at("DataRegistry")
        self.checkpoints = at("CheckpointLog")
        self.settlement = at("Settlement")
        self.contracts = {"SettlementToken": self.token, "DataRegistry": self.registry,
                          "CheckpointLog": self.checkpoints, "Settlement": self.settlement,
                          "ProvexForwarder": self.forwarder}
        self.acts = Acts(self.contracts)
        # Contracts whose roles governance administers (an existing ERC-20 in production is not ours).
        self.governed: tuple[str, ...] = ("DataRegistry", "CheckpointLog", "Settlement") + (
            ("SettlementToken",) if deployment.dev_token else ())
        self._topics: dict[tuple[str, str], bytes] = {}
        for cname, c in self.contracts.items():
            for entry in c.abi:
                if entry.get("type") == "event":
                    topic = event_abi_to_log_topic(entry)  # type: ignore[arg-type]
                    self._topics[(cname, str(entry.get("name")))] = topic

    # ----------------------------------------------------------------- plumbing

    def send(self, sender: LocalAccount, act: Act) -> Receipt:
        """Send `act` as `sender`'s own transaction; the receipt points at the act's event."""
        return self.with_event_index(self.client.transact(sender, act.fn), act)

    def with_event_index(self, receipt: Receipt, act: Act) -> Receipt:
        """`receipt` with `log_index` set to the first log of the act's event from its contract."""
        topic = self._topics[(act.contract, act.event)]
        idx = next((int(lg["logIndex"]) for lg in receipt.logs
                    if lg["address"] == act.to and bytes(lg["topics"][0]) == topic), None)
        return dataclasses.replace(receipt, log_index=idx)

    def grant_role(self, sender: LocalAccount, contract: str, role: bytes, account: str) -> Receipt:
        """Grant `role` on `contract` to `account` (sender must be the role's admin)."""
        return self.send(sender, self.acts.grant_role(contract, role, account))

    def has_role(self, contract: str, role: bytes, account: str) -> bool:
        return bool(self.client.call(self.contracts[contract].functions.hasRole(role, account)))

    def revoke_role(self, sender: LocalAccount, contract: str, role: bytes, account: str) -> Receipt:
        """Revoke `role` on `contract` from `account` (sender must be the role's admin)."""
        return self.send(sender, self.acts.revoke_role(contract, role, account))

    def roles_held(self, account: str) -> dict[str, list[str]]:
        """Every known role `account` holds, by governed contract (empty lists: none)."""
        return {c: [name for role, name in ROLE_NAMES.items() if self.has_role(c, role, account)]
                for c in self.governed}

    # ------------------------------------------------------------- governance

    def default_admin(self, contract: str) -> str:
        """The contract's single default admin (governance)."""
        return str(self.client.call(self.contracts[contract].functions.defaultAdmin()))

    def pending_admin(self, contract: str) -> tuple[str, int]:
        """(new admin, unix time after which it may accept); the zero address when none is pending."""
        new, schedule = self.client.call(self.contracts[contract].functions.pendingDefaultAdmin())
        return str(new), int(schedule)

    def begin_admin_transfer(self, sender: LocalAccount, contract: str, new_admin: str) -> Receipt:
        """Step one of handing governance on: the current admin names its successor.

        The successor may accept once the contract's admin delay has passed (strictly after
        `now + delay`: with a delay of 0, in any later block).
        """
        return self.send(sender, self.acts.begin_admin_transfer(contract, new_admin))

    def accept_admin_transfer(self, sender: LocalAccount, contract: str) -> Receipt:
        """Step two: the named successor takes the admin role; the previous admin loses it."""
        return self.send(sender, self.acts.accept_admin_transfer(contract))

    # -------------------------------------------------------------- resources

    def register_resource(self, sender: LocalAccount, resource_id: str, classification: Classification,
                          content_hash: bytes, metadata_hash: bytes) -> Receipt:
        return self.send(sender, self.acts.register_resource(resource_id, classification, content_hash,
                                                             metadata_hash))

    def resource(self, resource_id: str) -> tuple[Classification, bytes, bytes]:
        r = self.client.call(self.registry.functions.resource(chain_id_of(resource_id)))
        return Classification(r[0]), bytes(r[2]), bytes(r[3])

    # --------------------------------------------------------- authorizations

    def grant_authorization(self, sender: LocalAccount, authorization_id: str, operator: str,
                            resource_ids: Sequence[str], purpose_hash: bytes, valid_from: int,
                            valid_until: int, max_classification: Classification) -> Receipt:
        return self.send(sender, self.acts.grant_authorization(
            authorization_id, operator, resource_ids, purpose_hash, valid_from, valid_until, max_classification))

    def revoke_authorization(self, sender: LocalAccount, authorization_id: str, reason_hash: bytes) -> Receipt:
        return self.send(sender, self.acts.revoke_authorization(authorization_id, reason_hash))

    def is_authorized(self, operator: str, resource_id: str) -> bool:
        return bool(self.client.call(self.registry.functions.isAuthorized(operator, chain_id_of(resource_id))))

    def is_authorization_active(self, authorization_id: str) -> bool:
        return bool(self.client.call(
            self.registry.functions.isAuthorizationActive(chain_id_of(authorization_id))))

    # --------------------------------------------------------------- products

    def register_product(self, sender: LocalAccount, product_id: str, authorization_id: str,
                         resource_ids: Sequence[str], metadata_hash: bytes, sector: str) -> Receipt:
        return self.send(sender, self.acts.register_product(product_id, authorization_id, resource_ids,
                                                            metadata_hash, sector))

    def update_product_metadata(self, sender: LocalAccount, product_id: str, metadata_hash: bytes) -> Receipt:
        return self.send(sender, self.acts.update_product_metadata(product_id, metadata_hash))

    def set_product_status(self, sender: LocalAccount, product_id: str, status: ProductStatus,
                           reason_hash: bytes = b"\x00" * 32) -> Receipt:
        return self.send(sender, self.acts.set_product_status(product_id, status, reason_hash))

    def suspend_unauthorized(self, sender: LocalAccount, product_id: str) -> Receipt:
        return self.send(sender, self.acts.suspend_unauthorized(product_id))

    def product(self, product_id: str) -> ChainProduct:
        p = self.client.call(self.registry.functions.product(chain_id_of(product_id)))
        return ChainProduct(p[0], ProductStatus(p[1]), int(p[2]), bytes(p[3]), bytes(p[4]),
                            bytes(p[5]), [bytes(x) for x in p[6]])

    def is_tradable(self, product_id: str) -> bool:
        return bool(self.client.call(self.registry.functions.isTradable(chain_id_of(product_id))))

    # ----------------------------------------------------------- token/money

    def mint(self, sender: LocalAccount, to: str, amount: int) -> Receipt:
        return self.send(sender, self.acts.mint(to, amount))

    def balance_of(self, address: str) -> int:
        return int(self.client.call(self.token.functions.balanceOf(address)))

    def allowance(self, owner: str) -> int:
        """How much Settlement may pull from `owner`."""
        return int(self.client.call(self.token.functions.allowance(owner, self.settlement.address)))

    def _ensure_allowance(self, sender: LocalAccount, amount: int) -> None:
        if self.allowance(sender.address) < amount:
            self.send(sender, self.acts.approve_settlement())

    # ------------------------------------------------------------ settlement

    def set_price_cap(self, sender: LocalAccount, product_id: str, cap: int) -> Receipt:
        return self.send(sender, self.acts.set_price_cap(product_id, cap))

    def price_cap(self, product_id: str) -> int:
        return int(self.client.call(self.settlement.functions.priceCap(chain_id_of(product_id))))

    def publish_offer(self, sender: LocalAccount, offer_id: str, product_id: str,
                      tiers: Sequence[tuple[int, int]], payees: Sequence[tuple[str, int]],
                      refund_window: int = 0, buyer: str | None = None) -> Receipt:
        """Publish an offer: `tiers` are (min quantity, unit price fen), `payees` (address, bps)."""
        return self.send(sender, self.acts.publish_offer(offer_id, product_id, tiers, payees, refund_window, buyer))

    def withdraw_offer(self, sender: LocalAccount, offer_id: str) -> Receipt:
        return self.send(sender, self.acts.withdraw_offer(offer_id))

    def price_of(self, offer_id: str, quantity: int) -> int:
        return int(self.client.call(self.settlement.functions.priceOf(chain_id_of(offer_id), quantity)))

    def split_of(self, amount: int, bps: Sequence[int]) -> list[int]:
        """The contract's own split of `amount` (largest-remainder rule)."""
        return [int(x) for x in self.client.call(self.settlement.functions.splitOf(amount, list(bps)))]

    def issue_voucher(self, sender: LocalAccount, voucher_id: str, holder: str, amount: int,
                      expiry: int, sectors: Sequence[str] = ()) -> Receipt:
        self._ensure_allowance(sender, amount)
        return self.send(sender, self.acts.issue_voucher(voucher_id, holder, amount, expiry, sectors))

    def reclaim_voucher(self, sender: LocalAccount, voucher_id: str) -> Receipt:
        return self.send(sender, self.acts.reclaim_voucher(voucher_id))

    def voucher_remaining(self, voucher_id: str) -> int:
        v = self.client.call(self.settlement.functions.voucher(chain_id_of(voucher_id)))
        return int(v[2]) - int(v[3])

    def buy_license(self, sender: LocalAccount, license_id: str, offer_id: str, quantity: int,
                    terms_hash: bytes, voucher_id: str = "", voucher_amount: int = 0) -> Receipt:
        """Buy a license; approves the settlement contract first when the allowance is short."""
        self._ensure_allowance(sender, self.price_of(offer_id, quantity) - voucher_amount)
        return self.send(sender, self.acts.buy_license(license_id, offer_id, quantity, terms_hash, voucher_id,
                                                       voucher_amount))

    def release(self, sender: LocalAccount, license_id: str) -> Receipt:
        return self.send(sender, self.acts.release(license_id))

    def refund(self, sender: LocalAccount, license_id: str) -> Receipt:
        return self.send(sender, self.acts.refund(license_id))

    def license(self, license_id: str) -> ChainLicense | None:
        """The license on chain, or None when it was never bought."""
        from ledger.errors import ContractRevert

        try:
            v = self.client.call(self.settlement.functions.license(chain_id_of(license_id)))
        except ContractRevert as exc:
            if exc.name == "UnknownLicense":
                return None
            raise
        return ChainLicense(v[0], LicenseStatus(v[1]), int(v[2]), int(v[3]), bytes(v[4]), bytes(v[5]),
                            bytes(v[6]), bytes(v[7]), int(v[8]), int(v[9]), int(v[10]))

    # ------------------------------------------------------------ checkpoints

    def anchor(self, sender: LocalAccount, tree_size: int, root: bytes) -> Receipt:
        return self.send(sender, self.acts.anchor(tree_size, root))

    def checkpoint_count(self) -> int:
        return int(self.client.call(self.checkpoints.functions.count()))

    def checkpoint(self, index: int) -> Checkpoint:
        c = self.client.call(self.checkpoints.functions.checkpoint(index))
        return Checkpoint(index, int(c[0]), int(c[1]), bytes(c[2]))

    def raw_call(self, contract: str, fn_name: str, *args: Any) -> Any:
        """Call any view function by name (for audits and tests)."""
        return self.client.call(getattr(self.contracts[contract].functions, fn_name)(*args))
