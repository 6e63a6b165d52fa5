"""The registration procedure after approval, over HTTP with the chain checked: the public notice with its
objections (dismissed, then listed after the period; upheld, then rejected) and revisions of a listed product
(pending while the listed version sells; approved and published, or rejected)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from ledger.contracts import ProductStatus as ChainStatus
from tests.utils.builders import CHECKLIST, assert_agrees, make_product
from tests.utils.server import Server
from tests.utils.trading import bought, make_offer, new_account

SECONDS = 1 / 86400  # notice_days per second


def _approve(server: Server, product: dict[str, Any], days: float) -> dict[str, Any]:
    with server.client("exchange") as ex:
        r = ex.post(f"/products/{product['id']}/review", json={"decision": "approve", "checklist": CHECKLIST,
                                                                "reasons": "all checks pass", "notice_days": days})
        assert r.status_code == 200, r.text
        assert r.json()["product"]["status"] == "in_notice" and r.json()["certificate"] is None
        return dict(r.json()["product"])


def _refused(r: Any, status: int, error: str) -> None:
    assert r.status_code == status and r.json()["error"] == error, r.text


def test_notice_objection_dismissed_then_listed_after_the_period(server: Server) -> None:
    product = make_product(server, stage="under_review", title="Notice: grassland survey")
    noticed = _approve(server, product, 4 * SECONDS)
    ends = datetime.fromisoformat(noticed["notice_ends_at"])
    with server.client() as anon:  # the notice is public
        notice = anon.get(f"/notices/{product['code']}").json()
        assert notice["status"] == "in_notice" and not notice["ended"] and notice["objections"] == 0
        assert product["code"] in [n["code"] for n in anon.get("/notices").json()]
    with server.client("buyer") as buyer, server.client("exchange") as ex:
        assert buyer.get(f"/products/{product['id']}").json()["status"] == "in_notice"  # visible, not for sale
        r = buyer.post(f"/products/{product['id']}/objections", json={"reasons": "the sample names a farm"})
        assert r.status_code == 201, r.text
        objection = r.json()
        _refused(ex.post(f"/products/{product['id']}/listing"), 409, "NoticeNotEnded")
        time.sleep(max(0.0, ends.timestamp() - time.time()) + 0.2)
        _refused(ex.post(f"/products/{product['id']}/listing"), 409, "ObjectionsOpen")  # the period is over
        _refused(buyer.post(f"/products/{product['id']}/objections", json={"reasons": "late"}), 409, "NoticeEnded")
        with server.client() as anon:
            notice = anon.get(f"/notices/{product['code']}").json()
            assert notice["ended"] and (notice["objections"], notice["open_objections"]) == (1, 1)
        r = ex.post(f"/products/{product['id']}/objections/{objection['id']}/resolution",
                    json={"decision": "dismissed", "reasons": "the sample is synthetic"})
        assert r.status_code == 200 and r.json()["objection"]["status"] == "dismissed", r.text
        assert server.ledger.product(product["id"]).status == ChainStatus.REGISTERED
        r = ex.post(f"/products/{product['id']}/listing")
        assert r.status_code == 200 and r.json()["product"]["status"] == "listed", r.text
        cert = r.json()["certificate"]
    assert server.ledger.product(product["id"]).status == ChainStatus.LISTED
    with server.client() as anon:
        assert anon.get(f"/certificates/{cert['code']}/verify").json()["valid"]
    assert_agrees(server, product["id"])
    with server.client("auditor") as aud:
        kinds = [s["kind"] for s in aud.get(f"/audit/products/{product['id']}/trace").json()["steps"]]
        for kind in ("notice.started", "objection.filed", "objection.resolved"):
            assert kind in kinds, kinds


def test_an_upheld_objection_rejects_the_product(server: Server) -> None:
    product = make_product(server, stage="under_review", title="Notice: herd counts")
    _approve(server, product, 1.0)
    with server.client("operator2") as other, server.client("exchange") as ex:
        r = other.post(f"/products/{product['code']}/objections", json={"reasons": "personal information"})
        assert r.status_code == 201, r.text
        with server.client("buyer") as buyer:  # a third party sees no one else's objection reasons
            assert buyer.get(f"/products/{product['id']}/objections").json() == []
        _refused(ex.post(f"/products/{product['id']}/relist", json={"reason": "x"}), 409, "conflict")
        r = ex.post(f"/products/{product['id']}/objections/{r.json()['id']}/resolution",
                    json={"decision": "upheld", "reasons": "a named farm is identifiable"})
        assert r.status_code == 200 and r.json()["product"]["status"] == "rejected", r.text
    assert server.ledger.product(product["id"]).status == ChainStatus.DELISTED
    assert_agrees(server, product["id"])


def _revise(server: Server, product: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    with server.client("operator") as op:
        _refused(op.patch(f"/products/{product['id']}", json=patch), 409, "conflict")  # listed: not edited
        r = op.post(f"/products/{product['id']}/revisions", json=patch)
        assert r.status_code == 201 and r.json()["status"] == "pending", r.text
        return dict(r.json())


def _decide(server: Server, product: dict[str, Any], rev: dict[str, Any], decision: str) -> dict[str, Any]:
    with server.client("exchange") as ex:
        r = ex.post(f"/products/{product['id']}/revisions/{rev['id']}/decision",
                    json={"decision": decision, "checklist": CHECKLIST, "reasons": f"{decision}: checked"})
        assert r.status_code == 200, r.text
        return dict(r.json()["revision"])


def test_a_revision_waits_while_the_listed_version_sells_then_replaces_it(server: Server) -> None:
    product = make_product(server, stage="listed", title="Revision: wheat yields v1")
    offer = make_offer(server, product, tiers=[(1, 700)])
    rev = _revise(server, product, {"title": "Revision: wheat yields v2", "description": "Now by township."})
    buyer = new_account(server, fen=5_000)
    lic = bought(server, buyer, offer)  # bought while the revision is pending: the listed version's terms
    assert lic["amount_fen"] == 700 and lic["terms"]["columns"] == sorted(offer["terms"]["columns"])
    with server.client(key=buyer["api_key"]) as b:
        shown = b.get(f"/products/{product['id']}").json()
        assert (shown["title"], shown["version"], shown["metadata_hash"]) == (
            product["title"], 1, product["metadata_hash"])
        titles = [p["title"] for p in b.get("/catalog", params={"q": "Revision wheat"}).json()["items"]]
        assert product["title"] in titles and "Revision: wheat yields v2" not in titles
    with server.client("operator") as op:
        _refused(op.post(f"/products/{product['id']}/revisions", json={"title": "another"}), 409, "conflict")
        _refused(op.post(f"/products/{product['id']}/revisions/{rev['id']}/publish"), 409, "conflict")  # pending
    assert _decide(server, product, rev, "approve")["status"] == "approved"
    with server.client("operator") as op:
        r = op.post(f"/products/{product['id']}/revisions/{rev['id']}/publish")
        assert r.status_code == 200, r.text
        published, cert = r.json()["product"], r.json()["certificate"]
    assert (published["title"], published["version"]) == ("Revision: wheat yields v2", 2)
    assert published["metadata_hash"] == rev["metadata_hash"] != product["metadata_hash"]
    on_chain = server.ledger.product(product["id"])
    assert on_chain.metadata_hash.hex() == rev["metadata_hash"] and on_chain.status == ChainStatus.LISTED
    with server.client() as anon:
        check = anon.get(f"/certificates/{cert['code']}/verify").json()
        assert check["valid"] and all(check["checks"].values()), check
        older = anon.get("/certificates", params={"product": product["id"]}).json()[0]
        assert not anon.get(f"/certificates/{older['code']}/verify").json()["checks"]["metadata_hash_matches"]
    assert_agrees(server, product["id"])


def test_a_rejected_revision_keeps_the_listed_version(server: Server) -> None:
    product = make_product(server, stage="listed", title="Revision: rainfall v1")
    rev = _revise(server, product, {"description": "Unverified claim of hourly data."})
    assert _decide(server, product, rev, "reject")["status"] == "rejected"
    with server.client("operator") as op:
        seen = op.get(f"/products/{product['id']}/revisions").json()
        assert [(r["status"], r["reasons"]) for r in seen] == [("rejected", "reject: checked")]
        _refused(op.post(f"/products/{product['id']}/revisions/{rev['id']}/publish"), 409, "conflict")
        now = op.get(f"/products/{product['id']}").json()
    assert (now["description"], now["version"], now["metadata_hash"]) == (
        product["description"], 1, product["metadata_hash"])
    assert server.ledger.product(product["id"]).metadata_hash.hex() == product["metadata_hash"]
