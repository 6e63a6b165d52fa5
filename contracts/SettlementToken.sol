// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title Provex settlement token (embedded default)
/// @notice ERC-20 in fen (2 decimals): 1 token unit = 0.01 CNY. Minting exists for dev chains only.
contract SettlementToken is ERC20, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @notice Deploys the token; `admin` may grant the minter role.
    /// @param admin The account that administers role assignment and may mint.
    constructor(address admin) ERC20("Provex Settlement Fen", "PXF") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, admin);
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
}
