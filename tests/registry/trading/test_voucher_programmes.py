"""Voucher programmes through the API on a real chain: the annual budget and the share cap are refused by the API
first and, sent straight to the contracts, reverted with the same named errors; window, allow-list and product
eligibility refusals; the programme's use (issued, remaining, redeemed, vouchers)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from ledger.errors import ContractRevert
from tests.utils.server import Server
from tests.utils.trading import buy, count, listed_product, make_offer, mint, new_account, voucher_programme

H1 = b"\x11" * 32


def _issue(server: Server, programme: str, holder: str, amount: int) -> Any:
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    with server.client("authority") as a:
        return a.post("/vouchers", json={"programme_id": programme, "holder_id": holder, "amount_fen": amount,
                                         "expires_at": expires})


def _refused(r: Any, rule: str) -> dict[str, Any]:
    assert r.status_code == 409 and r.json()["error"] == rule, r.text
    return dict(r.json())


def test_budget_is_enforced_by_the_api_and_by_the_contract(server: Server, deployer: LocalAccount) -> None:
    mint(server, server.ids["authority"], 10_000)
    buyer, stranger = new_account(server), new_account(server)
    programme = voucher_programme(server, [buyer["id"]], budget=1_000)
    assert _issue(server, programme["id"], buyer["id"], 600).status_code == 201
    writes = (count(server, "vouchers"), count(server, "chain_tx"), count(server, "ledger_records"))
    body = _refused(_issue(server, programme["id"], buyer["id"], 401), "ProgrammeBudgetExceeded")
    assert "requested=401" in body["detail"] and "remaining=400" in body["detail"]
    _refused(_issue(server, programme["id"], stranger["id"], 10), "HolderNotAllowed")
    r = _issue(server, str(uuid.uuid4()), buyer["id"], 10)
    assert r.status_code == 422 and r.json()["field"] == "programme_id", r.text
    assert (count(server, "vouchers"), count(server, "chain_tx"), count(server, "ledger_records")) == writes
    authority = server.accounts["authority"]
    server.ledger.client.fund(deployer, authority.address, 10**17)
    with pytest.raises(ContractRevert) as exc:  # the authority's own transaction, past the API
        server.ledger.issue_voucher(authority, str(uuid.uuid4()), programme["id"], buyer["address"], 401,
                                    int(datetime.now(UTC).timestamp()) + 3600)
    assert exc.value.name == "ProgrammeBudgetExceeded"
    assert (exc.value.args_by_name["requested"], exc.value.args_by_name["remaining"]) == (401, 400)
    with server.client("authority") as a:
        seen = a.get(f"/voucher-programmes/{programme['id']}").json()
    assert (seen["issued_fen"], seen["remaining_fen"], len(seen["vouchers"])) == (600, 400, 1)
    with server.client(key=stranger["api_key"]) as s:
        assert s.get(f"/voucher-programmes/{programme['id']}").status_code == 404
        assert programme["id"] not in {p["id"] for p in s.get("/voucher-programmes").json()}


def test_share_cap_window_and_products_on_a_purchase(server: Server) -> None:
    mint(server, server.ids["authority"], 10_000)
    product, other = listed_product(server), listed_product(server)
    offer = make_offer(server, product, "one_off", [(1, 1_000)])
    buyer = new_account(server, fen=5_000)
    capped = voucher_programme(server, [buyer["id"]], share_bps=3_000, product_ids=[product["id"]])
    later = voucher_programme(server, [buyer["id"]], starts_in=3_600)
    elsewhere = voucher_programme(server, [buyer["id"]], product_ids=[other["id"]])
    vouchers: dict[str, str] = {}
    for name, pg in (("capped", capped), ("later", later), ("elsewhere", elsewhere)):
        r = _issue(server, pg["id"], buyer["id"], 500)
        assert r.status_code == 201 and r.json()["chain"]["state"] == "confirmed", r.text
        vouchers[name] = r.json()["id"]
    orders = count(server, "orders")
    with server.client(key=buyer["api_key"]) as c:
        body = _refused(buy(c, offer["id"], voucher_id=vouchers["capped"], voucher_amount_fen=301),
                        "VoucherShareExceeded")
        assert "paid=301" in body["detail"] and "maxShare=300" in body["detail"]
        _refused(buy(c, offer["id"], voucher_id=vouchers["later"]), "VoucherOutsideWindow")
        _refused(buy(c, offer["id"], voucher_id=vouchers["elsewhere"]), "VoucherProductIneligible")
        assert count(server, "orders") == orders
        _contract_refuses_the_share(server, buyer, offer["id"], vouchers["capped"])
        r = buy(c, offer["id"], voucher_id=vouchers["capped"])  # default: as much as the cap allows
        assert r.status_code == 201 and r.json()["license"]["voucher_fen"] == 300, r.text
    with server.client("auditor") as u:
        seen = u.get(f"/voucher-programmes/{capped['id']}").json()
    assert (seen["redeemed_fen"], seen["issued_fen"], seen["vouchers"][0]["remaining_fen"]) == (300, 500, 200)


def _contract_refuses_the_share(server: Server, buyer: dict[str, Any], offer_id: str, voucher_id: str) -> None:
    """The buyer's own transaction, past the API: the contract names the same rule."""
    signer: LocalAccount = server.signers[buyer["id"]]
    with pytest.raises(ContractRevert) as exc:
        server.ledger.buy_license(signer, str(uuid.uuid4()), offer_id, 1, H1, voucher_id, 301)
    assert exc.value.name == "VoucherShareExceeded"
    assert (exc.value.args_by_name["paid"], exc.value.args_by_name["maxShare"]) == (301, 300)


