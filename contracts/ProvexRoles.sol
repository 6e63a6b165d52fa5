// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Provex role identifiers
/// @notice Shared role constants for the Provex contracts.
library ProvexRoles {
    /// @notice The public-data authority (数据主管部门).
    bytes32 internal constant AUTHORITY = keccak256("AUTHORITY_ROLE");
    /// @notice An authorized operating entity (运营单位).
    bytes32 internal constant OPERATOR = keccak256("OPERATOR_ROLE");
    /// @notice The data exchange (数据交易中心).
    bytes32 internal constant EXCHANGE = keccak256("EXCHANGE_ROLE");
    /// @notice May anchor checkpoints of the off-chain ledger.
    bytes32 internal constant RECORDER = keccak256("RECORDER_ROLE");
}
