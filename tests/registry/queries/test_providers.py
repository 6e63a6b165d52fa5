"""Provider nodes known to the exchange, the coordinator identity, and product query policies."""

from __future__ import annotations

import os
import stat

import httpx

from registry.queries.providers import UNVERIFIED
from tests.utils.queries import QueryEnv, listed_product, start_nodes, write_data

UNVERIFIED_BODY = {"error": "invalid_input", "detail": f"url: {UNVERIFIED}", "field": "url"}


def test_coordinator_key_is_persisted_published_and_trusted_by_the_nodes(qenv: QueryEnv) -> None:
    server = qenv.server
    with server.client() as anonymous:
        r = anonymous.get("/coordinator/identity")
    assert r.status_code == 200, r.text
    public_key = r.json()["public_key"]
    assert r.json()["protocol"] == "provex-secagg-v1" and len(public_key) == 64
    key_file = server.home / "coordinator.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert (server.home / "coordinator.pub").read_text().strip() == public_key
    live = [n for n in qenv.nodes.values() if n.proc.poll() is None]  # other tests kill some of theirs
    assert {"node-0", "node-1", "node-2"} <= {n.node_id for n in live}
    for node in live:  # started with --exchange: they fetched it
        assert httpx.get(node.url + "/identity").json()["coordinator_key"] == public_key


def test_registration_checks_the_live_identity(qenv: QueryEnv) -> None:
    node = qenv.nodes["node-0"]
    key = qenv.provider_keys["node-0"]
    body = {"node_id": node.node_id, "url": node.url, "public_key": node.public_key}
    with qenv.server.client(key=key) as c:
        for wrong in ({"public_key": "ab" * 32}, {"node_id": "someone-else"}, {"url": "http://127.0.0.1:9"}):
            r = c.post("/providers/me/node", json={**body, **wrong})  # one generic error for every failure
            assert r.status_code == 422 and r.json() == UNVERIFIED_BODY, r.text
        r = c.post("/providers/me/node", json=body)  # re-registering the same node is fine
        assert r.status_code == 201, r.text
        mine = c.get("/providers/me/node").json()
        assert mine["node_id"] == "node-0" and mine["public_key"] == node.public_key
    with qenv.server.client(key=qenv.provider_keys["node-1"]) as other:
        r = other.post("/providers/me/node", json=body)  # node-0's id under another account
        assert r.status_code == 409 and "another provider" in r.json()["detail"], r.text
    with qenv.server.client("buyer") as buyer:
        assert buyer.post("/providers/me/node", json=body).status_code == 403
        assert buyer.get("/providers/nodes").status_code == 403
    with qenv.server.client("exchange") as ex:
        listed = {n["node_id"]: n for n in ex.get("/providers/nodes").json()}
    assert {"node-0", "node-1", "node-2"} <= set(listed)
    assert listed["node-1"]["account_id"] == qenv.provider_ids["node-1"]


def test_a_node_that_does_not_trust_the_exchange_is_refused(qenv: QueryEnv, tmp_path: object) -> None:
    from pathlib import Path

    workdir = Path(str(tmp_path))
    nodes = start_nodes(qenv.server, {"stray": write_data(workdir / "stray.csv", 10, seed=7)}, workdir,
                        coordinator_key="cd" * 32)
    try:
        stray = nodes["stray"]
        with qenv.server.client("provider") as c:
            r = c.post("/providers/me/node", json={"node_id": "stray", "url": stray.url,
                                                   "public_key": stray.public_key})
        assert r.status_code == 422 and r.json() == UNVERIFIED_BODY, r.text
    finally:
        for n in nodes.values():
            n.kill()


def test_noise_off_only_without_personal_information(qenv: QueryEnv) -> None:
    personal = listed_product(qenv, ["node-0", "node-1", "node-2"], tags=["personal_information"])
    with qenv.server.client("operator") as op:
        r = op.get(f"/products/{personal['id']}/query-policy")
        assert r.status_code == 200 and r.json()["noise"] is True and r.json()["threshold"] == 2, r.text
        r = op.put(f"/products/{personal['id']}/query-policy", json={"noise": False})
        assert r.status_code == 409 and r.json()["error"] == "NoiseRequired", r.text
        assert "personal_information" in r.json()["detail"]
        r = op.put(f"/products/{personal['id']}/query-policy", json={"threshold": 1})
        assert r.status_code == 422 and r.json()["field"] == "threshold", r.text
        r = op.put(f"/products/{personal['id']}/query-policy", json={"threshold": 3, "min_group_size": 5})
        assert r.status_code == 200 and r.json()["threshold"] == 3, r.text
    plain = listed_product(qenv, ["node-0", "node-1", "node-2"], policy={"noise": False})
    with qenv.server.client("buyer") as buyer:
        r = buyer.get(f"/products/{plain['id']}/query-policy")
        assert r.status_code == 200 and r.json()["noise"] is False, r.text
        assert buyer.put(f"/products/{plain['id']}/query-policy", json={"noise": True}).status_code == 403
