// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";

/// @title Provex settlement token (dev chains only)
/// @notice ERC-20 in fen (2 decimals): 1 token unit = 0.01 CNY. Deployed only in dev, where it can be
///         minted; production settles in an existing ERC-20 given by address.
contract SettlementToken is ERC20, AccessControlDefaultAdminRules, ERC2771Context {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @notice Deploys the token administered by `governance`, with `minter` allowed to mint test funds.
    /// @param adminDelay Seconds a new default admin must wait before accepting the transfer.
    /// @param governance The only admin: may grant or revoke the minter role; the deployer holds no role.
    /// @param minter The account that mints test funds.
    /// @param forwarder The trusted ERC-2771 forwarder (approvals may be signed acts too).
    constructor(uint48 adminDelay, address governance, address minter, address forwarder)
        ERC20("Provex Settlement Fen", "PXF")
        AccessControlDefaultAdminRules(adminDelay, governance)
        ERC2771Context(forwarder)
    {
        _grantRole(MINTER_ROLE, minter);
    }

    /// @notice Amounts are integer fen.
    function decimals() public pure override returns (uint8) {
        return 2;
    }

    /// @notice Mints test funds (dev chains only).
    /// @param to Recipient.
    /// @param amount Amount in fen.
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
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
}
