// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {ProvexRoles} from "./ProvexRoles.sol";

/// @title Provex voucher programmes (算力券/数据券 programmes)
/// @notice The bookkeeping of voucher programmes: an annual budget, eligible sectors and products, a maximum share
///         of a price a voucher may pay, a spending window and an allow-list of holders. Settlement creates this
///         contract in its constructor and is the only caller of `charge`, `credit` and `checkRedeem`; the authority
///         (AUTHORITY_ROLE on Settlement) creates programmes here with its own relayed ForwardRequest.
/// @dev Budget year: the calendar year in China Standard Time (UTC+8) of the block that issues the voucher. Reclaim:
///      the unspent part of an expired voucher goes back, in fen, to the authority that reclaims it (Settlement
///      transfers it) and, in budget, to the programme's year the voucher was issued in (`credit`).
contract VoucherProgrammes is ERC2771Context {
    uint16 public constant TOTAL_BPS = 10_000;
    uint256 public constant MAX_LIST = 64;

    struct Programme {
        uint128 annualBudget;
        uint64 start;
        uint64 end;
        uint16 maxShareBps;
        bytes32[] sectors; // empty: any sector
        bytes32[] products; // empty: any product of an eligible sector
    }

    /// @notice The settlement contract that created this one; the only caller of the voucher hooks.
    address public immutable settlement;

    mapping(bytes32 => Programme) private _programmes;
    /// @notice Whether `holder` is on programme `programmeId`'s allow-list.
    mapping(bytes32 => mapping(address => bool)) public allowed;
    /// @notice Fen issued (less fen reclaimed) under a programme in a budget year.
    mapping(bytes32 => mapping(uint256 => uint128)) public issuedIn;
    /// @notice The programme a voucher was issued under.
    mapping(bytes32 => bytes32) public programmeOf;
    /// @notice The budget year a voucher was issued in.
    mapping(bytes32 => uint256) public yearOf;

    error NotSettlement(address caller);
    error ProgrammeExists(bytes32 programmeId);
    error UnknownProgramme(bytes32 programmeId);
    error BadProgramme(string reason);
    error ProgrammeBudgetExceeded(bytes32 programmeId, uint256 year, uint256 requested, uint256 remaining);
    error HolderNotAllowed(bytes32 programmeId, address holder);
    error VoucherOutsideWindow(bytes32 voucherId, uint64 start, uint64 end, uint64 nowTs);
    error VoucherProductIneligible(bytes32 voucherId, bytes32 productId);
    error VoucherSectorIneligible(bytes32 voucherId, bytes32 sector);
    error VoucherShareExceeded(bytes32 voucherId, uint256 paid, uint256 maxShare);

    event ProgrammeCreated(bytes32 indexed programmeId, uint128 annualBudget, uint16 maxShareBps, uint64 start,
        uint64 end, bytes32[] sectors, bytes32[] products, address[] holders);
    event ProgrammeCharged(bytes32 indexed programmeId, bytes32 indexed voucherId, uint256 year, uint128 amount);
    event ProgrammeCredited(bytes32 indexed programmeId, bytes32 indexed voucherId, uint256 year, uint128 amount);

    /// @notice Created by Settlement's constructor, trusting the same forwarder.
    /// @param forwarder The trusted ERC-2771 forwarder relaying the authority's signed acts.
    constructor(address forwarder) ERC2771Context(forwarder) {
        settlement = msg.sender;
    }

    modifier onlySettlement() {
        if (msg.sender != settlement) revert NotSettlement(msg.sender);
        _;
    }

    /// @notice The authority creates a voucher programme.
    /// @param programmeId keccak256 of the programme's UUID.
    /// @param annualBudget Fen that may be issued under it per budget year (issued less reclaimed).
    /// @param maxShareBps The largest share of a price a voucher may pay, in basis points (1..10,000).
    /// @param start Unix seconds from which its vouchers may be spent.
    /// @param end Unix seconds from which they may no longer be spent.
    /// @param sectors keccak256 of eligible sector codes; empty for any sector.
    /// @param products Eligible product ids; empty for any product of an eligible sector.
    /// @param holders The allow-list: the only addresses vouchers may be issued to (at least one).
    function createProgramme(
        bytes32 programmeId,
        uint128 annualBudget,
        uint16 maxShareBps,
        uint64 start,
        uint64 end,
        bytes32[] calldata sectors,
        bytes32[] calldata products,
        address[] calldata holders
    ) external {
        address caller = _msgSender();
        if (!IAccessControl(settlement).hasRole(ProvexRoles.AUTHORITY, caller)) {
            revert IAccessControl.AccessControlUnauthorizedAccount(caller, ProvexRoles.AUTHORITY);
        }
        if (programmeId == bytes32(0) || _programmes[programmeId].end != 0) revert ProgrammeExists(programmeId);
        if (annualBudget == 0) revert BadProgramme("budget");
        if (maxShareBps == 0 || maxShareBps > TOTAL_BPS) revert BadProgramme("share");
        if (end <= start) revert BadProgramme("window");
        if (holders.length == 0 || holders.length > MAX_LIST || sectors.length > MAX_LIST
            || products.length > MAX_LIST) revert BadProgramme("list");
        _programmes[programmeId] = Programme(annualBudget, start, end, maxShareBps, sectors, products);
        for (uint256 i = 0; i < holders.length; i++) {
            if (holders[i] == address(0)) revert BadProgramme("holder");
            allowed[programmeId][holders[i]] = true;
        }
        emit ProgrammeCreated(programmeId, annualBudget, maxShareBps, start, end, sectors, products, holders);
    }

    /// @notice Returns a programme.
    /// @param programmeId The programme id.
    function programme(bytes32 programmeId) public view returns (Programme memory) {
        return _require(programmeId);
    }

    /// @notice Fen still issuable under a programme in the current budget year.
    /// @param programmeId The programme id.
    function remaining(bytes32 programmeId) external view returns (uint256) {
        return _require(programmeId).annualBudget - issuedIn[programmeId][budgetYear(block.timestamp)];
    }

    /// @notice Settlement charges a voucher it is issuing to its programme's budget for this year.
    /// @param voucherId The voucher.
    /// @param programmeId The programme it is issued under.
    /// @param holder Its holder, who must be on the allow-list.
    /// @param amount Its face value in fen.
    function charge(bytes32 voucherId, bytes32 programmeId, address holder, uint128 amount)
        external
        onlySettlement
    {
        Programme storage p = _require(programmeId);
        if (!allowed[programmeId][holder]) revert HolderNotAllowed(programmeId, holder);
        uint256 year = budgetYear(block.timestamp);
        uint256 left = p.annualBudget - issuedIn[programmeId][year];
        if (amount > left) revert ProgrammeBudgetExceeded(programmeId, year, amount, left);
        issuedIn[programmeId][year] += amount;
        programmeOf[voucherId] = programmeId;
        yearOf[voucherId] = year;
        emit ProgrammeCharged(programmeId, voucherId, year, amount);
    }

    /// @notice Settlement gives the reclaimed part of an expired voucher back to the year it was charged to.
    /// @param voucherId The voucher.
    /// @param amount The fen reclaimed.
    function credit(bytes32 voucherId, uint128 amount) external onlySettlement {
        bytes32 pid = programmeOf[voucherId];
        if (pid == bytes32(0) || amount == 0) return;
        uint256 year = yearOf[voucherId];
        issuedIn[pid][year] -= amount;
        emit ProgrammeCredited(pid, voucherId, year, amount);
    }

    /// @notice The programme's rules for paying `paid` of `price` with a voucher for a product of `sector`.
    /// @param voucherId The voucher.
    /// @param productId The product bought.
    /// @param sector keccak256 of the product's sector.
    /// @param paid Fen the voucher pays.
    /// @param price The whole price in fen.
    function checkRedeem(bytes32 voucherId, bytes32 productId, bytes32 sector, uint256 paid, uint256 price)
        external
        view
    {
        bytes32 pid = programmeOf[voucherId];
        if (pid == bytes32(0)) return;
        Programme storage p = _programmes[pid];
        uint64 t = uint64(block.timestamp);
        if (t < p.start || t >= p.end) revert VoucherOutsideWindow(voucherId, p.start, p.end, t);
        if (!_contains(p.sectors, sector)) revert VoucherSectorIneligible(voucherId, sector);
        if (!_contains(p.products, productId)) revert VoucherProductIneligible(voucherId, productId);
        uint256 maxShare = price * p.maxShareBps / TOTAL_BPS;
        if (paid > maxShare) revert VoucherShareExceeded(voucherId, paid, maxShare);
    }

    /// @notice The budget year of unix time `ts`: its calendar year in UTC+8 (civil-from-days, H. Hinnant).
    /// @param ts Unix seconds.
    function budgetYear(uint256 ts) public pure returns (uint256) {
        uint256 z = (ts + 8 hours) / 1 days + 719_468;
        uint256 era = z / 146_097;
        uint256 doe = z - era * 146_097;
        uint256 yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        uint256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        uint256 mp = (5 * doy + 2) / 153;
        return yoe + era * 400 + (mp >= 10 ? 1 : 0);
    }

    function _contains(bytes32[] storage list, bytes32 item) private view returns (bool) {
        if (list.length == 0) return true;
        for (uint256 i = 0; i < list.length; i++) {
            if (list[i] == item) return true;
        }
        return false;
    }

    function _require(bytes32 programmeId) private view returns (Programme storage p) {
        p = _programmes[programmeId];
        if (p.end == 0) revert UnknownProgramme(programmeId);
    }
}
