// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";
import {ProvexRoles} from "./ProvexRoles.sol";
import {DataRegistry} from "./DataRegistry.sol";
import {VoucherProgrammes} from "./VoucherProgrammes.sol";

/// @title Provex settlement
/// @notice Offers with price caps, license purchases paid in the settlement token and split among
///         payees by basis points, vouchers (算力券/数据券) issued under programmes, escrow with a refund window,
///         and free licenses
///         for public-governance and public-welfare use (公共治理、公益事业) by users the authority names.
/// @dev Split rule: payee i gets floor(amount * bps_i / 10000); the remainder (fewer fen than
///      payees) goes one fen each to the payees with the largest fractional parts
///      (amount * bps_i mod 10000), ties to the lower index (largest-remainder method).
contract Settlement is AccessControlDefaultAdminRules, ERC2771Context, ReentrancyGuard {
    using SafeERC20 for IERC20;

    uint16 public constant TOTAL_BPS = 10_000;
    uint256 public constant MAX_PAYEES = 8;
    uint256 public constant MAX_TIERS = 8;

    uint8 public constant PAID = 1;
    uint8 public constant ESCROWED = 2;
    uint8 public constant REFUNDED = 3;

    uint8 public constant USE_COMMERCIAL = 0; // industrial and commercial use: pays the offer's price
    uint8 public constant USE_PUBLIC_WELFARE = 1; // public governance and public welfare: free of charge

    uint8 public constant FORM_PERIOD = 2; // charge forms: 0 per item (one-off), 1 per call (metered), 2 per period

    struct Offer {
        bytes32 productId;
        address buyer; // address(0): public offer; otherwise a negotiated offer for one buyer
        bool active;
        uint8 form; // charge form: 0 per item, 1 per call, 2 per period
        uint64 refundWindow;
        uint64[] tierMinQuantity;
        uint128[] tierUnitPrice;
        address[] payees;
        uint16[] bps;
    }

    /// @notice The authority's cap for one charge form of a product: `trialCap` before `trialUntil` (试行价格期),
    ///         `cap` from `effectiveFrom`; 0 at either level falls through to the next (then `priceCap`).
    struct FormCap {
        uint128 cap;
        uint64 effectiveFrom;
        uint64 trialUntil;
        uint128 trialCap;
    }

    struct Voucher {
        address holder;
        uint64 expiry;
        uint128 amount;
        uint128 redeemed;
        bytes32[] sectors; // empty: any sector
    }

    struct License {
        address buyer;
        uint8 status;
        uint64 purchasedAt;
        uint64 releaseAfter;
        bytes32 offerId;
        bytes32 productId;
        bytes32 voucherId;
        bytes32 termsHash;
        uint64 quantity;
        uint128 amount;
        uint128 voucherPaid;
        uint8 use; // USE_COMMERCIAL or USE_PUBLIC_WELFARE
    }

    IERC20 public immutable token;
    DataRegistry public immutable registry;
    /// @notice Voucher programmes: budgets, windows, allow-lists, eligibility and share caps (created here).
    VoucherProgrammes public immutable programmes;

    mapping(bytes32 => uint128) public priceCap;
    mapping(bytes32 => mapping(uint8 => FormCap)) public formCap;
    mapping(bytes32 => Offer) private _offers;
    mapping(bytes32 => Voucher) private _vouchers;
    mapping(bytes32 => License) private _licenses;
    /// @notice Accounts the authority has named for public-governance / public-welfare use (free licenses).
    mapping(address => bool) public publicWelfareUser;

    error PriceAboveCap(bytes32 productId, uint128 unitPrice, uint128 cap);
    error BasisPointsNotExact(uint256 sum);
    error BadPayees(uint256 payees, uint256 bps);
    error BadTiers();
    error UnknownForm(uint8 form);
    error ZeroPayee(uint256 index);
    error NotProductOperator(bytes32 productId, address operator, address caller);
    error OfferExists(bytes32 offerId);
    error UnknownOffer(bytes32 offerId);
    error OfferInactive(bytes32 offerId);
    error NotOfferBuyer(bytes32 offerId, address buyer, address caller);
    error ProductNotTradable(bytes32 productId);
    error ZeroQuantity();
    error LicenseExists(bytes32 licenseId);
    error UnknownLicense(bytes32 licenseId);
    error VoucherExists(bytes32 voucherId);
    error ZeroHolder();
    error UnknownVoucher(bytes32 voucherId);
    error NotVoucherHolder(bytes32 voucherId, address holder, address caller);
    error VoucherExpired(bytes32 voucherId, uint64 expiry, uint64 nowTs);
    error VoucherNotExpired(bytes32 voucherId, uint64 expiry);
    error VoucherExceeded(bytes32 voucherId, uint256 requested, uint256 remaining);
    error VoucherSectorIneligible(bytes32 voucherId, bytes32 sector);
    error VoucherAboveAmount(uint256 voucherAmount, uint256 amount);
    error NotEscrowed(bytes32 licenseId, uint8 status);
    error RefundWindowOpen(bytes32 licenseId, uint64 releaseAfter);
    error RefundWindowClosed(bytes32 licenseId, uint64 releaseAfter);
    error NotPublicWelfareUser(address buyer);

    event PriceCapSet(bytes32 indexed productId, uint128 cap);
    event FormCapSet(bytes32 indexed productId, uint8 indexed form, uint128 cap, uint64 effectiveFrom, uint128 trialCap, uint64 trialUntil);
    event OfferPublished(bytes32 indexed offerId, bytes32 indexed productId, address buyer, uint64[] tierMinQuantity, uint128[] tierUnitPrice, address[] payees, uint16[] bps, uint64 refundWindow, uint8 form);
    event OfferWithdrawn(bytes32 indexed offerId);
    event VoucherIssued(bytes32 indexed voucherId, address indexed holder, uint128 amount, uint64 expiry, bytes32[] sectors);
    event VoucherRedeemed(bytes32 indexed voucherId, bytes32 indexed licenseId, uint128 amount);
    event VoucherReclaimed(bytes32 indexed voucherId, uint128 amount);
    event LicensePurchased(bytes32 indexed licenseId, bytes32 indexed productId, address indexed buyer, bytes32 offerId, uint64 quantity, uint128 amount, uint128 voucherPaid, bytes32 termsHash, uint8 status);
    event PaymentSplit(bytes32 indexed licenseId, address indexed payee, uint256 amount);
    event LicenseRefunded(bytes32 indexed licenseId, address indexed buyer, uint128 buyerAmount, uint128 voucherAmount);
    event PublicWelfareUserSet(address indexed user, bool eligible);
    event PublicWelfareUse(bytes32 indexed licenseId, address indexed buyer, uint128 listPrice);

    /// @notice Deploys settlement over `token_` for products in `registry_`, administered by `governance`.
    /// @param adminDelay Seconds a new default admin must wait before accepting the transfer.
    /// @param governance The only admin: assigns the authority and exchange roles; the deployer holds no role.
    /// @param forwarder The trusted ERC-2771 forwarder relaying participants' signed acts.
    /// @param token_ The ERC-20 settlement token (fen): an existing token in production.
    /// @param registry_ The data registry.
    constructor(uint48 adminDelay, address governance, address forwarder, IERC20 token_, DataRegistry registry_)
        AccessControlDefaultAdminRules(adminDelay, governance)
        ERC2771Context(forwarder)
    {
        token = token_;
        registry = registry_;
        programmes = new VoucherProgrammes(forwarder);
    }

    // ---------------------------------------------------------------- pricing

    /// @notice The authority sets the per-unit price cap of a public-data product (0 removes it); it binds
    ///         every later purchase, of offers published before it too.
    /// @param productId The product.
    /// @param cap Highest unit price in fen.
    function setPriceCap(bytes32 productId, uint128 cap) external onlyRole(ProvexRoles.AUTHORITY) {
        priceCap[productId] = cap;
        emit PriceCapSet(productId, cap);
    }

    /// @notice The authority sets the cap of one charge form of a product, with its effective date and a trial
    ///         period; it binds every later purchase of offers of that form, published before it too.
    /// @param productId The product.
    /// @param form The charge form (0 per item, 1 per call, 2 per period).
    /// @param cap Highest unit price in fen from `effectiveFrom` (0: none).
    /// @param effectiveFrom Unix seconds from which `cap` binds.
    /// @param trialCap Highest unit price in fen before `trialUntil` (0: none).
    /// @param trialUntil Unix seconds at which the trial period ends.
    function setFormCap(bytes32 productId, uint8 form, uint128 cap, uint64 effectiveFrom, uint128 trialCap,
                        uint64 trialUntil) external onlyRole(ProvexRoles.AUTHORITY) {
        if (form > FORM_PERIOD) revert UnknownForm(form);
        formCap[productId][form] = FormCap(cap, effectiveFrom, trialUntil, trialCap);
        emit FormCapSet(productId, form, cap, effectiveFrom, trialCap, trialUntil);
    }

    /// @notice The unit-price cap binding a purchase of `form` now: the trial cap during the trial period, the
    ///         form's cap from its effective date, else the product's `priceCap` (0: none).
    /// @param productId The product.
    /// @param form The charge form.
    function capOf(bytes32 productId, uint8 form) public view returns (uint128) {
        FormCap storage r = formCap[productId][form];
        if (block.timestamp < r.trialUntil && r.trialCap != 0) return r.trialCap;
        if (r.cap != 0 && block.timestamp >= r.effectiveFrom) return r.cap;
        return priceCap[productId];
    }

    /// @notice The product's operator publishes an offer with volume tiers and its payee split.
    /// @param offerId keccak256 of the offer's UUID.
    /// @param productId The product.
    /// @param buyer address(0) for a public offer; a buyer's address for a negotiated offer.
    /// @param tierMinQuantity Ascending minimum quantities; the first must be 1.
    /// @param tierUnitPrice Unit price in fen for each tier; none may exceed the price cap.
    /// @param payees Who is paid.
    /// @param bps Basis points per payee; must sum to exactly 10,000.
    /// @param refundWindow Seconds during which an unused license can be refunded (0: paid at once).
    /// @param form The charge form (0 per item, 1 per call, 2 per period): which form cap binds its purchases.
    function publishOffer(
        bytes32 offerId,
        bytes32 productId,
        address buyer,
        uint64[] memory tierMinQuantity,
        uint128[] memory tierUnitPrice,
        address[] memory payees,
        uint16[] memory bps,
        uint64 refundWindow,
        uint8 form
    ) external {
        Offer storage o = _newOffer(offerId, productId, form);
        _checkTiers(productId, capOf(productId, form), tierMinQuantity, tierUnitPrice);
        _checkSplit(payees, bps);
        (o.productId, o.buyer, o.active, o.form, o.refundWindow) = (productId, buyer, true, form, refundWindow);
        (o.tierMinQuantity, o.tierUnitPrice, o.payees, o.bps) = (tierMinQuantity, tierUnitPrice, payees, bps);
        emit OfferPublished(offerId, productId, buyer, tierMinQuantity, tierUnitPrice, payees, bps, refundWindow, form);
    }

    /// @notice The product's operator withdraws an offer.
    /// @param offerId The offer.
    function withdrawOffer(bytes32 offerId) external {
        Offer storage o = _requireOffer(offerId);
        address op = registry.product(o.productId).operator;
        if (op != _msgSender()) revert NotProductOperator(o.productId, op, _msgSender());
        o.active = false;
        emit OfferWithdrawn(offerId);
    }

    /// @notice Returns an offer.
    /// @param offerId The offer id.
    function offer(bytes32 offerId) external view returns (Offer memory) {
        return _requireOffer(offerId);
    }

    /// @notice The total price of `quantity` units under an offer (the unit price of the highest tier reached).
    /// @param offerId The offer.
    /// @param quantity Number of units.
    function priceOf(bytes32 offerId, uint64 quantity) public view returns (uint128) {
        Offer storage o = _requireOffer(offerId);
        if (quantity == 0) revert ZeroQuantity();
        uint128 unit = o.tierUnitPrice[0];
        for (uint256 i = 1; i < o.tierMinQuantity.length; i++) {
            if (quantity >= o.tierMinQuantity[i]) unit = o.tierUnitPrice[i];
        }
        return unit * quantity;
    }

    /// @notice Splits `amount` by basis points with the largest-remainder rule (see contract doc).
    /// @param amount Amount in fen.
    /// @param bps Basis points summing to 10,000.
    function splitOf(uint256 amount, uint16[] memory bps) public pure returns (uint256[] memory shares) {
        uint256 n = bps.length;
        shares = new uint256[](n);
        uint256[] memory frac = new uint256[](n);
        uint256 given = 0;
        for (uint256 i = 0; i < n; i++) {
            uint256 scaled = amount * bps[i];
            shares[i] = scaled / TOTAL_BPS;
            frac[i] = scaled % TOTAL_BPS;
            given += shares[i];
        }
        uint256 remainder = amount - given;
        for (uint256 k = 0; k < remainder; k++) {
            uint256 best = 0;
            bool found = false;
            for (uint256 i = 0; i < n; i++) {
                if (frac[i] != type(uint256).max && (!found || frac[i] > frac[best])) {
                    best = i;
                    found = true;
                }
            }
            shares[best] += 1;
            frac[best] = type(uint256).max;
        }
    }

    // --------------------------------------------------------------- vouchers

    /// @notice The authority issues a voucher under a programme, funding it from its own token balance; the
    ///         programme's budget for this year, allow-list and existence are checked (`VoucherProgrammes.charge`).
    /// @param voucherId keccak256 of the voucher's UUID.
    /// @param programmeId The programme it is issued under (required: no voucher escapes a programme's budget).
    /// @param holder The buyer who may redeem it; never address(0) (`ZeroHolder`: nobody could redeem it, and
    ///        a voucher held by address(0) would read as unissued).
    /// @param amount Face value in fen.
    /// @param expiry Unix seconds after which it cannot be redeemed.
    /// @param sectors keccak256 of eligible sector codes; empty for any sector.
    function issueVoucher(
        bytes32 voucherId,
        bytes32 programmeId,
        address holder,
        uint128 amount,
        uint64 expiry,
        bytes32[] calldata sectors
    ) external onlyRole(ProvexRoles.AUTHORITY) {
        if (holder == address(0)) revert ZeroHolder();
        if (_vouchers[voucherId].holder != address(0)) revert VoucherExists(voucherId);
        programmes.charge(voucherId, programmeId, holder, amount);
        _vouchers[voucherId] = Voucher(holder, expiry, amount, 0, sectors);
        token.safeTransferFrom(_msgSender(), address(this), amount);
        emit VoucherIssued(voucherId, holder, amount, expiry, sectors);
    }

    /// @notice The authority takes back the unredeemed part of an expired voucher: the fen to itself, the budget
    ///         to the programme's year the voucher was charged to.
    /// @param voucherId The voucher.
    function reclaimVoucher(bytes32 voucherId) external onlyRole(ProvexRoles.AUTHORITY) {
        Voucher storage v = _requireVoucher(voucherId);
        if (block.timestamp < v.expiry) revert VoucherNotExpired(voucherId, v.expiry);
        uint128 left = v.amount - v.redeemed;
        v.redeemed = v.amount;
        programmes.credit(voucherId, left);
        token.safeTransfer(_msgSender(), left);
        emit VoucherReclaimed(voucherId, left);
    }

    /// @notice Returns a voucher.
    /// @param voucherId The voucher id.
    function voucher(bytes32 voucherId) external view returns (Voucher memory) {
        return _requireVoucher(voucherId);
    }

    // --------------------------------------------------------------- licenses

    /// @notice Buys a license: pulls the price (less any voucher part) from the caller and splits it.
    /// @param licenseId keccak256 of the license's UUID.
    /// @param offerId The offer bought.
    /// @param quantity Units bought (queries, periods or 1 for a one-off license).
    /// @param termsHash Hash of the canonical license terms.
    /// @param voucherId A voucher of the caller's, or zero.
    /// @param voucherAmount How much of the price the voucher pays.
    function buyLicense(
        bytes32 licenseId,
        bytes32 offerId,
        uint64 quantity,
        bytes32 termsHash,
        bytes32 voucherId,
        uint128 voucherAmount
    ) external nonReentrant {
        address buyer = _msgSender();
        Offer storage o = _checkPurchase(licenseId, offerId, buyer);
        uint128 amount = priceOf(offerId, quantity);
        uint128 cap = capOf(o.productId, o.form); // binds every purchase, offers published before the cap too
        if (cap != 0 && amount > uint256(cap) * quantity) revert PriceAboveCap(o.productId, amount / quantity, cap);
        if (voucherAmount > amount) revert VoucherAboveAmount(voucherAmount, amount);
        if (voucherId != bytes32(0)) _redeem(voucherId, licenseId, o.productId, voucherAmount, amount);
        else if (voucherAmount != 0) revert UnknownVoucher(voucherId);

        uint8 status = o.refundWindow == 0 ? PAID : ESCROWED;
        _licenses[licenseId] = License(
            buyer,
            status,
            uint64(block.timestamp),
            uint64(block.timestamp) + o.refundWindow,
            offerId,
            o.productId,
            voucherId,
            termsHash,
            quantity,
            amount,
            voucherAmount,
            USE_COMMERCIAL
        );
        token.safeTransferFrom(buyer, address(this), amount - voucherAmount);
        emit LicensePurchased(licenseId, o.productId, buyer, offerId, quantity, amount, voucherAmount, termsHash, status);
        if (status == PAID) _pay(licenseId, o, amount);
    }

    /// @notice The authority names (or stops naming) an account as a public-governance / public-welfare user.
    /// @param user The buyer's address.
    /// @param eligible Whether it may take free public-welfare licenses from now on.
    function setPublicWelfareUser(address user, bool eligible) external onlyRole(ProvexRoles.AUTHORITY) {
        if (user == address(0)) revert ZeroHolder();
        publicWelfareUser[user] = eligible;
        emit PublicWelfareUserSet(user, eligible);
    }

    /// @notice A public-welfare user takes a license free of charge (公共治理、公益事业 use): the same offer
    ///         and product rules as a purchase, nothing paid, the offer's list price recorded in the event.
    /// @param licenseId keccak256 of the license's UUID.
    /// @param offerId The offer.
    /// @param quantity Units (as in a purchase).
    /// @param termsHash Hash of the canonical license terms (they name the use and its declared purpose).
    function buyPublicWelfareLicense(bytes32 licenseId, bytes32 offerId, uint64 quantity, bytes32 termsHash)
        external
        nonReentrant
    {
        address buyer = _msgSender();
        if (!publicWelfareUser[buyer]) revert NotPublicWelfareUser(buyer);
        Offer storage o = _checkPurchase(licenseId, offerId, buyer);
        uint128 listPrice = priceOf(offerId, quantity);
        uint64 nowTs = uint64(block.timestamp);
        _licenses[licenseId] =
            License(buyer, PAID, nowTs, nowTs, offerId, o.productId, 0, termsHash, quantity, 0, 0, USE_PUBLIC_WELFARE);
        emit LicensePurchased(licenseId, o.productId, buyer, offerId, quantity, 0, 0, termsHash, PAID);
        emit PublicWelfareUse(licenseId, buyer, listPrice);
    }

    /// @notice Pays out an escrowed license once its refund window has passed. Anyone may call.
    /// @param licenseId The license.
    function release(bytes32 licenseId) external nonReentrant {
        License storage l = _requireLicense(licenseId);
        if (l.status != ESCROWED) revert NotEscrowed(licenseId, l.status);
        if (block.timestamp < l.releaseAfter) revert RefundWindowOpen(licenseId, l.releaseAfter);
        l.status = PAID;
        _pay(licenseId, _offers[l.offerId], l.amount);
    }

    /// @notice The exchange refunds an unused escrowed license inside its refund window.
    /// @param licenseId The license.
    function refund(bytes32 licenseId) external nonReentrant onlyRole(ProvexRoles.EXCHANGE) {
        License storage l = _requireLicense(licenseId);
        if (l.status != ESCROWED) revert NotEscrowed(licenseId, l.status);
        if (block.timestamp >= l.releaseAfter) revert RefundWindowClosed(licenseId, l.releaseAfter);
        l.status = REFUNDED;
        if (l.voucherPaid > 0) _vouchers[l.voucherId].redeemed -= l.voucherPaid;
        uint128 buyerPart = l.amount - l.voucherPaid;
        token.safeTransfer(l.buyer, buyerPart);
        emit LicenseRefunded(licenseId, l.buyer, buyerPart, l.voucherPaid);
    }

    /// @notice Returns a license.
    /// @param licenseId The license id.
    function license(bytes32 licenseId) external view returns (License memory) {
        return _requireLicense(licenseId);
    }

    // ------------------------------------------------------- ERC-2771 context

    /// @dev The signer of a request relayed by the trusted forwarder, else the caller.
    function _msgSender() internal view override(Context, ERC2771Context) returns (address) {
        return ERC2771Context._msgSender();
    }

    /// @dev Calldata without the signer suffix the trusted forwarder appends.
    function _msgData() internal view override(Context, ERC2771Context) returns (bytes calldata) {
        return ERC2771Context._msgData();
    }

    /// @dev 20 bytes (the signer's address) after calls from the trusted forwarder.
    function _contextSuffixLength() internal view override(Context, ERC2771Context) returns (uint256) {
        return ERC2771Context._contextSuffixLength();
    }

    // -------------------------------------------------------------- internals

    function _redeem(bytes32 voucherId, bytes32 licenseId, bytes32 productId, uint128 amount, uint128 price)
        private
    {
        Voucher storage v = _requireVoucher(voucherId);
        if (v.holder != _msgSender()) revert NotVoucherHolder(voucherId, v.holder, _msgSender());
        if (block.timestamp >= v.expiry) revert VoucherExpired(voucherId, v.expiry, uint64(block.timestamp));
        bytes32 sector = registry.product(productId).sector;
        if (v.sectors.length > 0) {
            bool eligible = false;
            for (uint256 i = 0; i < v.sectors.length; i++) {
                if (v.sectors[i] == sector) eligible = true;
            }
            if (!eligible) revert VoucherSectorIneligible(voucherId, sector);
        }
        programmes.checkRedeem(voucherId, productId, sector, amount, price);
        uint128 remaining = v.amount - v.redeemed;
        if (amount > remaining) revert VoucherExceeded(voucherId, amount, remaining);
        v.redeemed += amount;
        emit VoucherRedeemed(voucherId, licenseId, amount);
    }

    function _checkPurchase(bytes32 licenseId, bytes32 offerId, address buyer) private view returns (Offer storage o) {
        if (_licenses[licenseId].buyer != address(0)) revert LicenseExists(licenseId);
        o = _requireOffer(offerId);
        if (!o.active) revert OfferInactive(offerId);
        if (o.buyer != address(0) && o.buyer != buyer) revert NotOfferBuyer(offerId, o.buyer, buyer);
        if (!registry.isTradable(o.productId)) revert ProductNotTradable(o.productId);
    }

    function _pay(bytes32 licenseId, Offer storage o, uint256 amount) private {
        uint256[] memory shares = splitOf(amount, o.bps);
        for (uint256 i = 0; i < shares.length; i++) {
            if (shares[i] > 0) token.safeTransfer(o.payees[i], shares[i]);
            emit PaymentSplit(licenseId, o.payees[i], shares[i]);
        }
    }

    function _checkTiers(bytes32 productId, uint128 cap, uint64[] memory minQty, uint128[] memory unitPrice)
        private
        pure
    {
        uint256 n = minQty.length;
        if (n == 0 || n != unitPrice.length || n > MAX_TIERS || minQty[0] != 1) revert BadTiers();
        for (uint256 i = 0; i < n; i++) {
            if (i > 0 && minQty[i] <= minQty[i - 1]) revert BadTiers();
            if (cap != 0 && unitPrice[i] > cap) revert PriceAboveCap(productId, unitPrice[i], cap);
        }
    }

    function _checkSplit(address[] memory payees, uint16[] memory bps) private pure {
        if (payees.length == 0 || payees.length != bps.length || payees.length > MAX_PAYEES) {
            revert BadPayees(payees.length, bps.length);
        }
        uint256 sum = 0;
        for (uint256 i = 0; i < bps.length; i++) {
            if (payees[i] == address(0)) revert ZeroPayee(i);
            sum += bps[i];
        }
        if (sum != TOTAL_BPS) revert BasisPointsNotExact(sum);
    }

    function _newOffer(bytes32 offerId, bytes32 productId, uint8 form) private view returns (Offer storage o) {
        address op = registry.product(productId).operator;
        if (op != _msgSender()) revert NotProductOperator(productId, op, _msgSender());
        o = _offers[offerId];
        if (o.productId != bytes32(0)) revert OfferExists(offerId);
        if (form > FORM_PERIOD) revert UnknownForm(form);
    }

    function _requireOffer(bytes32 offerId) private view returns (Offer storage o) {
        o = _offers[offerId];
        if (o.productId == bytes32(0)) revert UnknownOffer(offerId);
    }

    function _requireVoucher(bytes32 voucherId) private view returns (Voucher storage v) {
        v = _vouchers[voucherId];
        if (v.holder == address(0)) revert UnknownVoucher(voucherId);
    }

    function _requireLicense(bytes32 licenseId) private view returns (License storage l) {
        l = _licenses[licenseId];
        if (l.buyer == address(0)) revert UnknownLicense(licenseId);
    }
}
