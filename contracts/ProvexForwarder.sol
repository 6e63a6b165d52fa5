// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC2771Forwarder} from "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol";

/// @title Provex trusted forwarder
/// @notice OpenZeppelin's ERC-2771 forwarder under the EIP-712 domain ("ProvexForwarder", "1"): relays a
///         participant's signed act (per-signer sequential nonces, a deadline) so the target sees the
///         signer as `_msgSender()`; the relayer pays the gas.
contract ProvexForwarder is ERC2771Forwarder {
    /// @notice Deploys the forwarder; it holds no role and no funds.
    constructor() ERC2771Forwarder("ProvexForwarder") {}
}
