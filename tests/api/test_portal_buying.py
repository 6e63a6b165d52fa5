"""Buying in the portal over real HTTP: the buy page quotes with the split, says a refusal at its field in the page's
language (never raw JSON), the signed purchase through the proxy leads (303) to the licenses page, and the receipt
downloads as a JSON file only for its buyer. The browser walk is tests/demo/test_portal_buying.py."""

from __future__ import annotations

import json

from tests.api.test_portal_forms import form_post
from tests.api.test_portal_security import Browser, signed_act
from tests.utils.server import Server
from tests.utils.trading import listed_product, make_offer, mint, new_account

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def test_quote_refusals_purchase_and_receipt(server: Server) -> None:
    product = listed_product(server)
    offer = make_offer(server, product, tiers=[(1, 250)])
    with server.client("buyer") as c:
        mint(server, c.get("/accounts/me").json()["id"], 250)
    with Browser(server) as b:
        b.sign_in(server.keys["buyer"])
        base = f"/portal/buy?product={product['code']}&offer={offer['id']}"
        page = b.http.get(base + "&quantity=2&lang=en").text
        assert ('<span class="err" data-field="quantity">This offer cannot be bought in this quantity (a one-off '
                'license is bought one at a time).</span>') in page
        assert 'id="buy-form"' not in page and "invalid_input" not in page
        page = b.http.get(base + "&quantity=x&lang=zh").text
        assert '<span class="err" data-field="quantity">数量须为正整数。</span>' in page
        page = b.http.get(base + f"&quantity=1&voucher={UNKNOWN}").text
        assert '<span class="err" data-field="voucher_id">该数据券不适用于本次购买。</span>' in page
        page = b.http.get(base + "&quantity=1&lang=en").text  # the split: 70 / 20 / 10 % of ¥2.50
        for role, amount in (("operator", "¥1.75"), ("authority", "¥0.50"), ("exchange", "¥0.25")):
            assert f'<tr data-role="{role}">' in page and amount in page.split(f'data-role="{role}"')[1][:400]
        assert 'data-api-path="/orders"' in page and "ERC20InsufficientBalance" in page  # its refusals, translated
        r = signed_act(b, "buyer", "/orders", {"offer_id": offer["id"], "quantity": 1})
        assert r.status_code == 201, r.text
        license_id = r.json()["license"]["id"]
        r = form_post(b, "/portal/buyer/bought", {"form": "{}", "response": r.text})
        assert r.headers["location"] == f"/portal/buyer/licenses?new={license_id}"
        page = b.http.get(r.headers["location"]).text
        assert "Bought: the license is in force" in page and f'id="license-{license_id}"' in page
        r = b.http.get(f"/portal/buyer/licenses/{license_id}/receipt")
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.headers["content-disposition"].startswith('attachment; filename="provex-receipt-')
        receipt = json.loads(r.text)
        assert receipt["record"]["kind"] == "license.purchase" and receipt["record"]["data"]["license_id"] == license_id
    with Browser(server) as other:  # another buyer: no such receipt, said on a page
        other.sign_in(new_account(server)["api_key"])
        r = other.http.get(f"/portal/buyer/licenses/{license_id}/receipt")
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
