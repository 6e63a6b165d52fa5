"""Nothing the exchange holds can act for another party (issue 12's drill).

The exchange holds its database, its process's keys (the relayer, which pays gas, and its house key), every
participant's API key (the test hands them over), and the deployer key after deployment. With all of that it
tries to grant an authorization as the authority, set a price cap as the authority, publish an offer as an
operator, buy as a buyer, make itself authority, and write a buyer's record. Each attempt is refused by the
chain or the API, or detected by `POST /audit/verify`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from eth_account import Account
from eth_account.signers.local import LocalAccount

from api.deps import ACTOR_TTL_S
from ledger.chain_types import AUTHORITY_ROLE, Classification
from ledger.errors import ContractRevert
from ledger.forwarder import Relayer, build_request, sign_request
from ledger.keys import DEV_PASSPHRASE, Keyring
from ledger.runtime import ChainRuntime, dev_key_path
from tests.utils.builders import authz_body, make_resource, resource_body
from tests.utils.server import Server, audit_verify, start_server
from tests.utils.trading import buy, listed_product, make_offer, mint, new_account, offer_body


@pytest.fixture(scope="module")
def own(chain: ChainRuntime, deployer: LocalAccount, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: the drill leaves a forged record in its log for good."""
    server, _ = start_server("sqlite", chain, deployer, tmp_path_factory.mktemp("trust"))
    yield server
    server.proc.terminate()
    server.proc.wait(10)


def exchange_keys(server: Server) -> dict[str, LocalAccount]:
    """Every chain key the exchange's process holds: the deployer (relayer) and its house key."""
    keyring = Keyring(DEV_PASSPHRASE, 1024)
    house = keyring.open(dev_key_path(server.home, "house").read_text())
    return {"deployer": Account.from_key(server.env["PROVEX_DEPLOYER_KEY"]), "house": house}


def refused(response: Any) -> bool:
    return response.status_code == 401 and response.json()["error"] in ("signature_invalid", "statement_required")


def test_api_refuses_every_act_signed_by_a_key_the_exchange_holds(own: Server) -> None:
    keys = exchange_keys(own)
    res = make_resource(own)
    product = listed_product(own)
    offer = make_offer(own, product, tiers=[(1, 100)])
    buyer = new_account(own, fen=10_000)
    before = {t: own.db().connect().execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
              for t in ("authorizations", "offers", "orders", "chain_tx")}
    for key in keys.values():
        with own.client("authority", signer=key) as c:  # the authority's API key, the exchange's chain key
            assert refused(c.post("/authorizations", json=authz_body(own, [res["id"]])))
            assert refused(c.put(f"/products/{product['id']}/price-cap", json={"cap_fen": 1}))
        with own.client("operator", signer=key) as c:
            assert refused(c.post(f"/products/{product['id']}/offers", json=offer_body("one_off", [(1, 100)])))
        with own.client(key=buyer["api_key"], signer=key) as c:
            assert refused(buy(c, offer["id"]))
    with httpx.Client(base_url=own.url, headers={"Authorization": f"Bearer {own.keys['authority']}"}) as c:
        assert c.post("/resources", json=resource_body()).json()["error"] == "statement_required"  # unsigned
    after = {t: own.db().connect().execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in before}
    assert after == before  # nothing written


def test_chain_refuses_every_act_the_exchange_signs_itself(own: Server) -> None:
    keys, ledger = exchange_keys(own), own.ledger
    authority = own.accounts["authority"].address
    ledger.client.fund(keys["deployer"], keys["house"].address, 10**17)  # gas for its own transactions
    for name, key in keys.items():
        with pytest.raises(ContractRevert) as grant:  # make itself authority: only governance administers roles
            ledger.grant_role(key, "DataRegistry", AUTHORITY_ROLE, key.address)
        assert grant.value.name == "AccessControlUnauthorizedAccount"
        with pytest.raises(ContractRevert) as direct:  # an authority act from its own key
            ledger.register_resource(key, "forged-" + name, Classification.GENERAL, b"\x01" * 32, b"\x02" * 32)
        assert direct.value.name == "AccessControlUnauthorizedAccount"
        relayer = Relayer(ledger, keys["deployer"])  # the same act as the authority's, signed by its own key
        act = ledger.acts.register_resource("forged-fw-" + name, Classification.GENERAL, b"\x01" * 32, b"\x02" * 32)
        request = build_request(authority, act, nonce=relayer.nonce(authority), gas=300_000,
                                deadline=relayer.now() + 300)
        with pytest.raises(ContractRevert) as forwarded:
            relayer.relay(sign_request(key, request, relayer.domain), act)
        assert forwarded.value.name == "ERC2771ForwarderInvalidSigner"
    assert not ledger.has_role("DataRegistry", AUTHORITY_ROLE, keys["house"].address)


def test_a_rebound_buyer_or_a_forged_record_is_caught_by_verify(own: Server) -> None:
    product = listed_product(own)
    offer = make_offer(own, product, tiers=[(1, 100)])
    buyer = new_account(own, fen=10_000)
    with own.client(key=buyer["api_key"]) as c:
        assert buy(c, offer["id"]).status_code == 201
    assert audit_verify(own)["ok"]
    # Forge: a buyer record without the buyer's signature, hashed and indexed like a genuine one.
    with own.db().begin() as conn:
        seq, body = conn.execute(sa.text("SELECT seq, body FROM ledger_records WHERE kind = 'order.placed' "
                                         "ORDER BY seq DESC LIMIT 1")).one()
        record = json.loads(body)
        record["data"].pop("signed")
        conn.execute(sa.text("UPDATE ledger_records SET body = :b WHERE seq = :s"),
                     {"b": json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False), "s": seq})
    try:
        report = audit_verify(own)
    finally:
        with own.db().begin() as conn:
            conn.execute(sa.text("UPDATE ledger_records SET body = :b WHERE seq = :s"), {"b": body, "s": seq})
    assert not report["ok"] and report["divergence"]["kind"] == "signature_invalid", report
    assert "carries no signature" in report["divergence"]["detail"]
    # Rebind: the exchange points the buyer's account at its own house key, then buys "as the buyer"; the API
    # believes its database, but the log holds the buyer's own signed binding.
    house = exchange_keys(own)["house"]
    with own.db().begin() as conn:
        conn.execute(sa.text("UPDATE accounts SET address = :a WHERE id = :i"), {"a": house.address, "i": buyer["id"]})
    time.sleep(ACTOR_TTL_S + 0.5)  # the API's cache of the buyer's account ages out
    mint(own, buyer["id"], 10_000)  # to the address the database now says
    with own.client(key=buyer["api_key"], signer=house) as c:
        assert buy(c, offer["id"]).status_code == 201, "the database alone cannot tell"
    report = audit_verify(own)
    assert not report["ok"] and report["divergence"]["kind"] == "signature_invalid", report
    assert "not by its bound address" in report["divergence"]["detail"]
