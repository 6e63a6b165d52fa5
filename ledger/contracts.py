"""Typed wrappers over the Provex contracts. Reverts surface as ContractRevert.

Every chain act exists twice: `ledger.acts.<act>(...)` builds it as an `Act` (target and calldata,
nothing sent) for a participant to sign and a relayer to forward (`ledger.forwarder`), and
`ledger.<act>(sender, ...)` sends the same act as the sender's own transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import event_abi_to_log_topic
from web3 import Web3
from web3.contract import Contract

from ledger.acts import Act, Acts
from ledger.allowances import Allowances
from ledger.chain_types import (
    AUTHORITY_ROLE,
    DEFAULT_ADMIN_ROLE,
    EXCHANGE_ROLE,
    MAX_UINT256,
    MINTER_ROLE,
    OPERATOR_ROLE,
    RECORDER_ROLE,
    ROLE_NAMES,
    ChainLicense,
    ChainProduct,
    Checkpoint,
    Classification,
    LicenseStatus,
    ProductStatus,
)
from ledger.client import ChainClient, Receipt
from ledger.compiler import Build
from ledger.deploy import Deployment
from ledger.errors import ContractRevert
from ledger.events import ChainEvent
from ledger.ids import chain_id_of
from ledger.offer_book import OfferBook

__all__ = [  # the contract types are re-exported: callers import them from here
    "AUTHORITY_ROLE",
    "DEFAULT_ADMIN_ROLE",
    "EXCHANGE_ROLE",
    "MAX_UINT256",
    "MINTER_ROLE",
    "OPERATOR_ROLE",
    "RECORDER_ROLE",
    "ROLE_NAMES",
    "Act",
    "Acts",
    "ChainLicense",
    "ChainProduct",
    "Checkpoint",
    "Classification",
    "Ledger",
    "LicenseStatus",
    "ProductStatus",
]


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
        self.programmes = at("VoucherProgrammes")
        self.contracts = {"SettlementToken": self.token, "DataRegistry": self.registry,
                          "CheckpointLog": self.checkpoints, "Settlement": self.settlement,
                          "ProvexForwarder": self.forwarder, "VoucherProgrammes": self.programmes}
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
        # Settlement's offers as the chain holds them, for quotes computed in process
        self.offers = OfferBook(client, self.settlement, [self._topics[("Settlement", e)]
                                                          for e in ("OfferPublished", "OfferWithdrawn")])
        self.allowances = Allowances(client, self.token, self.settlement.address,
                                     self._topics[("SettlementToken", "Approval")])

    # ----------------------------------------------------------------- plumbing

    def send(self, sender: LocalAccount, act: Act) -> Receipt:
        """Send `act` as `sender`'s own transaction; the receipt points at the act's event."""
        assert act.fn is not None, "an act rebuilt from storage is relayed, not sent"
        return self.with_event_index(self.client.transact(sender, act.fn), act)

    def with_event_index(self, receipt: Receipt, act: Act) -> Receipt:
        """`receipt` with `log_index` set to the first log of the act's event from its contract."""
        topic = self._topics[(act.contract, act.event)]
        idx = next((int(lg["logIndex"]) for lg in receipt.logs
                    if lg["address"] == act.to and bytes(lg["topics"][0]) == topic), None)
        return dataclasses.replace(receipt, log_index=idx)

    def find_events(self, contract: str, event: str, **filters: Any) -> list[ChainEvent]:
        """Every `event` of `contract` since deployment whose indexed arguments match `filters`, oldest first."""
        decoder = getattr(self.contracts[contract].events, event)()
        logs = self.client.rpc(lambda: decoder.get_logs(from_block=self.deployment.deployment_block,
                                                        argument_filters=filters))
        return [ChainEvent(contract, event, dict(lg["args"]), int(lg["blockNumber"]),
                           lg["transactionHash"].to_0x_hex(), int(lg["logIndex"])) for lg in logs]

    def actor_of(self, tx_hash: str) -> str:
        """Who acted in transaction `tx_hash`: the signer of the forward request it relayed (ERC-2771), else its
        sender. A relayer is never an actor."""
        tx = self.client.rpc(lambda: self.client.w3.eth.get_transaction(tx_hash))  # type: ignore[arg-type]
        if str(tx.get("to") or "").lower() == self.forwarder.address.lower():
            executed = [e for e in self.tx_events("ProvexForwarder", "ExecutedForwardRequest", tx_hash) if e["success"]]
            if executed:
                return str(executed[0]["signer"])
        return str(tx["from"])

    def tx_events(self, contract: str, event: str, tx_hash: str) -> list[dict[str, Any]]:
        """The arguments of each `event` that `contract` emitted in transaction `tx_hash`."""
        receipt = self.client.rpc(lambda: self.client.w3.eth.get_transaction_receipt(tx_hash))  # type: ignore[arg-type]
        decoder = getattr(self.contracts[contract].events, event)()
        return [dict(e["args"]) for e in decoder.process_receipt(receipt)]

    def grant_role(self, sender: LocalAccount, contract: str, role: bytes, account: str) -> Receipt:
        """Grant `role` on `contract` to `account` (sender must be the role's admin)."""
        return self.send(sender, self.acts.grant_role(contract, role, account))

    def has_role(self, contract: str, role: bytes, account: str) -> bool:
        return bool(self.client.call(self.contracts[contract].functions.hasRole(role, account)))

    def is_recorder(self, account: str) -> bool:
        """Whether `account` answers for this CheckpointLog: it holds RECORDER_ROLE now or anchored a checkpoint
        (a recorder governance replaced still answers for its promises)."""
        return self.has_role("CheckpointLog", RECORDER_ROLE, account) or bool(
            self.find_events("CheckpointLog", "CheckpointAnchored", recorder=account))

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

    def limit_authorization(self, sender: LocalAccount, authorization_id: str, valid_until: int,
                            purpose_hash: bytes, reason_hash: bytes) -> Receipt:
        return self.send(sender, self.acts.limit_authorization(authorization_id, valid_until, purpose_hash,
                                                               reason_hash))

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
        """How much Settlement may pull from `owner` (an unlimited allowance is remembered: `ledger.allowances`)."""
        return self.allowances.of(owner)

    def _ensure_allowance(self, sender: LocalAccount, amount: int) -> None:
        if self.allowance(sender.address) < amount:
            self.send(sender, self.acts.approve_settlement())

    # ------------------------------------------------------------ settlement

    def set_price_cap(self, sender: LocalAccount, product_id: str, cap: int) -> Receipt:
        return self.send(sender, self.acts.set_price_cap(product_id, cap))

    def price_cap(self, product_id: str) -> int:
        return int(self.client.call(self.settlement.functions.priceCap(chain_id_of(product_id))))

    def set_form_cap(self, sender: LocalAccount, product_id: str, form: int, cap: int, effective_from: int = 0,
                     trial_cap: int = 0, trial_until: int = 0) -> Receipt:
        return self.send(sender, self.acts.set_form_cap(product_id, form, cap, effective_from, trial_cap, trial_until))

    def cap_of(self, product_id: str, form: int) -> int:
        """The unit-price cap binding a purchase of `form` at the latest block (Settlement.capOf)."""
        return int(self.client.call(self.settlement.functions.capOf(chain_id_of(product_id), form)))

    def publish_offer(self, sender: LocalAccount, offer_id: str, product_id: str,
                      tiers: Sequence[tuple[int, int]], payees: Sequence[tuple[str, int]],
                      refund_window: int = 0, buyer: str | None = None, form: int = 0) -> Receipt:
        """Publish an offer: `tiers` are (min quantity, unit price fen), `payees` (address, bps), `form` its charge
        form."""
        return self.send(sender, self.acts.publish_offer(offer_id, product_id, tiers, payees, refund_window, buyer,
                                                         form))

    def withdraw_offer(self, sender: LocalAccount, offer_id: str) -> Receipt:
        return self.send(sender, self.acts.withdraw_offer(offer_id))

    def price_of(self, offer_id: str, quantity: int) -> int:
        return int(self.client.call(self.settlement.functions.priceOf(chain_id_of(offer_id), quantity)))

    def split_of(self, amount: int, bps: Sequence[int]) -> list[int]:
        """The contract's own split of `amount` (largest-remainder rule)."""
        return [int(x) for x in self.client.call(self.settlement.functions.splitOf(amount, list(bps)))]

    def create_programme(self, sender: LocalAccount, programme_id: str, annual_budget: int, max_share_bps: int,
                         start: int, end: int, holders: Sequence[str], sectors: Sequence[str] = (),
                         products: Sequence[str] = ()) -> Receipt:
        return self.send(sender, self.acts.create_programme(programme_id, annual_budget, max_share_bps, start, end,
                                                            sectors, products, holders))

    def programme_remaining(self, programme_id: str) -> int:
        """Fen still issuable under the programme in the current budget year."""
        return int(self.client.call(self.programmes.functions.remaining(chain_id_of(programme_id))))

    def budget_year(self, timestamp: int) -> int:
        """The contract's budget year of unix time `timestamp` (the calendar year in UTC+8)."""
        return int(self.client.call(self.programmes.functions.budgetYear(timestamp)))

    def issue_voucher(self, sender: LocalAccount, voucher_id: str, programme_id: str, holder: str, amount: int,
                      expiry: int, sectors: Sequence[str] = ()) -> Receipt:
        self._ensure_allowance(sender, amount)
        return self.send(sender, self.acts.issue_voucher(voucher_id, programme_id, holder, amount, expiry, sectors))

    def reclaim_voucher(self, sender: LocalAccount, voucher_id: str) -> Receipt:
        return self.send(sender, self.acts.reclaim_voucher(voucher_id))

    def voucher_remaining(self, voucher_id: str) -> int:
        v = self.client.call(self.settlement.functions.voucher(chain_id_of(voucher_id)))
        return int(v[2]) - int(v[3])

    def buy_license(self, sender: LocalAccount, license_id: str, offer_id: str, quantity: int,
                    terms_hash: bytes, voucher_id: str = "", voucher_amount: int = 0,
                    price: int | None = None) -> Receipt:
        """Buy a license; approves the settlement contract first when the allowance is short.

        `price` is `price_of(offer_id, quantity)` when the caller has it already (asked otherwise).
        """
        if price is None:
            price = self.price_of(offer_id, quantity)
        self._ensure_allowance(sender, price - voucher_amount)
        return self.send(sender, self.acts.buy_license(license_id, offer_id, quantity, terms_hash, voucher_id,
                                                       voucher_amount))

    def release(self, sender: LocalAccount, license_id: str) -> Receipt:
        return self.send(sender, self.acts.release(license_id))

    def refund(self, sender: LocalAccount, license_id: str) -> Receipt:
        return self.send(sender, self.acts.refund(license_id))

    def license(self, license_id: str) -> ChainLicense | None:
        """The license on chain, or None when it was never bought."""
        try:
            v = self.client.call(self.settlement.functions.license(chain_id_of(license_id)))
        except ContractRevert as exc:
            if exc.name == "UnknownLicense":
                return None
            raise
        return ChainLicense(v[0], LicenseStatus(v[1]), int(v[2]), int(v[3]), bytes(v[4]), bytes(v[5]),
                            bytes(v[6]), bytes(v[7]), int(v[8]), int(v[9]), int(v[10]), int(v[11]))

    # ------------------------------------------------------------ checkpoints

    def anchor(self, sender: LocalAccount, tree_size: int, root: bytes, proof: Sequence[bytes] = ()) -> Receipt:
        """Anchor (`tree_size`, `root`); `proof` is the RFC 9162 consistency proof from the latest checkpoint,
        which the contract verifies (`InconsistentCheckpoint` when it fails; empty for the first checkpoint)."""
        return self.send(sender, self.acts.anchor(tree_size, root, proof))

    def checkpoint_count(self) -> int:
        return int(self.client.call(self.checkpoints.functions.count()))

    def checkpoint(self, index: int) -> Checkpoint:
        c = self.client.call(self.checkpoints.functions.checkpoint(index))
        return Checkpoint(index, int(c[0]), int(c[1]), bytes(c[2]))

    def cosign(self, witness: LocalAccount, index: int, root: bytes) -> Receipt:
        """`witness` cosigns checkpoint `index` with its own transaction (`CosignedRootMismatch` when `root` is not
        the checkpoint's, `AlreadyCosigned` the second time)."""
        return self.send(witness, self.acts.cosign(index, root))

    def cosigned(self, index: int, witness: str) -> bool:
        return bool(self.client.call(self.checkpoints.functions.cosigned(index, witness)))

    def raw_call(self, contract: str, fn_name: str, *args: Any) -> Any:
        """Call any view function by name (for audits and tests)."""
        return self.client.call(getattr(self.contracts[contract].functions, fn_name)(*args))
