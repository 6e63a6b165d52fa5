// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {ProvexRoles} from "./ProvexRoles.sol";

/// @title Provex checkpoint log
/// @notice Append-only checkpoints (tree size, RFC 6962 Merkle root) of the off-chain ledger.
contract CheckpointLog is AccessControlDefaultAdminRules {
    struct Checkpoint {
        uint64 treeSize;
        uint64 timestamp;
        bytes32 root;
    }

    Checkpoint[] private _checkpoints;

    error TreeSizeNotIncreasing(uint64 previousSize, uint64 treeSize);
    error UnknownCheckpoint(uint256 index, uint256 count);

    event CheckpointAnchored(uint256 indexed index, uint64 treeSize, bytes32 root, address indexed recorder);

    /// @notice Deploys the log administered by `governance`, with `recorder` (a key of its own) anchoring.
    /// @param adminDelay Seconds a new default admin must wait before accepting the transfer.
    /// @param governance The only admin: may replace the recorder; the deployer holds no role.
    /// @param recorder The key that anchors checkpoints.
    constructor(uint48 adminDelay, address governance, address recorder)
        AccessControlDefaultAdminRules(adminDelay, governance)
    {
        _grantRole(ProvexRoles.RECORDER, recorder);
    }

    /// @notice Anchors a checkpoint; the tree size must grow.
    /// @param treeSize Number of records covered.
    /// @param root RFC 6962 Merkle tree head over the first `treeSize` records.
    function anchor(uint64 treeSize, bytes32 root) external onlyRole(ProvexRoles.RECORDER) {
        uint256 n = _checkpoints.length;
        uint64 previous = n == 0 ? 0 : _checkpoints[n - 1].treeSize;
        if (treeSize <= previous) revert TreeSizeNotIncreasing(previous, treeSize);
        _checkpoints.push(Checkpoint(treeSize, uint64(block.timestamp), root));
        emit CheckpointAnchored(n, treeSize, root, msg.sender);
    }

    /// @notice Number of checkpoints anchored.
    function count() external view returns (uint256) {
        return _checkpoints.length;
    }

    /// @notice Returns checkpoint `index`.
    /// @param index Zero-based checkpoint index.
    function checkpoint(uint256 index) external view returns (Checkpoint memory) {
        if (index >= _checkpoints.length) revert UnknownCheckpoint(index, _checkpoints.length);
        return _checkpoints[index];
    }

    /// @notice Returns the latest checkpoint, or a zero checkpoint when none exists.
    function latest() external view returns (Checkpoint memory) {
        uint256 n = _checkpoints.length;
        if (n == 0) return Checkpoint(0, 0, bytes32(0));
        return _checkpoints[n - 1];
    }
}
