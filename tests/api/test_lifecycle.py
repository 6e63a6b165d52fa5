"""The whole product lifecycle over HTTP, with the chain checked after every write."""

from __future__ import annotations

from ledger.contracts import ProductStatus as ChainStatus
from tests.utils.builders import CHECKLIST, assert_agrees, authorized, make_product, product_body
from tests.utils.nodes import serving_provider
from tests.utils.server import Server


def test_register_review_list_and_certificate(server: Server) -> None:
    authz = authorized(server)
    assert authz["status"] == "active" and authz["chain_state"] == "confirmed" and authz["tx_hash"]
    with server.client("operator") as op, server.client("exchange") as ex, server.client("buyer") as buyer:
        body = product_body(authz, title="Lifecycle wheat yields", provider_ids=[serving_provider(server)])
        p = op.post("/products", json=body).json()
        assert p["status"] == "draft" and p["code"].startswith("PX-") and p["chain"]["state"] == "none"
        assert_agrees(server, p["id"])
        assert buyer.get(f"/products/{p['id']}").status_code == 404

        s = op.post(f"/products/{p['code']}/submit").json()
        assert s["status"] == "submitted" and s["chain"]["state"] == "confirmed"
        on_chain = server.ledger.product(p["id"])
        assert on_chain.status == ChainStatus.REGISTERED and on_chain.metadata_hash.hex() == p["metadata_hash"]
        assert_agrees(server, p["id"])

        bad = ex.post(f"/products/{p['id']}/review", json={"decision": "approve", "checklist": CHECKLIST,
                                                            "reasons": "too early"})
        assert bad.status_code == 409 and bad.json()["error"] == "IllegalStatusTransition"
        assert ex.post(f"/products/{p['id']}/review/start").json()["status"] == "under_review"
        incomplete = {**CHECKLIST, "sample_synthetic": False}
        r = ex.post(f"/products/{p['id']}/review", json={"decision": "approve", "checklist": incomplete,
                                                          "reasons": "x"})
        assert r.status_code == 422 and r.json()["field"] == "checklist.sample_synthetic"
        r = ex.post(f"/products/{p['id']}/review", json={"decision": "approve", "checklist": CHECKLIST,
                                                          "reasons": "all checks pass"})
        assert r.status_code == 200, r.text
        noticed = r.json()["product"]
        assert noticed["status"] == "in_notice" and noticed["notice_ends_at"] and r.json()["certificate"] is None
        assert server.ledger.product(p["id"]).status == ChainStatus.REGISTERED  # the notice is off chain
        assert_agrees(server, p["id"])
        r = ex.post(f"/products/{p['id']}/listing")  # a zero-length notice on test servers: ended at once
        assert r.status_code == 200, r.text
        listed, cert = r.json()["product"], r.json()["certificate"]
        assert listed["status"] == "listed" and server.ledger.product(p["id"]).status == ChainStatus.LISTED
        assert listed["chain"]["tx_hash"] == cert["chain"]["tx_hash"]
        assert_agrees(server, p["id"])
        assert buyer.get(f"/products/{p['code']}").json()["status"] == "listed"

    with server.client() as anon:
        got = anon.get(f"/certificates/{cert['code']}")
        assert got.status_code == 200 and got.json()["cert_hash"] == cert["cert_hash"]
        check = anon.get(f"/certificates/{cert['code']}/verify").json()
        assert check["valid"] and all(check["checks"].values()), check
    with server.client("auditor") as aud:
        reviews = aud.get(f"/products/{p['id']}/reviews").json()
        assert [rv["decision"] for rv in reviews] == ["approve"] and reviews[0]["record_seq"] is not None


def test_rejection_is_terminal(server: Server) -> None:
    p = make_product(server, stage="under_review")
    with server.client("exchange") as ex:
        r = ex.post(f"/products/{p['id']}/review", json={"decision": "reject", "checklist": CHECKLIST,
                                                          "reasons": "source statement unclear"})
        assert r.status_code == 200 and r.json()["product"]["status"] == "rejected"
        assert r.json()["certificate"] is None
        assert server.ledger.product(p["id"]).status == ChainStatus.DELISTED
        assert_agrees(server, p["id"])
        again = ex.post(f"/products/{p['id']}/review/start")
        assert again.status_code == 409 and again.json()["error"] == "IllegalStatusTransition"


def test_suspend_relist_delist(server: Server) -> None:
    p = make_product(server, stage="listed")
    with server.client("exchange") as ex, server.client("buyer") as buyer:
        r = ex.post(f"/products/{p['id']}/suspend", json={"reason": "complaint under investigation"})
        assert r.json()["status"] == "suspended"
        assert server.ledger.product(p["id"]).status == ChainStatus.SUSPENDED
        assert buyer.get(f"/products/{p['id']}").status_code == 404
        assert_agrees(server, p["id"])
        assert ex.post(f"/products/{p['id']}/relist", json={"reason": "cleared"}).json()["status"] == "listed"
        assert_agrees(server, p["id"])
        r = ex.post(f"/products/{p['id']}/delist", json={"reason": "operator request"})
        assert r.json()["status"] == "delisted"
        assert server.ledger.product(p["id"]).status == ChainStatus.DELISTED
        assert_agrees(server, p["id"])
        r = ex.post(f"/products/{p['id']}/relist", json={"reason": "again"})
        assert r.status_code == 409 and r.json()["error"] == "IllegalStatusTransition"


def test_revocation_cascades_to_listed_products(server: Server) -> None:
    authz = authorized(server)
    listed = [make_product(server, authz, stage="listed") for _ in range(2)]
    draft = make_product(server, authz)
    with server.client("authority") as auth, server.client("exchange") as ex, server.client("operator") as op:
        r = auth.post(f"/authorizations/{authz['id']}/revoke", json={"reason": "operator breached terms"})
        assert r.status_code == 200, r.text
        assert r.json()["authorization"]["status"] == "revoked"
        assert sorted(p["id"] for p in r.json()["suspended_products"]) == sorted(p["id"] for p in listed)
        assert not server.ledger.is_authorization_active(authz["id"])
        for p in listed:
            assert server.ledger.product(p["id"]).status == ChainStatus.SUSPENDED
            assert_agrees(server, p["id"])
        relist = ex.post(f"/products/{listed[0]['id']}/relist", json={"reason": "try"})
        assert relist.status_code == 409 and relist.json()["error"] == "AuthorizationInactive"
        sub = op.post(f"/products/{draft['id']}/submit")
        assert sub.status_code == 409 and sub.json()["error"] == "AuthorizationInactive"
        again = auth.post(f"/authorizations/{authz['id']}/revoke", json={"reason": "twice"})
        assert again.status_code == 409 and again.json()["error"] == "AuthorizationAlreadyRevoked"
