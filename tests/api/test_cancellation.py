"""Cancellation (注销登记) and correction (更正登记) registrations over HTTP, with the chain checked: an approved
cancellation delists the product and cancels its certificate, a rejected one changes nothing; an approved
correction is published as a new version whose certificate names it; the refusals."""

from __future__ import annotations

from typing import Any

from ledger.contracts import ProductStatus as ChainStatus
from tests.api.test_portal_security import Browser
from tests.utils.builders import CHECKLIST, assert_agrees, make_product
from tests.utils.server import Server
from tests.utils.trading import bought, buy, make_offer, new_account


def _refused(r: Any, status: int, error: str) -> None:
    assert r.status_code == status and r.json()["error"] == error, r.text


def _apply(server: Server, product: dict[str, Any], reasons: str) -> dict[str, Any]:
    with server.client("operator") as op:
        r = op.post(f"/products/{product['id']}/cancellations", json={"reasons": reasons})
        assert r.status_code == 201, r.text
        app = r.json()
    assert (app["kind"], app["status"], app["grounds"]) == ("cancellation", "pending", reasons)
    return dict(app)


def _portal(server: Server, role: str, path: str) -> str:
    with Browser(server) as b:
        b.sign_in(server.keys[role])
        page = b.http.get(f"{path}?lang=en")
        assert page.status_code == 200, page.text
        return page.text


def _decide(server: Server, product: dict[str, Any], app: dict[str, Any], decision: str) -> dict[str, Any]:
    with server.client("exchange") as ex:
        r = ex.post(f"/products/{product['id']}/cancellations/{app['id']}/decision",
                    json={"decision": decision, "reasons": f"{decision}: reasons checked"})
        assert r.status_code == 200, r.text
        return dict(r.json())


def test_an_approved_cancellation_delists_the_product_and_cancels_its_certificate(server: Server) -> None:
    product = make_product(server, stage="listed", title="Cancellation: river gauges")
    offer = make_offer(server, product, tiers=[(1, 300)])
    with server.client("operator2") as other:  # another operator's product
        _refused(other.post(f"/products/{product['id']}/cancellations", json={"reasons": "mine"}), 403, "forbidden")
    with server.client("operator") as op:
        _refused(op.post(f"/products/{product['id']}/cancellations", json={"reasons": ""}), 422, "invalid_input")
    app = _apply(server, product, "The gauge network is retired.")
    with server.client("operator") as op, server.client("exchange") as ex:
        _refused(op.post(f"/products/{product['id']}/cancellations", json={"reasons": "again"}), 409, "conflict")
        _refused(op.post(f"/products/{product['id']}/revisions", json={"title": "x"}), 409, "conflict")
        _refused(ex.post(f"/products/{product['id']}/revisions/{app['id']}/decision",  # not a revision's route
                         json={"decision": "approve", "checklist": CHECKLIST, "reasons": "x"}), 409, "conflict")
    page = _portal(server, "exchange", "/portal/exchange")
    assert f'data-api-path="/products/{product["code"]}/cancellations/{app["id"]}/decision"' in page
    assert "The gauge network is retired." in page
    page = _portal(server, "operator", f"/portal/products/{product['code']}")
    assert f'data-revision="{app["id"]}" data-status="pending" data-kind="cancellation"' in page
    assert f'data-api-path="/products/{product["code"]}/cancellations"' not in page  # one open application
    out = _decide(server, product, app, "approve")
    assert out["product"]["status"] == "delisted" and out["cancellation"]["status"] == "approved"
    assert server.ledger.product(product["id"]).status == ChainStatus.DELISTED
    buyer = new_account(server, fen=1_000)
    with server.client(key=buyer["api_key"]) as b:
        _refused(buy(b, offer["id"]), 409, "ProductNotTradable")
    with server.client() as anon:
        cert = anon.get("/certificates", params={"product": product["id"]}).json()[-1]
        assert cert["status"] == "cancelled", cert
        assert cert["cancellation"]["reasons"] == "The gauge network is retired."
        assert cert["cancellation"]["decision_reasons"] == "approve: reasons checked"
        assert cert["cancellation"]["cancelled_at"]
        check = anon.get(f"/certificates/{cert['code']}/verify").json()
        assert (check["valid"], check["status"]) == (False, "cancelled"), check
    with server.client("operator") as op:
        seen = op.get(f"/products/{product['id']}/revisions", params={"kind": "cancellation"}).json()
        assert [(r["kind"], r["status"], r["reasons"]) for r in seen] == [
            ("cancellation", "approved", "approve: reasons checked")]
    assert 'data-testid="certificate-cancelled"' in _portal(server, "operator", f"/portal/products/{product['code']}")
    assert_agrees(server, product["id"])
    with server.client("auditor") as aud:
        kinds = [s["kind"] for s in aud.get(f"/audit/products/{product['id']}/trace").json()["steps"]]
        assert "cancellation.applied" in kinds and "cancellation.decided" in kinds, kinds


def test_a_rejected_cancellation_keeps_the_product_on_sale(server: Server) -> None:
    product = make_product(server, stage="listed", title="Cancellation: tide tables")
    offer = make_offer(server, product, tiers=[(1, 200)])
    app = _apply(server, product, "Low demand.")
    out = _decide(server, product, app, "reject")
    assert out["product"]["status"] == "listed" and out["cancellation"]["status"] == "rejected"
    assert server.ledger.product(product["id"]).status == ChainStatus.LISTED
    assert bought(server, new_account(server, fen=1_000), offer)["amount_fen"] == 200
    with server.client() as anon:
        cert = anon.get("/certificates", params={"product": product["id"]}).json()[-1]
        assert cert["status"] == "in_force" and cert["cancellation"] is None
        assert anon.get(f"/certificates/{cert['code']}/verify").json()["status"] == "valid"
    with server.client("exchange") as ex:  # decided once
        r = ex.post(f"/products/{product['id']}/cancellations/{app['id']}/decision",
                    json={"decision": "approve", "reasons": "changed my mind"})
        _refused(r, 409, "conflict")


def test_an_approved_correction_is_a_new_version_whose_certificate_names_it(server: Server) -> None:
    product = make_product(server, stage="listed", title="Correction: soil moisture")
    with server.client("exchange") as ex:
        _refused(ex.post(f"/products/{product['id']}/corrections", json={"changes": {}, "evidence": "x"}),
                 422, "invalid_input")
        r = ex.post(f"/products/{product['id']}/corrections",  # the exchange files it
                    json={"changes": {"description": "Weekly soil moisture, 2019 onwards."},
                          "evidence": "The registered start year was a typing error (bureau letter 17)."})
        assert r.status_code == 201, r.text
        cor = r.json()
        assert (cor["kind"], cor["status"], cor["proposer_id"]) == ("correction", "pending", server.ids["exchange"])
        r = ex.post(f"/products/{product['id']}/revisions/{cor['id']}/decision",
                    json={"decision": "approve", "checklist": CHECKLIST, "reasons": "the letter confirms it"})
        assert r.status_code == 200 and r.json()["revision"]["status"] == "approved", r.text
    with server.client("operator2") as other:
        r = other.post(f"/products/{product['id']}/corrections", json={"changes": {"title": "x"}, "evidence": "y"})
        _refused(r, 403, "forbidden")
    with server.client("operator") as op:
        r = op.post(f"/products/{product['id']}/revisions/{cor['id']}/publish")
        assert r.status_code == 200, r.text
        published, cert = r.json()["product"], r.json()["certificate"]
        kinds = [r["kind"] for r in op.get(f"/products/{product['id']}/revisions").json()]
    assert kinds == ["correction"] and published["version"] == 2
    assert server.ledger.product(product["id"]).metadata_hash.hex() == cor["metadata_hash"]
    assert cert["correction"]["id"] == cor["id"] and cert["body"]["correction"]["id"] == cor["id"]
    with server.client() as anon:
        check = anon.get(f"/certificates/{cert['code']}/verify").json()
        assert check["valid"] and check["status"] == "valid", check
    page = _portal(server, "operator", f"/portal/products/{product['code']}")
    assert f"This version applies correction <code>{cor['id']}</code>" in page
    assert f'data-revision="{cor["id"]}" data-status="published" data-kind="correction"' in page
    assert_agrees(server, product["id"])
