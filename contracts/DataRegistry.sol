// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";
import {ProvexRoles} from "./ProvexRoles.sol";

/// @title Provex data registry
/// @notice Public data resources, operator authorizations (授权运营) and data products.
/// @dev Classification levels: 0 = general, 1 = important, 2 = core. Core data may never be
///      authorized or registered for trading. Product status: 1 registered, 2 listed,
///      3 suspended, 4 delisted (terminal).
contract DataRegistry is AccessControlDefaultAdminRules, ERC2771Context {
    uint8 public constant GENERAL = 0;
    uint8 public constant IMPORTANT = 1;
    uint8 public constant CORE = 2;

    uint8 public constant REGISTERED = 1;
    uint8 public constant LISTED = 2;
    uint8 public constant SUSPENDED = 3;
    uint8 public constant DELISTED = 4;

    struct Resource {
        uint8 classification;
        bool exists;
        bytes32 contentHash;
        bytes32 metadataHash;
    }

    struct Authorization {
        address operator;
        uint8 maxClassification;
        bool revoked;
        uint64 validFrom;
        uint64 validUntil;
        bytes32 purposeHash;
        bytes32[] resourceIds;
    }

    struct Product {
        address operator;
        uint8 status;
        uint32 version;
        bytes32 authorizationId;
        bytes32 metadataHash;
        bytes32 sector;
        bytes32[] resourceIds;
    }

    mapping(bytes32 => Resource) private _resources;
    mapping(bytes32 => Authorization) private _authorizations;
    mapping(bytes32 => mapping(bytes32 => bool)) private _authCovers;
    mapping(address => bytes32[]) private _operatorAuthorizations;
    mapping(bytes32 => Product) private _products;

    error ResourceExists(bytes32 resourceId);
    error UnknownResource(bytes32 resourceId);
    error InvalidClassification(uint8 classification);
    error CoreDataNotTradable(bytes32 resourceId);
    error ClassificationExceeded(bytes32 resourceId, uint8 classification, uint8 maxClassification);
    error NotOperator(address account);
    error AuthorizationExists(bytes32 authorizationId);
    error UnknownAuthorization(bytes32 authorizationId);
    error InvalidWindow(uint64 validFrom, uint64 validUntil);
    error EmptyResourceSet();
    error AuthorizationInactive(bytes32 authorizationId, bool revoked, uint64 validFrom, uint64 validUntil, uint64 nowTs);
    error AuthorizationAlreadyRevoked(bytes32 authorizationId);
    error NotAuthorizationHolder(bytes32 authorizationId, address holder, address caller);
    error NotAuthorized(address operator, bytes32 resourceId);
    error ProductExists(bytes32 productId);
    error UnknownProduct(bytes32 productId);
    error NotProductOperator(bytes32 productId, address operator, address caller);
    error IllegalStatusTransition(bytes32 productId, uint8 fromStatus, uint8 toStatus);
    error AuthorizationStillValid(bytes32 authorizationId);
    error LimitWidens(bytes32 authorizationId, uint64 validUntil, uint64 currentValidUntil);
    error LimitInPast(bytes32 authorizationId, uint64 validUntil, uint64 nowTs);
    error LimitChangesNothing(bytes32 authorizationId);

    event ResourceRegistered(bytes32 indexed resourceId, uint8 classification, bytes32 contentHash, bytes32 metadataHash);
    event AuthorizationGranted(bytes32 indexed authorizationId, address indexed operator, bytes32[] resourceIds, bytes32 purposeHash, uint64 validFrom, uint64 validUntil, uint8 maxClassification);
    event AuthorizationRevoked(bytes32 indexed authorizationId, address indexed operator, bytes32 reasonHash);
    event AuthorizationLimited(bytes32 indexed authorizationId, address indexed operator, uint64 validUntil, bytes32 purposeHash, bytes32 reasonHash);
    event ProductRegistered(bytes32 indexed productId, address indexed operator, bytes32 indexed authorizationId, bytes32[] resourceIds, bytes32 metadataHash, bytes32 sector);
    event ProductMetadataUpdated(bytes32 indexed productId, uint32 version, bytes32 metadataHash);
    event ProductStatusChanged(bytes32 indexed productId, uint8 fromStatus, uint8 toStatus, address indexed actor, bytes32 reasonHash);

    /// @notice Deploys the registry with `governance` as its only admin (it assigns the authority and
    ///         exchange roles); the deployer holds no role. Admin transfers are two-step and wait `adminDelay`.
    /// @param adminDelay Seconds a new default admin must wait before accepting the transfer.
    /// @param governance The governance address (a multisig or TimelockController in production).
    /// @param forwarder The trusted ERC-2771 forwarder relaying participants' signed acts.
    constructor(uint48 adminDelay, address governance, address forwarder)
        AccessControlDefaultAdminRules(adminDelay, governance)
        ERC2771Context(forwarder)
    {
        _setRoleAdmin(ProvexRoles.OPERATOR, ProvexRoles.AUTHORITY);
    }

    // ------------------------------------------------------------------ resources

    /// @notice Registers a public data resource with its classification.
    /// @param resourceId keccak256 of the resource's UUID.
    /// @param classification 0 general, 1 important, 2 core.
    /// @param contentHash Hash of the resource content.
    /// @param metadataHash Hash of the canonical resource metadata.
    function registerResource(bytes32 resourceId, uint8 classification, bytes32 contentHash, bytes32 metadataHash)
        external
        onlyRole(ProvexRoles.AUTHORITY)
    {
        if (classification > CORE) revert InvalidClassification(classification);
        if (_resources[resourceId].exists) revert ResourceExists(resourceId);
        _resources[resourceId] = Resource(classification, true, contentHash, metadataHash);
        emit ResourceRegistered(resourceId, classification, contentHash, metadataHash);
    }

    /// @notice Returns a registered resource.
    /// @param resourceId The resource id.
    function resource(bytes32 resourceId) external view returns (Resource memory) {
        return _requireResource(resourceId);
    }

    // ------------------------------------------------------------- authorizations

    /// @notice Grants `operator` an authorization over `resourceIds`.
    /// @dev Reverts for core data, for resources above `maxClassification` and for an empty window.
    /// @param authorizationId keccak256 of the authorization's UUID.
    /// @param operator The operating entity; must hold the operator role.
    /// @param resourceIds The resources covered.
    /// @param purposeHash Hash of the permitted purposes.
    /// @param validFrom Start of validity (unix seconds).
    /// @param validUntil End of validity (unix seconds, exclusive).
    /// @param maxClassification Highest classification covered (general or important).
    function grantAuthorization(
        bytes32 authorizationId,
        address operator,
        bytes32[] calldata resourceIds,
        bytes32 purposeHash,
        uint64 validFrom,
        uint64 validUntil,
        uint8 maxClassification
    ) external onlyRole(ProvexRoles.AUTHORITY) {
        if (!hasRole(ProvexRoles.OPERATOR, operator)) revert NotOperator(operator);
        if (_authorizations[authorizationId].operator != address(0)) revert AuthorizationExists(authorizationId);
        if (validUntil <= validFrom) revert InvalidWindow(validFrom, validUntil);
        if (resourceIds.length == 0) revert EmptyResourceSet();
        if (maxClassification > IMPORTANT) revert InvalidClassification(maxClassification);
        for (uint256 i = 0; i < resourceIds.length; i++) {
            Resource storage r = _requireResource(resourceIds[i]);
            if (r.classification == CORE) revert CoreDataNotTradable(resourceIds[i]);
            if (r.classification > maxClassification) {
                revert ClassificationExceeded(resourceIds[i], r.classification, maxClassification);
            }
            _authCovers[authorizationId][resourceIds[i]] = true;
        }
        _authorizations[authorizationId] =
            Authorization(operator, maxClassification, false, validFrom, validUntil, purposeHash, resourceIds);
        _operatorAuthorizations[operator].push(authorizationId);
        emit AuthorizationGranted(authorizationId, operator, resourceIds, purposeHash, validFrom, validUntil, maxClassification);
    }

    /// @notice Revokes an authorization; products built on it can then be suspended by anyone.
    /// @param authorizationId The authorization to revoke.
    /// @param reasonHash Hash of the written reason.
    function revokeAuthorization(bytes32 authorizationId, bytes32 reasonHash) external onlyRole(ProvexRoles.AUTHORITY) {
        Authorization storage a = _requireAuthorization(authorizationId);
        if (a.revoked) revert AuthorizationAlreadyRevoked(authorizationId);
        a.revoked = true;
        emit AuthorizationRevoked(authorizationId, a.operator, reasonHash);
    }

    /// @notice Limits an active authorization: an earlier (or the same) end and/or narrower purposes.
    /// @dev Never widens: a later end reverts `LimitWidens` (a wider authorization is a new grant); a limit that
    ///      changes nothing reverts `LimitChangesNothing` (so a limit sent twice lands once). That the
    ///      purposes are a subset of the granted ones is checked off chain, where the purposes are; the chain
    ///      keeps their hash. After the new end the authorization expires like any other.
    /// @param authorizationId The authorization to limit.
    /// @param validUntil The new end of validity (unix seconds, exclusive), after now and not after the current.
    /// @param purposeHash Hash of the remaining permitted purposes.
    /// @param reasonHash Hash of the written reason.
    function limitAuthorization(bytes32 authorizationId, uint64 validUntil, bytes32 purposeHash, bytes32 reasonHash)
        external
        onlyRole(ProvexRoles.AUTHORITY)
    {
        Authorization storage a = _requireAuthorization(authorizationId);
        _requireActive(authorizationId, a);
        if (validUntil > a.validUntil) revert LimitWidens(authorizationId, validUntil, a.validUntil);
        if (validUntil <= block.timestamp) revert LimitInPast(authorizationId, validUntil, uint64(block.timestamp));
        if (validUntil == a.validUntil && purposeHash == a.purposeHash) revert LimitChangesNothing(authorizationId);
        a.validUntil = validUntil;
        a.purposeHash = purposeHash;
        emit AuthorizationLimited(authorizationId, a.operator, validUntil, purposeHash, reasonHash);
    }

    /// @notice Returns an authorization.
    /// @param authorizationId The authorization id.
    function authorization(bytes32 authorizationId) external view returns (Authorization memory) {
        return _requireAuthorization(authorizationId);
    }

    /// @notice True when the authorization is unrevoked and inside its validity window now.
    /// @param authorizationId The authorization id.
    function isAuthorizationActive(bytes32 authorizationId) public view returns (bool) {
        Authorization storage a = _authorizations[authorizationId];
        return a.operator != address(0) && !a.revoked && block.timestamp >= a.validFrom
            && block.timestamp < a.validUntil;
    }

    /// @notice True when `operator` holds an active authorization covering `resourceId` now.
    /// @param operator The operating entity.
    /// @param resourceId The resource id.
    function isAuthorized(address operator, bytes32 resourceId) external view returns (bool) {
        bytes32[] storage ids = _operatorAuthorizations[operator];
        for (uint256 i = 0; i < ids.length; i++) {
            if (_authCovers[ids[i]][resourceId] && isAuthorizationActive(ids[i])) return true;
        }
        return false;
    }

    // ------------------------------------------------------------------- products

    /// @notice Registers a data product built from `resourceIds` under `authorizationId`.
    /// @dev Reverts unless the caller holds that active authorization and it covers every resource.
    /// @param productId keccak256 of the product's UUID.
    /// @param authorizationId The authorization the product is built under.
    /// @param resourceIds The resources the product is built from.
    /// @param metadataHash Hash of the canonical product metadata (version 1).
    /// @param sector keccak256 of the product's sector code (for voucher eligibility).
    function registerProduct(
        bytes32 productId,
        bytes32 authorizationId,
        bytes32[] calldata resourceIds,
        bytes32 metadataHash,
        bytes32 sector
    ) external onlyRole(ProvexRoles.OPERATOR) {
        address caller = _msgSender();
        if (_products[productId].operator != address(0)) revert ProductExists(productId);
        if (resourceIds.length == 0) revert EmptyResourceSet();
        Authorization storage a = _requireAuthorization(authorizationId);
        if (a.operator != caller) revert NotAuthorizationHolder(authorizationId, a.operator, caller);
        _requireActive(authorizationId, a);
        for (uint256 i = 0; i < resourceIds.length; i++) {
            Resource storage r = _requireResource(resourceIds[i]);
            if (r.classification == CORE) revert CoreDataNotTradable(resourceIds[i]);
            if (!_authCovers[authorizationId][resourceIds[i]]) revert NotAuthorized(caller, resourceIds[i]);
            if (r.classification > a.maxClassification) {
                revert ClassificationExceeded(resourceIds[i], r.classification, a.maxClassification);
            }
        }
        _products[productId] = Product(caller, REGISTERED, 1, authorizationId, metadataHash, sector, resourceIds);
        emit ProductRegistered(productId, caller, authorizationId, resourceIds, metadataHash, sector);
    }

    /// @notice Replaces a product's metadata hash and bumps its version.
    /// @param productId The product.
    /// @param metadataHash The new metadata hash.
    function updateProductMetadata(bytes32 productId, bytes32 metadataHash) external {
        Product storage p = _requireProduct(productId);
        if (p.operator != _msgSender()) revert NotProductOperator(productId, p.operator, _msgSender());
        if (p.status == DELISTED) revert IllegalStatusTransition(productId, DELISTED, DELISTED);
        p.version += 1;
        p.metadataHash = metadataHash;
        emit ProductMetadataUpdated(productId, p.version, metadataHash);
    }

    /// @notice The exchange lists, suspends or delists a product.
    /// @dev Legal: registered->listed|delisted, listed->suspended|delisted, suspended->listed|delisted.
    ///      Listing requires the product's authorization to be active.
    /// @param productId The product.
    /// @param toStatus 2 listed, 3 suspended, 4 delisted.
    /// @param reasonHash Hash of the decision's written reasons.
    function setProductStatus(bytes32 productId, uint8 toStatus, bytes32 reasonHash)
        external
        onlyRole(ProvexRoles.EXCHANGE)
    {
        Product storage p = _requireProduct(productId);
        uint8 from = p.status;
        bool legal = (toStatus == LISTED && (from == REGISTERED || from == SUSPENDED))
            || (toStatus == SUSPENDED && from == LISTED) || (toStatus == DELISTED && from != DELISTED);
        if (!legal) revert IllegalStatusTransition(productId, from, toStatus);
        if (toStatus == LISTED) _requireActive(p.authorizationId, _authorizations[p.authorizationId]);
        p.status = toStatus;
        emit ProductStatusChanged(productId, from, toStatus, _msgSender(), reasonHash);
    }

    /// @notice Suspends a listed product whose authorization is revoked or expired. Anyone may call.
    /// @param productId The product.
    function suspendUnauthorized(bytes32 productId) external {
        Product storage p = _requireProduct(productId);
        if (isAuthorizationActive(p.authorizationId)) revert AuthorizationStillValid(p.authorizationId);
        if (p.status != LISTED) revert IllegalStatusTransition(productId, p.status, SUSPENDED);
        p.status = SUSPENDED;
        emit ProductStatusChanged(productId, LISTED, SUSPENDED, _msgSender(), bytes32(0));
    }

    /// @notice Returns a product.
    /// @param productId The product id.
    function product(bytes32 productId) external view returns (Product memory) {
        return _requireProduct(productId);
    }

    /// @notice True when the product is listed and its authorization is active now.
    /// @param productId The product id.
    function isTradable(bytes32 productId) external view returns (bool) {
        Product storage p = _products[productId];
        return p.status == LISTED && isAuthorizationActive(p.authorizationId);
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

    // ------------------------------------------------------------------ internals

    function _requireResource(bytes32 resourceId) private view returns (Resource storage r) {
        r = _resources[resourceId];
        if (!r.exists) revert UnknownResource(resourceId);
    }

    function _requireAuthorization(bytes32 authorizationId) private view returns (Authorization storage a) {
        a = _authorizations[authorizationId];
        if (a.operator == address(0)) revert UnknownAuthorization(authorizationId);
    }

    function _requireProduct(bytes32 productId) private view returns (Product storage p) {
        p = _products[productId];
        if (p.operator == address(0)) revert UnknownProduct(productId);
    }

    function _requireActive(bytes32 authorizationId, Authorization storage a) private view {
        uint64 nowTs = uint64(block.timestamp);
        if (a.revoked || nowTs < a.validFrom || nowTs >= a.validUntil) {
            revert AuthorizationInactive(authorizationId, a.revoked, a.validFrom, a.validUntil, nowTs);
        }
    }
}
