// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleConsistency} from "./MerkleConsistency.sol";

/// @title Test harness: MerkleConsistency.verify over many cases in one eth_call
contract MerkleConsistencyHarness {
    struct Case {
        uint256 oldSize;
        uint256 newSize;
        bytes32 oldRoot;
        bytes32 newRoot;
        bytes32[] proof;
    }

    /// @notice The verifier's answer for each case.
    /// @param cases (old size, new size, old root, new root, proof) tuples.
    function verifyMany(Case[] calldata cases) external view returns (bool[] memory results) {
        results = new bool[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            Case calldata c = cases[i];
            results[i] = MerkleConsistency.verify(c.oldSize, c.newSize, c.oldRoot, c.newRoot, c.proof);
        }
    }
}
