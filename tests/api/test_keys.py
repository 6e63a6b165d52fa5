"""API keys belong to their holders: only a holder gets a new key, the exchange may only revoke one, and
`Idempotency-Key` (checked after authentication, per account) never stores or replays a key."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from eth_account import Account

from tests.utils.builders import make_product, make_resource, resource_body
from tests.utils.server import Server


def new_account(server: Server, role: str = "buyer") -> dict[str, Any]:
    holder, name = Account.create(), f"keys {role} {uuid.uuid4().hex[:6]}"
    with server.client("exchange") as ex:
        r = ex.post("/accounts", json={"role": role, "name": name, **server.binding(holder, role, name)})
        assert r.status_code == 201, r.text
        assert r.headers["cache-control"] == "no-store"
    server.signers[r.json()["id"]] = holder
    return dict(r.json())


def stored_idempotency_bodies(server: Server) -> list[str]:
    with server.db().connect() as conn:
        return [str(b) for b in conn.execute(sa.text("SELECT body FROM idempotency_keys")).scalars() if b]


def test_the_exchange_rotating_another_accounts_key_gets_no_key_and_cannot_act_as_it(server: Server) -> None:
    product = make_product(server)
    authority_id = server.ids["authority"]
    with server.client("exchange") as ex:
        for headers in ({}, {"Idempotency-Key": str(uuid.uuid4())}):
            r = ex.post(f"/accounts/{authority_id}/rotate-key", headers=headers)
            assert r.status_code == 403, r.text
            assert r.json()["error"] == "forbidden" and "only to its holder" in r.json()["detail"]
            assert "api_key" not in r.json() and "pxk_" not in r.text
        # With everything it holds (its own key), the exchange still cannot act as the authority.
        r = ex.put(f"/products/{product['id']}/price-cap", json={"cap_fen": 1})
        assert r.status_code == 403 and "requires role authority" in r.json()["detail"]
    with server.client("authority") as auth:  # the real authority was not locked out
        assert auth.get("/accounts/me").json()["id"] == authority_id
        r = auth.put(f"/products/{product['id']}/price-cap", json={"cap_fen": 500_000})
        assert r.status_code == 200 and r.json()["cap_fen"] == 500_000
    assert all("pxk_" not in body for body in stored_idempotency_bodies(server))


def test_the_exchange_may_revoke_a_key_and_issues_none(server: Server) -> None:
    acct = new_account(server)
    with server.client("exchange") as ex:
        r = ex.post(f"/accounts/{acct['id']}/revoke-key", headers={"Idempotency-Key": str(uuid.uuid4())})
        assert r.status_code == 200, r.text
        assert r.json()["id"] == acct["id"] and "api_key" not in r.json() and "pxk_" not in r.text
    with server.client(key=acct["api_key"]) as revoked:
        r = revoked.get("/accounts/me")
        assert r.status_code == 401 and r.json()["error"] == "unauthenticated"
        assert revoked.post("/accounts/me/rotate-key").status_code == 401  # a revoked key gets nothing new
    with server.client("operator") as op:  # only the exchange revokes someone else's key
        r = op.post(f"/accounts/{server.ids['buyer']}/revoke-key")
        assert r.status_code == 403 and "requires role exchange" in r.json()["detail"]
    with server.db().connect() as conn:  # a ledger record names who revoked whose key
        actors = conn.execute(sa.text("SELECT actor FROM ledger_records WHERE kind = 'account.key_revoked' "
                                      "AND subject = :s"), {"s": acct["id"]}).scalars().all()
    assert actors == [server.ids["exchange"]]


def test_a_holder_rotates_its_own_key(server: Server) -> None:
    acct = new_account(server)
    with server.client(key=acct["api_key"]) as holder:
        r = holder.post(f"/accounts/{acct['id']}/rotate-key")
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        new_key = r.json()["api_key"]
    with server.client(key=new_key) as c:
        assert c.get("/accounts/me").json()["id"] == acct["id"]
        assert c.post(f"/accounts/{server.ids['buyer']}/rotate-key").status_code == 403  # not its holder
    with server.client(key=acct["api_key"]) as old:
        assert old.get("/accounts/me").status_code == 401


def test_a_revoked_key_replaying_its_own_rotation_gets_nothing(server: Server) -> None:
    acct = new_account(server)
    idem = {"Idempotency-Key": str(uuid.uuid4())}
    with server.client(key=acct["api_key"]) as old:
        first = old.post("/accounts/me/rotate-key", headers=idem)
        assert first.status_code == 200
        new_key = first.json()["api_key"]
        replay = old.post("/accounts/me/rotate-key", headers=idem)  # the old key is revoked by the rotation
        assert replay.status_code == 401 and replay.json()["error"] == "unauthenticated"
        assert new_key not in replay.text and "api_key" not in replay.json()
    with server.client(key=new_key) as holder:  # even the holder's retry is not a replay of the secret
        again = holder.post("/accounts/me/rotate-key", headers=idem)
        assert again.status_code == 409 and again.json()["error"] == "idempotency_key_secret_response"
        assert again.headers.get("idempotent-replayed") == "true" and "pxk_" not in again.text
        assert holder.get("/accounts/me").status_code == 200  # the retry rotated nothing
    assert all(new_key not in body and "pxk_" not in body for body in stored_idempotency_bodies(server))


def test_onboarding_with_an_idempotency_key_stores_no_key(server: Server) -> None:
    idem = {"Idempotency-Key": str(uuid.uuid4())}
    name = f"idem buyer {uuid.uuid4().hex[:6]}"
    body = {"role": "buyer", "name": name, **server.binding(Account.create(), "buyer", name)}
    with server.client("exchange") as ex:
        first = ex.post("/accounts", json=body, headers=idem)
        assert first.status_code == 201 and first.json()["api_key"].startswith("pxk_")
        again = ex.post("/accounts", json=body, headers=idem)
        assert again.status_code == 409 and again.json()["error"] == "idempotency_key_secret_response"
        assert "pxk_" not in again.text
        assert len([a for a in ex.get("/accounts").json() if a["name"] == body["name"]]) == 1  # done once
    assert all("pxk_" not in b for b in stored_idempotency_bodies(server))


def test_idempotency_is_scoped_per_principal(server: Server) -> None:
    key = str(uuid.uuid4())
    body = resource_body()
    with server.client("authority") as auth:
        first = auth.post("/resources", json=body, headers={"Idempotency-Key": key})
        assert first.status_code == 201
    with server.client("exchange") as ex:  # same key, same body, another account: its own answer
        r = ex.post("/resources", json=body, headers={"Idempotency-Key": key})
        assert r.status_code == 403 and "idempotent-replayed" not in r.headers
        assert first.json()["id"] not in r.text
    with server.client() as anon:  # no caller: nothing is looked up, the route answers 401
        r = anon.post("/resources", json=body, headers={"Idempotency-Key": key})
        assert r.status_code == 401 and "idempotent-replayed" not in r.headers
    sweep = str(uuid.uuid4())
    with server.client("authority") as auth, server.client("exchange") as ex:
        assert auth.post("/authorizations/sweep-expired", headers={"Idempotency-Key": sweep}).status_code == 200
        r = ex.post("/authorizations/sweep-expired", headers={"Idempotency-Key": sweep})
        assert r.status_code == 200 and "idempotent-replayed" not in r.headers
        r = auth.post("/authorizations/sweep-expired", headers={"Idempotency-Key": sweep})
        assert r.headers.get("idempotent-replayed") == "true"  # the same account's retry is a replay
    make_resource(server)  # the authority's key still works after all this
    with server.db().connect() as conn:
        scopes = set(conn.execute(sa.text("SELECT scope FROM idempotency_keys WHERE key IN (:a, :b)"),
                                  {"a": key, "b": sweep}).scalars())
    assert scopes == {f"account:{server.ids['authority']}", f"account:{server.ids['exchange']}"}


def test_a_revoked_holder_recovers_a_key_with_its_chain_key_alone(server: Server) -> None:
    acct = new_account(server)
    holder = server.signers[acct["id"]]
    with server.client("exchange") as ex:
        assert ex.post(f"/accounts/{acct['id']}/revoke-key").status_code == 200
    with server.client(signer=Account.create()) as stranger:  # a key bound to no account
        r = stranger.post("/accounts/me/recover-key")
        assert r.status_code == 401 and r.json()["error"] == "signature_invalid"
    with server.client(signer=holder) as c:  # no API key: the chain key's signature alone
        r = c.post("/accounts/me/recover-key")
        assert r.status_code == 200, r.text
        assert r.json()["id"] == acct["id"] and r.headers["cache-control"] == "no-store"
        new = r.json()["api_key"]
    with server.client(key=new) as c:
        assert c.get("/accounts/me").json()["id"] == acct["id"]
