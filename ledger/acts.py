"""Each write of the Provex contracts built as an `Act` (target, calldata, event), nothing sent: what a participant
signs for the forwarder (`ledger.forwarder`) or sends as its own transaction (`Ledger.send`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from ledger.chain_types import MAX_UINT256, Classification, ProductStatus
from ledger.ids import chain_id_of


@dataclass(frozen=True)
class Act:
    """One contract call built but not sent: what a participant signs, or sends as its own transaction."""

    contract: str  # "DataRegistry", "Settlement", ...
    to: str  # the contract's address
    data: bytes  # the calldata
    event: str  # the event whose log index a receipt of this act carries
    fn: ContractFunction | None = field(default=None, repr=False, compare=False)  # None: rebuilt from storage


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

    def limit_authorization(self, authorization_id: str, valid_until: int, purpose_hash: bytes,
                            reason_hash: bytes) -> Act:
        return self._act("DataRegistry", "limitAuthorization",
                         (chain_id_of(authorization_id), valid_until, purpose_hash, reason_hash),
                         "AuthorizationLimited")

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

    def set_form_cap(self, product_id: str, form: int, cap: int, effective_from: int, trial_cap: int,
                     trial_until: int) -> Act:
        """The cap of one charge form (0 per item, 1 per call, 2 per period) with its effective date and trial."""
        return self._act("Settlement", "setFormCap",
                         (chain_id_of(product_id), form, cap, effective_from, trial_cap, trial_until), "FormCapSet")

    def publish_offer(self, offer_id: str, product_id: str, tiers: Sequence[tuple[int, int]],
                      payees: Sequence[tuple[str, int]], refund_window: int = 0, buyer: str | None = None,
                      form: int = 0) -> Act:
        """An offer: `tiers` are (min quantity, unit price fen), `payees` (address, bps), `form` its charge form
        (0 per item, 1 per call, 2 per period)."""
        return self._act("Settlement", "publishOffer",
                         (chain_id_of(offer_id), chain_id_of(product_id), buyer or "0x" + "0" * 40,
                          [t[0] for t in tiers], [t[1] for t in tiers],
                          [p[0] for p in payees], [p[1] for p in payees], refund_window, form),
                         "OfferPublished")

    def withdraw_offer(self, offer_id: str) -> Act:
        return self._act("Settlement", "withdrawOffer", (chain_id_of(offer_id),), "OfferWithdrawn")

    def create_programme(self, programme_id: str, annual_budget: int, max_share_bps: int, start: int, end: int,
                         sectors: Sequence[str], products: Sequence[str], holders: Sequence[str]) -> Act:
        """A voucher programme (VoucherProgrammes): budget per year in fen, share cap, spending window [start,
        end), eligible sector codes and product ids (empty: any), allow-listed holder addresses."""
        return self._act("VoucherProgrammes", "createProgramme",
                         (chain_id_of(programme_id), annual_budget, max_share_bps, start, end,
                          [chain_id_of(s) for s in sectors], [chain_id_of(p) for p in products], list(holders)),
                         "ProgrammeCreated")

    def issue_voucher(self, voucher_id: str, programme_id: str, holder: str, amount: int, expiry: int,
                      sectors: Sequence[str] = ()) -> Act:
        return self._act("Settlement", "issueVoucher",
                         (chain_id_of(voucher_id), chain_id_of(programme_id), holder, amount, expiry,
                          [chain_id_of(s) for s in sectors]),
                         "VoucherIssued")

    def reclaim_voucher(self, voucher_id: str) -> Act:
        return self._act("Settlement", "reclaimVoucher", (chain_id_of(voucher_id),), "VoucherReclaimed")

    def buy_license(self, license_id: str, offer_id: str, quantity: int, terms_hash: bytes,
                    voucher_id: str = "", voucher_amount: int = 0) -> Act:
        return self._act("Settlement", "buyLicense",
                         (chain_id_of(license_id), chain_id_of(offer_id), quantity, terms_hash,
                          chain_id_of(voucher_id), voucher_amount),
                         "LicensePurchased")

    def buy_public_welfare_license(self, license_id: str, offer_id: str, quantity: int, terms_hash: bytes) -> Act:
        return self._act("Settlement", "buyPublicWelfareLicense",
                         (chain_id_of(license_id), chain_id_of(offer_id), quantity, terms_hash), "LicensePurchased")

    def set_public_welfare_user(self, user: str, eligible: bool) -> Act:
        return self._act("Settlement", "setPublicWelfareUser", (Web3.to_checksum_address(user), eligible),
                         "PublicWelfareUserSet")

    def release(self, license_id: str) -> Act:
        return self._act("Settlement", "release", (chain_id_of(license_id),), "PaymentSplit")

    def refund(self, license_id: str) -> Act:
        return self._act("Settlement", "refund", (chain_id_of(license_id),), "LicenseRefunded")

    # --------------------------------------------------------------- checkpoints

    def anchor(self, tree_size: int, root: bytes, proof: Sequence[bytes] = ()) -> Act:
        """Checkpoint (`tree_size`, `root`) with the consistency proof from the latest one (empty for the first)."""
        return self._act("CheckpointLog", "anchor", (tree_size, root, [bytes(p) for p in proof]),
                         "CheckpointAnchored")

    def cosign(self, index: int, root: bytes) -> Act:
        """A witness's cosignature of checkpoint `index`, whose root it checked is `root` (sent as its own tx)."""
        return self._act("CheckpointLog", "cosign", (index, root), "Cosigned")
