"""Voucher programmes on chain: annual budget, allow-list, spending window, eligible products, share cap."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from eth_account.signers.local import LocalAccount

from ledger.contracts import Ledger
from tests.conftest import uid
from tests.ledger.chain_helpers import H1, listed_product, now
from tests.ledger.test_settlement_contract import reverts

Roles = dict[str, LocalAccount]
NewAccount = Callable[[], LocalAccount]


@pytest.mark.parametrize(("iso", "year"), [("2026-12-31T15:59:59", 2026), ("2026-12-31T16:00:00", 2027),
                                           ("2024-02-29T12:00:00", 2024), ("1970-01-01T00:00:00", 1970)])
def test_budget_year_is_the_calendar_year_in_utc_plus_8(ledger: Ledger, iso: str, year: int) -> None:
    assert ledger.budget_year(int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp())) == year


def test_budget_allow_list_and_programme_rules(ledger: Ledger, roles: Roles, minter: LocalAccount,
                                               new_account: NewAccount) -> None:
    auth, holder, stranger = roles["authority"], new_account(), new_account()
    ledger.mint(minter, auth.address, 5_000)
    programme, t = uid("pg"), now(ledger)
    with reverts("AccessControlUnauthorizedAccount"):
        ledger.create_programme(stranger, uid("pg"), 1_000, 5_000, t, t + 10**6, [holder.address])
    with reverts("BadProgramme"):
        ledger.create_programme(auth, uid("pg"), 1_000, 10_001, t, t + 10**6, [holder.address])
    with reverts("BadProgramme"):
        ledger.create_programme(auth, uid("pg"), 1_000, 5_000, t, t, [holder.address])
    ledger.create_programme(auth, programme, 1_000, 5_000, t - 10, t + 10**6, [holder.address])
    with reverts("ProgrammeExists"):
        ledger.create_programme(auth, programme, 1_000, 5_000, t - 10, t + 10**6, [holder.address])
    ledger.issue_voucher(auth, uid("v"), programme, holder.address, 600, t + 3600)
    before = ledger.balance_of(auth.address)
    with reverts("ProgrammeBudgetExceeded") as exc:
        ledger.issue_voucher(auth, uid("v"), programme, holder.address, 401, t + 3600)
    args = exc.value.args_by_name
    assert (args["requested"], args["remaining"], args["year"]) == (401, 400, ledger.budget_year(now(ledger)))
    with reverts("HolderNotAllowed"):
        ledger.issue_voucher(auth, uid("v"), programme, stranger.address, 100, t + 3600)
    with reverts("UnknownProgramme"):
        ledger.issue_voucher(auth, uid("v"), uid("pg"), holder.address, 100, t + 3600)
    with reverts("UnknownProgramme"):  # no voucher outside a programme
        ledger.issue_voucher(auth, uid("v"), "", holder.address, 100, t + 3600)
    assert ledger.balance_of(auth.address) == before and ledger.programme_remaining(programme) == 400
    ledger.issue_voucher(auth, uid("v"), programme, holder.address, 400, t + 3600)
    assert ledger.programme_remaining(programme) == 0


def test_redemption_window_products_and_share_cap(ledger: Ledger, roles: Roles, minter: LocalAccount,
                                                  new_account: NewAccount) -> None:
    auth, buyer = roles["authority"], new_account()
    ledger.mint(minter, auth.address, 10_000)
    ledger.mint(minter, buyer.address, 10_000)
    listed = listed_product(ledger, roles, new_account)
    offer = uid("o")
    ledger.publish_offer(listed.operator, offer, listed.product, [(1, 1_000)], [(new_account().address, 10_000)])
    t = now(ledger)
    open_pg, later_pg, other_pg = uid("pg"), uid("pg"), uid("pg")
    ledger.create_programme(auth, open_pg, 10_000, 5_000, t - 10, t + 10**6, [buyer.address], [listed.sector],
                            [listed.product])
    ledger.create_programme(auth, later_pg, 10_000, 5_000, t + 10**5, t + 10**6, [buyer.address])
    ledger.create_programme(auth, other_pg, 10_000, 5_000, t - 10, t + 10**6, [buyer.address], (), [uid("prod")])
    ok, later, other = uid("v"), uid("v"), uid("v")
    for v, pg in ((ok, open_pg), (later, later_pg), (other, other_pg)):
        ledger.issue_voucher(auth, v, pg, buyer.address, 1_000, t + 10**5 + 3600)
    with reverts("VoucherOutsideWindow"):
        ledger.buy_license(buyer, uid("lic"), offer, 1, H1, later, 100)
    with reverts("VoucherProductIneligible"):
        ledger.buy_license(buyer, uid("lic"), offer, 1, H1, other, 100)
    with reverts("VoucherShareExceeded") as exc:
        ledger.buy_license(buyer, uid("lic"), offer, 1, H1, ok, 501)
    assert (exc.value.args_by_name["paid"], exc.value.args_by_name["maxShare"]) == (501, 500)
    before = ledger.balance_of(buyer.address)
    ledger.buy_license(buyer, uid("lic"), offer, 1, H1, ok, 500)
    assert before - ledger.balance_of(buyer.address) == 500 and ledger.voucher_remaining(ok) == 500
