"""Settlement: caps, offers, exact splits, vouchers, escrow and refunds, checked to the fen on chain."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_account.signers.local import LocalAccount

from ledger.contracts import Ledger, LicenseStatus, ProductStatus
from ledger.errors import ContractRevert
from ledger.ids import chain_id_of
from tests.conftest import uid
from tests.ledger.chain_helpers import H1, advance_time, listed_product, now
from tests.ledger.conftest import Isolated

Roles = dict[str, LocalAccount]
NewAccount = Callable[[], LocalAccount]


def reverts(name: str) -> pytest.RaisesContext[ContractRevert]:
    return pytest.raises(ContractRevert, match=rf"^{name}\(")


@pytest.fixture
def funded_buyer(ledger: Ledger, minter: LocalAccount, new_account: NewAccount) -> LocalAccount:
    buyer = new_account()
    ledger.mint(minter, buyer.address, 1_000_000)
    return buyer


def test_three_way_split_with_remainder(ledger: Ledger, roles: Roles, new_account: NewAccount,
                                        funded_buyer: LocalAccount) -> None:
    listed = listed_product(ledger, roles, new_account)
    p1, p2, p3 = (new_account().address for _ in range(3))
    offer = uid("offer")
    # 3333 + 3333 + 3334 bps of 1001 fen: floors 333, 333, 333 (=999); remainder 2 goes to the
    # largest fractional parts: p3 (0.7674) then p1 (0.3633, tie with p2 → lower index).
    ledger.publish_offer(listed.operator, offer, listed.product, [(1, 1001)],
                         [(p1, 3333), (p2, 3333), (p3, 3334)])
    assert ledger.split_of(1001, [3333, 3333, 3334]) == [334, 333, 334]
    before = ledger.balance_of(funded_buyer.address)
    receipt = ledger.buy_license(funded_buyer, uid("lic"), offer, 1, H1)
    assert receipt.log_index is not None
    assert [ledger.balance_of(p) for p in (p1, p2, p3)] == [334, 333, 334]
    assert before - ledger.balance_of(funded_buyer.address) == 1001


@pytest.mark.parametrize("amount", [0, 1, 7, 9_999, 10_001, 123_456_789])
def test_split_always_sums_exactly(ledger: Ledger, amount: int) -> None:
    bps = [1, 2_499, 2_500, 5_000]
    shares = ledger.split_of(amount, bps)
    assert sum(shares) == amount
    assert all(abs(s - amount * b / 10_000) < 1 for s, b in zip(shares, bps, strict=True))


def test_offer_rules(ledger: Ledger, roles: Roles, new_account: NewAccount) -> None:
    listed = listed_product(ledger, roles, new_account)
    payee = [(new_account().address, 10_000)]
    ledger.set_price_cap(roles["authority"], listed.product, 500)
    with reverts("PriceAboveCap") as exc:
        ledger.publish_offer(listed.operator, uid("o"), listed.product, [(1, 400), (10, 501)], payee)
    assert exc.value.args_by_name["unitPrice"] == 501 and exc.value.args_by_name["cap"] == 500
    with reverts("BasisPointsNotExact") as exc:
        ledger.publish_offer(listed.operator, uid("o"), listed.product, [(1, 100)],
                             [(new_account().address, 5_000), (new_account().address, 4_999)])
    assert exc.value.args_by_name == {"sum": 9_999}
    with reverts("BadTiers"):
        ledger.publish_offer(listed.operator, uid("o"), listed.product, [(2, 100)], payee)
    with reverts("NotProductOperator"):
        ledger.publish_offer(new_account(), uid("o"), listed.product, [(1, 100)], payee)
    with reverts("AccessControlUnauthorizedAccount"):
        ledger.set_price_cap(listed.operator, listed.product, 10**6)
    offer = uid("o")
    ledger.publish_offer(listed.operator, offer, listed.product, [(1, 500), (100, 400), (1000, 300)], payee)
    assert [ledger.price_of(offer, q) for q in (1, 99, 100, 999, 1000)] == [500, 49_500, 40_000, 399_600, 300_000]


def test_buying_requires_listed_product_and_funds(ledger: Ledger, roles: Roles, new_account: NewAccount,
                                                  funded_buyer: LocalAccount) -> None:
    listed = listed_product(ledger, roles, new_account, list_it=False)
    offer = uid("o")
    ledger.publish_offer(listed.operator, offer, listed.product, [(1, 2_000_000)], [(new_account().address, 10_000)])
    with reverts("ProductNotTradable"):
        ledger.buy_license(funded_buyer, uid("lic"), offer, 1, H1)
    ledger.set_product_status(roles["exchange"], listed.product, ProductStatus.LISTED)
    with reverts("ERC20InsufficientBalance") as exc:
        ledger.buy_license(funded_buyer, uid("lic"), offer, 1, H1)
    assert exc.value.args_by_name["needed"] == 2_000_000
    ledger.set_product_status(roles["exchange"], listed.product, ProductStatus.SUSPENDED)
    with reverts("ProductNotTradable"):
        ledger.buy_license(funded_buyer, uid("lic"), offer, 1, H1)


def test_negotiated_offer_is_for_one_buyer(ledger: Ledger, roles: Roles, new_account: NewAccount,
                                           funded_buyer: LocalAccount, minter: LocalAccount) -> None:
    listed = listed_product(ledger, roles, new_account)
    offer = uid("o")
    ledger.publish_offer(listed.operator, offer, listed.product, [(1, 10)], [(new_account().address, 10_000)],
                         buyer=funded_buyer.address)
    other = new_account()
    ledger.mint(minter, other.address, 100)
    with reverts("NotOfferBuyer"):
        ledger.buy_license(other, uid("lic"), offer, 1, H1)
    lic = uid("lic")
    ledger.buy_license(funded_buyer, lic, offer, 1, H1)
    with reverts("LicenseExists"):
        ledger.buy_license(funded_buyer, lic, offer, 1, H1)


def test_voucher_partial_payment_expiry_and_limits(isolated: Isolated) -> None:
    ledger, roles, new_account = isolated.ledger, isolated.roles, isolated.new_account
    funded_buyer = new_account()
    ledger.mint(isolated.minter, funded_buyer.address, 1_000_000)
    auth = roles["authority"]
    ledger.mint(isolated.minter, auth.address, 10_000)
    listed = listed_product(ledger, roles, new_account, sector="energy")
    payee = new_account().address
    offer = uid("o")
    ledger.publish_offer(listed.operator, offer, listed.product, [(1, 1_000)], [(payee, 10_000)])
    voucher, wrong_sector, programme = uid("v"), uid("v"), uid("pg")
    ledger.create_programme(auth, programme, 10_000, 10_000, now(ledger) - 10, now(ledger) + 10**6,
                            [funded_buyer.address])
    ledger.issue_voucher(auth, voucher, programme, funded_buyer.address, 600, now(ledger) + 3600, ["energy"])
    ledger.issue_voucher(auth, wrong_sector, programme, funded_buyer.address, 600, now(ledger) + 3600, ["health"])
    before = ledger.balance_of(funded_buyer.address)

    with reverts("VoucherSectorIneligible"):
        ledger.buy_license(funded_buyer, uid("lic"), offer, 1, H1, wrong_sector, 100)
    with reverts("VoucherAboveAmount"):
        ledger.buy_license(funded_buyer, uid("lic"), offer, 1, H1, voucher, 1_001)
    with reverts("NotVoucherHolder"):
        ledger.buy_license(new_account(), uid("lic"), offer, 1, H1, voucher, 100)

    ledger.buy_license(funded_buyer, uid("lic"), offer, 1, H1, voucher, 400)
    assert before - ledger.balance_of(funded_buyer.address) == 600
    assert ledger.balance_of(payee) == 1_000
    assert ledger.voucher_remaining(voucher) == 200
    with reverts("VoucherExceeded") as exc:
        ledger.buy_license(funded_buyer, uid("lic"), offer, 1, H1, voucher, 201)
    assert exc.value.args_by_name == {"voucherId": exc.value.args_by_name["voucherId"], "requested": 201,
                                      "remaining": 200}
    advance_time(ledger, 3601)
    with reverts("VoucherExpired"):
        ledger.buy_license(funded_buyer, uid("lic"), offer, 1, H1, voucher, 100)
    auth_before, budget_before = ledger.balance_of(auth.address), ledger.programme_remaining(programme)
    ledger.reclaim_voucher(auth, voucher)
    assert ledger.balance_of(auth.address) - auth_before == 200
    assert ledger.programme_remaining(programme) - budget_before == 200  # the budget is given back, too


def test_a_voucher_for_the_zero_address_reverts_and_moves_nothing(ledger: Ledger, roles: Roles,
                                                                   minter: LocalAccount) -> None:
    auth = roles["authority"]
    ledger.mint(minter, auth.address, 1_000)
    before = ledger.balance_of(auth.address)
    voucher = uid("v")
    with reverts("ZeroHolder"):
        ledger.issue_voucher(auth, voucher, uid("pg"), "0x" + "0" * 40, 500, now(ledger) + 3600)
    assert ledger.balance_of(auth.address) == before
    with reverts("UnknownVoucher"):
        ledger.voucher_remaining(voucher)


def test_escrow_refund_and_release(isolated: Isolated) -> None:
    ledger, roles, new_account = isolated.ledger, isolated.roles, isolated.new_account
    funded_buyer = new_account()
    ledger.mint(isolated.minter, funded_buyer.address, 1_000_000)
    listed = listed_product(ledger, roles, new_account)
    payee = new_account().address
    offer = uid("o")
    ledger.publish_offer(listed.operator, offer, listed.product, [(1, 700)], [(payee, 10_000)], refund_window=600)
    start = ledger.balance_of(funded_buyer.address)
    refunded, kept = uid("lic"), uid("lic")
    ledger.buy_license(funded_buyer, refunded, offer, 1, H1)
    ledger.buy_license(funded_buyer, kept, offer, 1, H1)
    assert ledger.balance_of(payee) == 0
    lic = ledger.license(refunded)
    assert lic is not None and lic.status == LicenseStatus.ESCROWED and lic.amount == 700
    with reverts("AccessControlUnauthorizedAccount"):
        ledger.refund(funded_buyer, refunded)
    ledger.refund(roles["exchange"], refunded)
    assert start - ledger.balance_of(funded_buyer.address) == 700
    with reverts("NotEscrowed"):
        ledger.refund(roles["exchange"], refunded)
    with reverts("RefundWindowOpen"):
        ledger.release(new_account(), kept)
    advance_time(ledger, 601)
    with reverts("RefundWindowClosed"):
        ledger.refund(roles["exchange"], kept)
    ledger.release(new_account(), kept)
    assert ledger.balance_of(payee) == 700
    assert ledger.license(uid("never")) is None


def test_a_cap_set_after_an_offer_binds_its_purchases(ledger: Ledger, roles: Roles, new_account: NewAccount,
                                                      funded_buyer: LocalAccount) -> None:
    listed = listed_product(ledger, roles, new_account)
    offer = uid("o")
    ledger.publish_offer(listed.operator, offer, listed.product, [(1, 1_001), (10, 450)],
                         [(new_account().address, 10_000)])
    ledger.set_price_cap(roles["authority"], listed.product, 500)  # after the offer was published
    with reverts("PriceAboveCap") as exc:
        ledger.buy_license(funded_buyer, uid("lic"), offer, 1, H1)
    assert exc.value.args_by_name["unitPrice"] == 1_001 and exc.value.args_by_name["cap"] == 500
    before = ledger.balance_of(funded_buyer.address)
    ledger.buy_license(funded_buyer, uid("lic"), offer, 10, H1)  # the volume tier is under the cap
    assert before - ledger.balance_of(funded_buyer.address) == 4_500


def test_a_form_cap_with_a_trial_period_binds_offers_of_its_form(isolated: Isolated) -> None:
    # a chain of its own: the test moves chain time past the trial (the shared chain's clock must not jump)
    ledger, roles, new_account = isolated.ledger, isolated.roles, isolated.new_account
    funded_buyer = new_account()
    ledger.mint(isolated.minter, funded_buyer.address, 1_000_000)
    listed = listed_product(ledger, roles, new_account)
    payee = [(new_account().address, 10_000)]
    calls, items = uid("o"), uid("o")
    ledger.publish_offer(listed.operator, calls, listed.product, [(1, 300), (10, 200)], payee, form=1)
    ledger.publish_offer(listed.operator, items, listed.product, [(1, 900)], payee, form=0)
    with reverts("AccessControlUnauthorizedAccount"):  # only the authority sets caps
        ledger.set_form_cap(listed.operator, listed.product, 1, 250)
    t = now(ledger)  # per call: 250 from now; trial period of 100 s at 200 (both published before the rule)
    ledger.set_form_cap(roles["authority"], listed.product, 1, 250, effective_from=t, trial_cap=200,
                        trial_until=t + 100)
    assert ledger.cap_of(listed.product, 1) == 200 and ledger.cap_of(listed.product, 0) == 0
    with reverts("PriceAboveCap") as exc:  # during the trial: 300 > 200
        ledger.buy_license(funded_buyer, uid("lic"), calls, 1, H1)
    assert exc.value.args_by_name["unitPrice"] == 300 and exc.value.args_by_name["cap"] == 200
    ledger.buy_license(funded_buyer, uid("lic"), calls, 10, H1)  # the 200 tier is under the trial cap
    ledger.buy_license(funded_buyer, uid("lic"), items, 1, H1)  # another form is unaffected
    advance_time(ledger, 101)
    assert ledger.cap_of(listed.product, 1) == 250
    with reverts("PriceAboveCap") as exc:  # after the trial the form cap binds
        ledger.buy_license(funded_buyer, uid("lic"), calls, 1, H1)
    assert exc.value.args_by_name["cap"] == 250
    with reverts("UnknownForm"):
        ledger.set_form_cap(roles["authority"], listed.product, 3, 250)
    published = ledger.find_events("Settlement", "OfferPublished", offerId=chain_id_of(calls))
    assert [e.args["form"] for e in published] == [1]


def test_public_welfare_licenses_are_free_and_only_for_users_the_authority_names(
        ledger: Ledger, roles: Roles, new_account: NewAccount, funded_buyer: LocalAccount) -> None:
    listed = listed_product(ledger, roles, new_account)
    offer, payee = uid("o"), new_account()
    ledger.publish_offer(listed.operator, offer, listed.product, [(1, 700)], [(payee.address, 10_000)])
    lic = uid("lic")
    with reverts("NotPublicWelfareUser"):  # not named: declaring the use is not enough
        ledger.send(funded_buyer, ledger.acts.buy_public_welfare_license(lic, offer, 3, H1))
    with reverts("AccessControlUnauthorizedAccount"):  # only the authority names users
        ledger.send(funded_buyer, ledger.acts.set_public_welfare_user(funded_buyer.address, True))
    with reverts("ZeroHolder"):
        ledger.send(roles["authority"], ledger.acts.set_public_welfare_user("0x" + "0" * 40, True))
    ledger.send(roles["authority"], ledger.acts.set_public_welfare_user(funded_buyer.address, True))
    before = ledger.balance_of(funded_buyer.address)
    receipt = ledger.send(funded_buyer, ledger.acts.buy_public_welfare_license(lic, offer, 3, H1))
    got = ledger.license(lic)
    assert got is not None and (got.amount, got.use, got.status) == (0, 1, LicenseStatus.PAID)
    assert ledger.balance_of(funded_buyer.address) == before and ledger.balance_of(payee.address) == 0
    use = ledger.find_events("Settlement", "PublicWelfareUse", licenseId=chain_id_of(lic))
    assert [(e.tx_hash, e.args["listPrice"]) for e in use] == [(receipt.tx_hash, 2_100)]  # the price forgone
    ledger.set_product_status(roles["exchange"], listed.product, ProductStatus.SUSPENDED)
    with reverts("ProductNotTradable"):  # the product and offer rules of a purchase hold
        ledger.send(funded_buyer, ledger.acts.buy_public_welfare_license(uid("lic"), offer, 1, H1))
    ledger.set_product_status(roles["exchange"], listed.product, ProductStatus.LISTED)
    ledger.send(roles["authority"], ledger.acts.set_public_welfare_user(funded_buyer.address, False))
    with reverts("NotPublicWelfareUser"):  # withdrawn: from now on it pays like anyone else
        ledger.send(funded_buyer, ledger.acts.buy_public_welfare_license(uid("lic"), offer, 1, H1))
