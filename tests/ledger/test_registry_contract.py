"""DataRegistry rules, enforced by the chain itself (real Anvil)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_account.signers.local import LocalAccount

from ledger.contracts import AUTHORITY_ROLE, OPERATOR_ROLE, Classification, Ledger, ProductStatus
from ledger.errors import ContractRevert
from ledger.ids import chain_id_of
from tests.conftest import uid
from tests.ledger.chain_helpers import H1, H2, advance_time, listed_product, make_operator, now
from tests.ledger.conftest import Isolated

Roles = dict[str, LocalAccount]
NewAccount = Callable[[], LocalAccount]


def reverts(name: str) -> pytest.RaisesContext[ContractRevert]:
    return pytest.raises(ContractRevert, match=rf"^{name}\(")


def test_only_authority_grants_operator_status(ledger: Ledger, roles: Roles, new_account: NewAccount) -> None:
    outsider, candidate = new_account(), new_account()
    with reverts("AccessControlUnauthorizedAccount") as exc:
        ledger.grant_role(outsider, "DataRegistry", OPERATOR_ROLE, candidate.address)
    assert exc.value.args_by_name["account"] == outsider.address
    assert exc.value.args_by_name["neededRole"] == AUTHORITY_ROLE
    ledger.grant_role(roles["authority"], "DataRegistry", OPERATOR_ROLE, candidate.address)
    assert ledger.has_role("DataRegistry", OPERATOR_ROLE, candidate.address)


def test_resource_registration_rules(ledger: Ledger, roles: Roles, new_account: NewAccount) -> None:
    rid = uid("res")
    with reverts("AccessControlUnauthorizedAccount"):
        ledger.register_resource(new_account(), rid, Classification.GENERAL, H1, H2)
    with reverts("InvalidClassification") as exc:
        ledger.register_resource(roles["authority"], rid, 3, H1, H2)  # type: ignore[arg-type]
    assert exc.value.args_by_name == {"classification": 3}
    receipt = ledger.register_resource(roles["authority"], rid, Classification.IMPORTANT, H1, H2)
    assert receipt.log_index is not None and receipt.tx_hash.startswith("0x")
    assert ledger.resource(rid) == (Classification.IMPORTANT, H1, H2)
    with reverts("ResourceExists") as exc:
        ledger.register_resource(roles["authority"], rid, Classification.GENERAL, H1, H2)
    assert exc.value.args_by_name["resourceId"] == chain_id_of(rid)


def test_authorization_limits(ledger: Ledger, roles: Roles, new_account: NewAccount) -> None:
    auth = roles["authority"]
    op = make_operator(ledger, roles, new_account)
    general, important, core = uid("res"), uid("res"), uid("res")
    ledger.register_resource(auth, general, Classification.GENERAL, H1, H2)
    ledger.register_resource(auth, important, Classification.IMPORTANT, H1, H2)
    ledger.register_resource(auth, core, Classification.CORE, H1, H2)
    t = now(ledger)

    with reverts("NotOperator") as exc:
        ledger.grant_authorization(auth, uid("a"), new_account().address, [general], H1, t, t + 100,
                                   Classification.GENERAL)
    with reverts("CoreDataNotTradable") as exc:
        ledger.grant_authorization(auth, uid("a"), op.address, [general, core], H1, t, t + 100,
                                   Classification.IMPORTANT)
    assert exc.value.args_by_name["resourceId"] == chain_id_of(core)
    with reverts("ClassificationExceeded") as exc:
        ledger.grant_authorization(auth, uid("a"), op.address, [important], H1, t, t + 100,
                                   Classification.GENERAL)
    assert exc.value.args_by_name["classification"] == 1 and exc.value.args_by_name["maxClassification"] == 0
    with reverts("InvalidWindow"):
        ledger.grant_authorization(auth, uid("a"), op.address, [general], H1, t + 100, t + 100,
                                   Classification.GENERAL)
    with reverts("InvalidClassification"):
        ledger.grant_authorization(auth, uid("a"), op.address, [general], H1, t, t + 100, Classification.CORE)
    with reverts("EmptyResourceSet"):
        ledger.grant_authorization(auth, uid("a"), op.address, [], H1, t, t + 100, Classification.GENERAL)
    with reverts("AccessControlUnauthorizedAccount"):
        ledger.grant_authorization(op, uid("a"), op.address, [general], H1, t, t + 100, Classification.GENERAL)

    assert not ledger.is_authorized(op.address, general)
    authz = uid("authz")
    ledger.grant_authorization(auth, authz, op.address, [general, important], H1, t - 1, t + 10**6,
                               Classification.IMPORTANT)
    assert ledger.is_authorized(op.address, general) and ledger.is_authorized(op.address, important)
    ledger.revoke_authorization(auth, authz, H2)
    assert not ledger.is_authorized(op.address, general)
    with reverts("AuthorizationAlreadyRevoked"):
        ledger.revoke_authorization(auth, authz, H2)


def test_product_registration_requires_covering_authorization(
    ledger: Ledger, roles: Roles, new_account: NewAccount
) -> None:
    listed = listed_product(ledger, roles, new_account, list_it=False)
    other_op = make_operator(ledger, roles, new_account)
    stray = uid("res")
    ledger.register_resource(roles["authority"], stray, Classification.GENERAL, H1, H2)

    with reverts("NotAuthorizationHolder") as exc:
        ledger.register_product(other_op, uid("p"), listed.authorization, listed.resources, H2, "x")
    assert exc.value.args_by_name["holder"] == listed.operator.address
    with reverts("NotAuthorized") as exc:
        ledger.register_product(listed.operator, uid("p"), listed.authorization, [stray], H2, "x")
    assert exc.value.args_by_name == {"operator": listed.operator.address, "resourceId": chain_id_of(stray)}
    with reverts("AccessControlUnauthorizedAccount"):
        ledger.register_product(new_account(), uid("p"), listed.authorization, listed.resources, H2, "x")
    with reverts("ProductExists"):
        ledger.register_product(listed.operator, listed.product, listed.authorization, listed.resources, H2, "x")

    p = ledger.product(listed.product)
    assert (p.status, p.version, p.metadata_hash) == (ProductStatus.REGISTERED, 1, H2)
    ledger.update_product_metadata(listed.operator, listed.product, H1)
    p = ledger.product(listed.product)
    assert (p.version, p.metadata_hash) == (2, H1)
    with reverts("NotProductOperator"):
        ledger.update_product_metadata(other_op, listed.product, H2)


def test_status_transitions(ledger: Ledger, roles: Roles, new_account: NewAccount) -> None:
    ex = roles["exchange"]
    listed = listed_product(ledger, roles, new_account, list_it=False)
    with reverts("AccessControlUnauthorizedAccount"):
        ledger.set_product_status(listed.operator, listed.product, ProductStatus.LISTED)
    with reverts("IllegalStatusTransition") as exc:
        ledger.set_product_status(ex, listed.product, ProductStatus.SUSPENDED)
    assert exc.value.args_by_name == {"productId": chain_id_of(listed.product), "fromStatus": 1, "toStatus": 3}
    ledger.set_product_status(ex, listed.product, ProductStatus.LISTED)
    assert ledger.is_tradable(listed.product)
    ledger.set_product_status(ex, listed.product, ProductStatus.SUSPENDED)
    ledger.set_product_status(ex, listed.product, ProductStatus.LISTED)
    ledger.set_product_status(ex, listed.product, ProductStatus.DELISTED)
    for target in (ProductStatus.LISTED, ProductStatus.SUSPENDED, ProductStatus.DELISTED):
        with reverts("IllegalStatusTransition"):
            ledger.set_product_status(ex, listed.product, target)
    with reverts("IllegalStatusTransition"):
        ledger.update_product_metadata(listed.operator, listed.product, H1)


def test_revoked_authorization_blocks_listing_and_allows_suspension(
    ledger: Ledger, roles: Roles, new_account: NewAccount
) -> None:
    listed = listed_product(ledger, roles, new_account)
    unlisted = listed_product(ledger, roles, new_account, list_it=False)
    with reverts("AuthorizationStillValid"):
        ledger.suspend_unauthorized(new_account(), listed.product)
    ledger.revoke_authorization(roles["authority"], listed.authorization, H1)
    ledger.revoke_authorization(roles["authority"], unlisted.authorization, H1)
    assert not ledger.is_tradable(listed.product)
    ledger.suspend_unauthorized(new_account(), listed.product)  # anyone may enforce it
    assert ledger.product(listed.product).status == ProductStatus.SUSPENDED
    with reverts("AuthorizationInactive") as exc:
        ledger.set_product_status(roles["exchange"], unlisted.product, ProductStatus.LISTED)
    assert exc.value.args_by_name["revoked"] is True


def test_expiry_moves_with_chain_time(isolated: Isolated) -> None:
    ledger, roles, new_account = isolated.ledger, isolated.roles, isolated.new_account
    listed = listed_product(ledger, roles, new_account, lifetime=3600)
    assert ledger.is_authorized(listed.operator.address, listed.resources[0])
    advance_time(ledger, 3601)
    assert not ledger.is_authorized(listed.operator.address, listed.resources[0])
    assert not ledger.is_tradable(listed.product)
    with reverts("AuthorizationInactive") as exc:
        ledger.register_product(listed.operator, uid("p"), listed.authorization, listed.resources, H2, "x")
    assert exc.value.args_by_name["revoked"] is False
    assert exc.value.args_by_name["nowTs"] >= exc.value.args_by_name["validUntil"]
