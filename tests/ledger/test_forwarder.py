"""Signed acts relayed through the trusted forwarder: attributed to the signer, refused by name otherwise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.client import Receipt
from ledger.contracts import AUTHORITY_ROLE, OPERATOR_ROLE, Act, Classification, Ledger, ProductStatus
from ledger.errors import ContractRevert
from ledger.forwarder import (
    ForwardRequestRefused,
    Relayer,
    SignedRequest,
    build_request,
    recover_signer,
    sign_request,
)
from ledger.ids import chain_id_of
from tests.conftest import uid
from tests.ledger.chain_helpers import H1, H2, listed_product, now

Roles = dict[str, LocalAccount]
NewAccount = Callable[[], LocalAccount]


@pytest.fixture
def relayer(ledger: Ledger, new_account: NewAccount) -> Relayer:
    """A relayer with its own key and no role anywhere."""
    return Relayer(ledger, new_account())


def event_args(ledger: Ledger, contract: str, event: str, receipt_logs: list[dict[str, object]]) -> dict[str, object]:
    ev = getattr(ledger.contracts[contract].events, event)()
    for log in receipt_logs:
        if log["address"] == ledger.contracts[contract].address:
            try:
                return dict(ev.process_log(log)["args"])
            except Exception:
                continue
    raise AssertionError(f"no {event} in the receipt")


def sender_of(ledger: Ledger, tx_hash: str) -> str:
    return str(ledger.client.w3.eth.get_transaction(tx_hash)["from"])  # type: ignore[arg-type]


def test_pure_sign_and_recover(relayer: Relayer) -> None:
    signer = Account.create()
    act = relayer.ledger.acts.register_resource(uid("res"), Classification.GENERAL, H1, H2)
    request = build_request(signer.address, act, nonce=7, gas=100_000, deadline=2**40)
    signed = sign_request(signer, request, relayer.domain)
    assert recover_signer(signed, relayer.domain) == signer.address
    assert relayer.domain.name == "ProvexForwarder" and relayer.domain.version == "1"
    relayer.check_domain()  # the domain known from the deployment is the contract's own
    assert request.typed_data(relayer.domain)["message"]["data"] == act.data
    assert recover_signer(replace(signed, request=replace(request, nonce=8)), relayer.domain) != signer.address


def test_relayed_acts_are_the_signers(ledger: Ledger, roles: Roles, new_account: NewAccount, relayer: Relayer,
                                      minter: LocalAccount) -> None:
    """Authority, operator, exchange and buyer each sign; the relayer sends and pays; the chain names the signer."""
    auth, exchange = roles["authority"], roles["exchange"]
    operator = Account.create()  # never funded: it pays no gas at all
    buyer = Account.create()
    ledger.mint(minter, buyer.address, 1_000_000)

    def relay(account: LocalAccount, act: Act) -> Receipt:
        return relayer.relay(relayer.sign(account, relayer.prepare(account.address, act)), act)

    rcpt = relay(auth, ledger.acts.grant_role("DataRegistry", OPERATOR_ROLE, operator.address))
    assert ledger.has_role("DataRegistry", OPERATOR_ROLE, operator.address)
    assert event_args(ledger, "DataRegistry", "RoleGranted", rcpt.logs)["sender"] == auth.address
    res = uid("res")
    relay(auth, ledger.acts.register_resource(res, Classification.GENERAL, H1, H2))
    authz, t = uid("authz"), now(ledger)
    relay(auth, ledger.acts.grant_authorization(authz, operator.address, [res], H1, t - 10, t + 10**8,
                                                Classification.IMPORTANT))
    product = uid("prod")
    rcpt = relay(operator, ledger.acts.register_product(product, authz, [res], H2, "agriculture"))
    registered = event_args(ledger, "DataRegistry", "ProductRegistered", rcpt.logs)
    assert registered["operator"] == operator.address and ledger.product(product).operator == operator.address
    assert sender_of(ledger, rcpt.tx_hash) == relayer.account.address
    assert rcpt.log_index is not None
    rcpt = relay(exchange, ledger.acts.set_product_status(product, ProductStatus.LISTED))
    assert event_args(ledger, "DataRegistry", "ProductStatusChanged", rcpt.logs)["actor"] == exchange.address
    offer = uid("offer")
    relay(operator, ledger.acts.publish_offer(offer, product, [(1, 500)], [(operator.address, 10_000)]))

    # the buyer signs approve and purchase together (nonce n, n + 1) before either is relayed
    first = relayer.prepare(buyer.address, ledger.acts.approve_settlement())
    buy = ledger.acts.buy_license(uid("lic"), offer, 3, H1)
    second = relayer.prepare(buyer.address, buy, pending=1)
    assert second.nonce == first.nonce + 1
    signed = [relayer.sign(buyer, first), relayer.sign(buyer, second)]
    with pytest.raises(ForwardRequestRefused) as exc:
        relayer.relay(signed[1], buy)
    assert exc.value.name == "ForwardRequestNonceAhead"
    relayer.relay(signed[0])
    relayer_balance = ledger.client.balance(relayer.account.address)
    rcpt = relayer.relay(signed[1], buy)
    bought = event_args(ledger, "Settlement", "LicensePurchased", rcpt.logs)
    assert bought["buyer"] == buyer.address and bought["amount"] == 1500
    assert ledger.balance_of(buyer.address) == 1_000_000 - 1500 and ledger.balance_of(operator.address) == 1500
    assert ledger.client.balance(buyer.address) == 0  # the relayer paid the gas
    assert ledger.client.balance(relayer.account.address) < relayer_balance
    assert relayer.nonce(buyer.address) == 2


def test_refusals_are_named(ledger: Ledger, roles: Roles, new_account: NewAccount, relayer: Relayer) -> None:
    auth = roles["authority"]
    act = ledger.acts.register_resource(uid("res"), Classification.GENERAL, H1, H2)
    request = relayer.prepare(auth.address, act)
    signed = relayer.sign(auth, request)

    tampered_sig = SignedRequest(request, signed.signature[:-1] + bytes([signed.signature[-1] ^ 1]))
    with pytest.raises(ContractRevert) as exc:
        relayer.relay(tampered_sig, act)
    assert exc.value.name == "ERC2771ForwarderInvalidSigner"
    other = ledger.acts.register_resource(uid("res"), Classification.GENERAL, H1, H2)
    tampered_data = SignedRequest(replace(request, data=other.data), signed.signature)
    with pytest.raises(ContractRevert) as exc:
        relayer.relay(tampered_data, act)
    assert exc.value.name == "ERC2771ForwarderInvalidSigner"
    assert exc.value.args_by_name["from"] == auth.address

    expired = relayer.sign(auth, replace(request, deadline=now(ledger) - 1))
    with pytest.raises(ContractRevert) as exc:
        relayer.relay(expired, act)
    assert exc.value.name == "ERC2771ForwarderExpiredRequest"

    relayer.relay(signed, act)  # the genuine one
    with pytest.raises(ForwardRequestRefused) as exc:
        relayer.relay(signed, act)
    assert exc.value.name == "ForwardRequestNonceUsed"
    # the chain refuses the replay too, whoever sends it: the used nonce no longer matches the signature
    with pytest.raises(ContractRevert) as exc:
        ledger.client.transact(relayer.account, ledger.forwarder.functions.execute(signed.as_struct()))
    assert exc.value.name == "ERC2771ForwarderInvalidSigner"

    # a non-role holder's act is refused with the contract's own rule, naming the signer (not the relayer)
    outsider = Account.create()
    act = ledger.acts.register_resource(uid("res"), Classification.GENERAL, H1, H2)
    with pytest.raises(ContractRevert) as exc:
        relayer.prepare(outsider.address, act)
    assert exc.value.name == "AccessControlUnauthorizedAccount"
    forged = relayer.sign(outsider, relayer.prepare(outsider.address, act, gas=200_000))
    with pytest.raises(ContractRevert) as exc:
        relayer.relay(forged, act)
    assert exc.value.name == "AccessControlUnauthorizedAccount"
    assert exc.value.args_by_name == {"account": outsider.address, "neededRole": AUTHORITY_ROLE}
    # a relayer holding the role lends it to nobody: the authority relaying an outsider's act is refused too
    with pytest.raises(ContractRevert, match="AccessControlUnauthorizedAccount"):
        Relayer(ledger, auth).relay(forged, act)
    assert relayer.nonce(outsider.address) == 0


def test_failed_inner_call_consumes_the_nonce(ledger: Ledger, roles: Roles, new_account: NewAccount,
                                              relayer: Relayer) -> None:
    """A request that passes the checks but fails on chain (a race) uses its nonce: it can never run later."""
    listed = listed_product(ledger, roles, new_account)
    op = listed.operator
    offer = uid("offer")
    act = ledger.acts.withdraw_offer(offer)  # the offer does not exist yet: UnknownOffer
    request = relayer.prepare(op.address, act, gas=100_000)
    signed = relayer.sign(op, request)
    batch = ledger.forwarder.functions.executeBatch([signed.as_struct()], relayer.account.address)
    receipt = ledger.client.transact(relayer.account, batch)  # sent without the pre-flight checks
    assert relayer._executed(receipt, request) is False
    assert relayer.nonce(op.address) == request.nonce + 1
    ledger.publish_offer(op, offer, listed.product, [(1, 100)], [(op.address, 10_000)])
    with pytest.raises(ForwardRequestRefused, match="ForwardRequestNonceUsed"):
        relayer.relay(signed, act)
    assert ledger.raw_call("Settlement", "offer", chain_id_of(offer))[2] is True  # published, not withdrawn
