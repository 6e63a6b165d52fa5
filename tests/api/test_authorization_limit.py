"""The authority limits an authorization (an earlier end, fewer purposes), never widens it, on chain and in the
API; a limited authorization past its new end stops sales as an expired one does; the portal's limit form."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from ledger.errors import ContractRevert
from ledger.ids import chain_id_of
from ledger.records import LedgerRecord
from registry.hashing import canonical_hash
from tests.api.test_portal_security import Browser, signed_act
from tests.utils.builders import make_authorization, make_product, make_resource
from tests.utils.server import Server
from tests.utils.trading import actor, bought, buy, make_offer, new_account, spend, sweep_suspends

PURPOSES = ["crop statistics", "yield forecasts"]


@pytest.fixture(scope="module")
def one(servers: dict[str, Server]) -> Server:
    return servers["sqlite"]


def iso(at: datetime) -> str:
    return at.isoformat()


def test_limit_shortens_narrows_and_never_widens(one: Server) -> None:
    authz = make_authorization(one, [make_resource(one)["id"]], purposes=PURPOSES)
    path = f"/authorizations/{authz['code']}/limit"
    end = datetime.fromisoformat(authz["valid_until"])
    with one.client("authority") as c:
        for body, field in (({"reason": "r"}, "valid_until"),
                            ({"reason": "", "valid_until": iso(end - timedelta(days=1))}, "reason"),
                            ({"reason": "r", "purposes": ["other use"]}, "purposes"),
                            ({"reason": "r", "purposes": []}, "purposes"),
                            ({"reason": "r", "purposes": PURPOSES}, "purposes"),
                            ({"reason": "r", "valid_until": iso(datetime.now(UTC) - timedelta(hours=1))},
                             "valid_until")):
            r = c.post(path, json=body)
            assert r.status_code == 422 and field in r.text, (body, r.text)
        r = c.post(path, json={"reason": "r", "valid_until": iso(end + timedelta(days=1))})
        assert r.status_code == 409 and r.json()["error"] == "LimitWidens", r.text
        assert c.get(path.removesuffix("/limit")).json()["valid_until"] == authz["valid_until"]  # nothing written
    with one.client("operator") as c:
        assert c.post(path, json={"reason": "r", "purposes": PURPOSES[:1]}).status_code == 403
    with pytest.raises(ContractRevert) as refused:  # the contract refuses widening by itself
        one.ledger.limit_authorization(one.accounts["authority"], authz["id"], int(end.timestamp()) + 86400,
                                       bytes(32), bytes(32))
    assert refused.value.name == "LimitWidens"

    new_end = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    with one.client("authority") as c:
        r = c.post(path, json={"reason": "pilot scope narrowed", "valid_until": iso(new_end),
                               "purposes": PURPOSES[:1]})
        assert r.status_code == 200, r.text
        assert r.json()["purposes"] == PURPOSES[:1] and r.json()["status"] == "active"
        assert datetime.fromisoformat(r.json()["valid_until"]) == new_end
    on_chain = one.ledger.raw_call("DataRegistry", "authorization", chain_id_of(authz["id"]))
    assert int(on_chain[4]) == int(new_end.timestamp())
    assert bytes(on_chain[5]).hex() == canonical_hash(PURPOSES[:1])
    (event,) = one.ledger.find_events("DataRegistry", "AuthorizationLimited", authorizationId=chain_id_of(authz["id"]))
    assert event.args["validUntil"] == int(new_end.timestamp())
    assert one.ledger.actor_of(event.tx_hash).lower() == one.accounts["authority"].address.lower()  # its own act
    with pytest.raises(ContractRevert) as refused:  # the same limit again changes nothing: it lands once
        one.ledger.limit_authorization(one.accounts["authority"], authz["id"], int(new_end.timestamp()),
                                       bytes(on_chain[5]), bytes(32))
    assert refused.value.name == "LimitChangesNothing"
    with Session(one.db()) as s:
        (record,) = s.exec(select(LedgerRecord).where(LedgerRecord.subject == authz["id"])
                           .where(LedgerRecord.kind == "authorization.limited")).all()
    data = json.loads(record.body)["data"]
    assert data["reason"] == "pilot scope narrowed" and data["before"]["purposes"] == PURPOSES
    with one.client("authority") as c:
        assert c.post(path.replace("/limit", "/revoke"), json={"reason": "ended"}).status_code == 200
        r = c.post(path, json={"reason": "r", "valid_until": iso(new_end - timedelta(days=1))})
        assert r.status_code == 409 and r.json()["error"] == "AuthorizationInactive", r.text


def test_a_limited_authorization_past_its_new_end_stops_sales(one: Server) -> None:
    authz = make_authorization(one, [make_resource(one)["id"]])
    product = make_product(one, authz, stage="listed", provider_ids=[one.ids["provider"]])
    offer = make_offer(one, product, "one_off", [(1, 100)])
    buyer = new_account(one, fen=1_000)
    lic = bought(one, buyer, offer)
    who = actor(one, buyer["id"])
    until = datetime.now(UTC) + timedelta(seconds=4)
    with one.client("authority") as c:
        r = c.post(f"/authorizations/{authz['id']}/limit", json={"reason": "ends early", "valid_until": iso(until)})
        assert r.status_code == 200, r.text
    assert spend(one, who, lic["id"]) == "ok"
    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 1)
    assert spend(one, who, lic["id"]) == "ProductNotTradable"
    with one.client(key=buyer["api_key"]) as c:
        assert buy(c, offer["id"]).status_code == 409
    sweep_suspends(one, authz["id"], product["id"])


def test_the_portal_limit_form(one: Server) -> None:
    authz = make_authorization(one, [make_resource(one)["id"]], purposes=PURPOSES)
    path = f"/authorizations/{authz['code']}/limit"
    with Browser(one) as b:
        b.sign_in(one.keys["authority"])
        page = b.http.get("/portal/authority?lang=en")
        assert f'data-api-path="{path}"' in page.text and "Limit" in page.text
        assert "LimitWidens" in page.text  # the refusal's own message is there for signer.js to show at its field
        r = signed_act(b, "authority", path, {"reason": "narrowed", "purposes": PURPOSES[1:]})
        assert r.status_code == 200 and r.json()["purposes"] == PURPOSES[1:], r.text
        r = signed_act(b, "authority", path, {"reason": "x", "valid_until": "2999-01-01T00:00:00Z"})
        assert r.status_code == 409 and r.json()["error"] == "LimitWidens", r.text
        r = b.post("/portal/done", {"next": "/portal/authority?lang=en", "done": "done_limited"})
        assert r.status_code == 303 and r.headers["location"] == "/portal/authority?lang=en"
        page = b.http.get(r.headers["location"])
        assert "The authorization is limited." in page.text
        assert "限缩" in b.http.get("/portal/authority?lang=zh").text
