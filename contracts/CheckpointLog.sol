// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {MerkleConsistency} from "./MerkleConsistency.sol";
import {ProvexRoles} from "./ProvexRoles.sol";

/// @title Provex checkpoint log
/// @notice Append-only checkpoints (tree size, RFC 6962 Merkle root) of the off-chain ledger. Append-only is
///         enforced here: each checkpoint after the first carries an RFC 9162 consistency proof from the
///         previous one, verified on chain, so no rewritten history can be anchored at any size. Witnesses (any
///         address: the authority, an auditor, a third party) cosign the checkpoints they checked (`cosign`).
contract CheckpointLog is AccessControlDefaultAdminRules {
    struct Checkpoint {
        uint64 treeSize;
        uint64 timestamp;
        bytes32 root;
    }

    Checkpoint[] private _checkpoints;
    mapping(uint256 index => mapping(address witness => bool)) private _cosigned;

    error TreeSizeNotIncreasing(uint64 previousSize, uint64 treeSize);
    error InconsistentCheckpoint(uint64 previousSize, uint64 treeSize);
    error UnknownCheckpoint(uint256 index, uint256 count);
    error CosignedRootMismatch(uint256 index, bytes32 root, bytes32 checkpointRoot);
    error AlreadyCosigned(uint256 index, address witness);

    event CheckpointAnchored(uint256 indexed index, uint64 treeSize, bytes32 root, address indexed recorder);
    event Cosigned(uint256 indexed index, address indexed witness, bytes32 root);

    /// @notice Deploys the log administered by `governance`, with `recorder` (a key of its own) anchoring.
    /// @param adminDelay Seconds a new default admin must wait before accepting the transfer.
    /// @param governance The only admin: may replace the recorder; the deployer holds no role.
    /// @param recorder The key that anchors checkpoints.
    constructor(uint48 adminDelay, address governance, address recorder)
        AccessControlDefaultAdminRules(adminDelay, governance)
    {
        _grantRole(ProvexRoles.RECORDER, recorder);
    }

    /// @notice Anchors a checkpoint that extends the latest one: the tree size must grow and `proof` must show
    ///         the latest checkpoint's tree is a prefix of this one (RFC 9162 section 2.1.4.2, SHA-256 precompile).
    /// @dev The first checkpoint extends the empty tree and takes an empty proof. A smaller size reverts with
    ///      `TreeSizeNotIncreasing`; a root that does not extend the latest checkpoint (a rewritten record, a
    ///      wrong, short or long proof, or another root at the same size) with `InconsistentCheckpoint`; the
    ///      latest checkpoint sent again with `TreeSizeNotIncreasing`.
    /// @param treeSize Number of records covered.
    /// @param root RFC 6962 Merkle tree head over the first `treeSize` records.
    /// @param proof Consistency proof from the latest checkpoint to (`treeSize`, `root`); empty for the first.
    function anchor(uint64 treeSize, bytes32 root, bytes32[] calldata proof)
        external
        onlyRole(ProvexRoles.RECORDER)
    {
        uint256 n = _checkpoints.length;
        uint64 previous;
        bytes32 previousRoot = MerkleConsistency.EMPTY_ROOT;
        if (n != 0) {
            Checkpoint storage last = _checkpoints[n - 1];
            (previous, previousRoot) = (last.treeSize, last.root);
        }
        if (treeSize < previous) revert TreeSizeNotIncreasing(previous, treeSize);
        if (!MerkleConsistency.verify(previous, treeSize, previousRoot, root, proof)) {
            revert InconsistentCheckpoint(previous, treeSize);
        }
        if (treeSize == previous) revert TreeSizeNotIncreasing(previous, treeSize);
        _checkpoints.push(Checkpoint(treeSize, uint64(block.timestamp), root));
        emit CheckpointAnchored(n, treeSize, root, msg.sender);
    }

    /// @notice The sender, a witness, cosigns checkpoint `index`: it checked that the checkpoint extends the last
    ///         one it cosigned (`provex witness`). Anyone may cosign; who did is public in the `Cosigned` events.
    /// @dev `root` must be the checkpoint's (`CosignedRootMismatch` otherwise), so a cosignature names exactly what
    ///      was checked; a witness cosigns a checkpoint once (`AlreadyCosigned`). No role: a witness needs none.
    /// @param index Zero-based checkpoint index.
    /// @param root The root the witness checked.
    function cosign(uint256 index, bytes32 root) external {
        uint256 n = _checkpoints.length;
        if (index >= n) revert UnknownCheckpoint(index, n);
        bytes32 anchored = _checkpoints[index].root;
        if (root != anchored) revert CosignedRootMismatch(index, root, anchored);
        if (_cosigned[index][msg.sender]) revert AlreadyCosigned(index, msg.sender);
        _cosigned[index][msg.sender] = true;
        emit Cosigned(index, msg.sender, root);
    }

    /// @notice Whether `witness` cosigned checkpoint `index`.
    function cosigned(uint256 index, address witness) external view returns (bool) {
        return _cosigned[index][witness];
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
