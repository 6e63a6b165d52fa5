// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title RFC 6962 / RFC 9162 Merkle consistency proofs, verified on chain
/// @notice Interior nodes are hashed as SHA-256(0x01 || left || right) with the SHA-256 precompile
///         (address 0x02); the empty tree's root is SHA-256(""). The algorithm is RFC 9162 section 2.1.4.2,
///         step for step the same as `verify_consistency` in ledger/merkle.py (a test checks that both agree
///         on every pair of sizes 1 <= m < n <= 40 and on tampered proofs).
library MerkleConsistency {
    /// @notice Root of the empty tree: SHA-256 of the empty string.
    bytes32 internal constant EMPTY_ROOT = 0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855;

    /// @notice True iff `proof` shows the tree (`oldSize`, `oldRoot`) is a prefix of (`newSize`, `newRoot`).
    /// @dev RFC 9162 section 2.1.4.2 plus the trivial cases of ledger/merkle.py: from size 0 the old root must
    ///      be `EMPTY_ROOT`, and equal sizes need equal roots; both need an empty proof. Never reverts; the loop
    ///      ends after at most 64 + 1 steps for 64-bit sizes whatever the proof's length.
    /// @param oldSize Size of the earlier tree.
    /// @param newSize Size of the later tree.
    /// @param oldRoot RFC 6962 root of the earlier tree.
    /// @param newRoot RFC 6962 root of the later tree.
    /// @param proof The consistency proof (RFC 6962 section 2.1.2 / RFC 9162 section 2.1.4.1).
    /// @return ok Whether the proof holds.
    function verify(uint256 oldSize, uint256 newSize, bytes32 oldRoot, bytes32 newRoot, bytes32[] calldata proof)
        internal
        view
        returns (bool ok)
    {
        if (oldSize > newSize) return false;
        if (oldSize == 0) return proof.length == 0 && oldRoot == EMPTY_ROOT;
        if (oldSize == newSize) return proof.length == 0 && oldRoot == newRoot;
        if (proof.length == 0) return false;
        // 1. If m is an exact power of two, the path starts with the old root itself.
        uint256 i;
        bytes32 fr;
        if (oldSize & (oldSize - 1) == 0) {
            fr = oldRoot;
        } else {
            fr = proof[0];
            i = 1;
        }
        bytes32 sr = fr;
        uint256 fn = oldSize - 1;
        uint256 sn = newSize - 1;
        // 3. Right-shift fn and sn while LSB(fn) is set.
        while (fn & 1 == 1) {
            fn >>= 1;
            sn >>= 1;
        }
        // 5. Fold in every remaining hash of the path.
        for (; i < proof.length; ++i) {
            if (sn == 0) return false;
            bytes32 c = proof[i];
            if (fn & 1 == 1 || fn == sn) {
                fr = nodeHash(c, fr);
                sr = nodeHash(c, sr);
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                sr = nodeHash(sr, c);
            }
            fn >>= 1;
            sn >>= 1;
        }
        // 6. Both roots rebuilt, and the path used up exactly.
        return fr == oldRoot && sr == newRoot && sn == 0;
    }

    /// @notice RFC 6962 interior node hash: SHA-256(0x01 || left || right).
    /// @dev Calls the SHA-256 precompile on 65 bytes written past the free memory pointer (scratch use only).
    /// @param left Hash of the left subtree.
    /// @param right Hash of the right subtree.
    /// @return h The node's hash.
    function nodeHash(bytes32 left, bytes32 right) internal view returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            mstore(add(ptr, 0x01), left)
            mstore(add(ptr, 0x21), right)
            if iszero(staticcall(gas(), 0x02, ptr, 0x41, 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
        }
    }
}
