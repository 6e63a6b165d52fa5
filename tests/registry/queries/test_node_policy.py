"""Through the API: nodes register the hash of the policy they enforce, a node's refusal comes back as a 409
naming its rule with the charge refunded and recorded, and a node running another policy is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.node_policy import draft_policy
from privacy.provider.policy import sign_policy, write_document
from privacy.secagg.crypto import load_or_create_identity, load_public_key, verify
from tests.utils.queries import (
    COLUMNS,
    Node,
    QueryEnv,
    buy_license,
    license_state,
    listed_product,
    query,
    register_nodes,
    start_nodes,
    write_data,
)

MAX_EPSILON = 1.0  # per query, from one node's own noise share (t = 2 of 3: about ε 0.45 for the query)


def sign_node_policy(key_dir: Path, node_id: str, limit: int = 1000) -> str:
    policy = draft_policy(node_id, "people", COLUMNS, max_epsilon=MAX_EPSILON, min_group_size=5,
                          daily_query_limit=limit)
    write_document(key_dir / "policy.json", sign_policy(policy, load_or_create_identity(key_dir)))
    return policy.hash()


@pytest.fixture(scope="module")
def guarded(qenv: QueryEnv, funded_buyer: None, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[Path, dict[str, Path], dict[str, Node], dict[str, Any]]]:
    workdir = tmp_path_factory.mktemp("policy-nodes")
    files = {f"policy-{i}": write_data(workdir / f"g{i}.csv", 60, seed=300 + i) for i in range(3)}
    for node_id in files:
        sign_node_policy(workdir / f"keys-{node_id}", node_id)
    nodes = start_nodes(qenv.server, files, workdir)
    try:
        register_nodes(qenv, nodes)
        yield workdir, files, nodes, listed_product(qenv, list(nodes), tags=["personal_information"])
    finally:
        for n in nodes.values():
            n.kill()
            qenv.nodes.pop(n.node_id, None)  # gone: later modules check every registered node


def test_nodes_register_the_policy_they_enforce(qenv: QueryEnv, guarded: Any) -> None:
    _, _, nodes, _ = guarded
    node = nodes["policy-0"]
    assert node.policy_hash and len(node.policy_hash) == 64
    body = {"node_id": node.node_id, "url": node.url, "public_key": node.public_key}
    with qenv.server.client(key=qenv.provider_keys["policy-0"]) as c:
        assert c.get("/providers/me/node").json()["policy_hash"] == node.policy_hash
        for wrong in (None, "ab" * 32):  # the live node reports another policy (or has one where none is said)
            r = c.post("/providers/me/node", json={**body, "policy_hash": wrong})
            assert r.status_code == 422 and "policy_hash" in r.json()["detail"], r.text


def test_a_refusal_is_a_409_naming_the_rule_and_the_charge_is_refunded(qenv: QueryEnv, guarded: Any) -> None:
    _, _, nodes, product = guarded
    lic = buy_license(qenv, product, epsilon=10.0)
    ok = query(qenv, lic["id"], "SELECT COUNT(*) AS n, AVG(income) AS a FROM data GROUP BY region", epsilon=0.3)
    assert ok.status_code == 200 and ok.json()["providers"] == len(nodes), ok.text
    before = license_state(qenv, lic["id"])
    r = query(qenv, lic["id"], "SELECT COUNT(*) FROM data GROUP BY region", epsilon=1.5)  # too little noise
    assert r.status_code == 409, r.text
    err = r.json()
    assert err["error"] == "provider_policy_refused" and err["rule"] == "noise_floor" and err["node"] in nodes
    assert "refused the query under its policy rule 'noise_floor'" in err["detail"]
    signed = verify(err["refusal"], err["node"], load_public_key(nodes[err["node"]].public_key))
    assert signed["rule"] == "noise_floor" and signed["policy"] == nodes[err["node"]].policy_hash
    after = license_state(qenv, lic["id"])
    assert (after["epsilon_left"], after["queries_left"]) == (before["epsilon_left"], before["queries_left"])
    with qenv.server.client("buyer") as buyer:
        charges = buyer.get(f"/licenses/{lic['id']}/charges").json()
    assert [c["refunded"] for c in charges] == [False, True]
    with qenv.server.client("auditor") as auditor:
        steps = auditor.get(f"/audit/products/{product['id']}/trace").json()["steps"]
    refused = [s for s in steps if s["kind"] == "query.refused"]
    assert len(refused) == 1 and refused[0]["detail"]["rule"] == "noise_floor"
    assert refused[0]["detail"]["refusal"] == err["refusal"] and refused[0]["detail"]["refunded"] is True
    assert refused[0]["detail"]["signed"]["method"] == "POST"  # the buyer's own signed request


def test_a_node_running_another_policy_than_registered_is_refused(qenv: QueryEnv, guarded: Any) -> None:
    workdir, files, nodes, product = guarded
    lic = buy_license(qenv, product, epsilon=10.0)
    old = nodes["policy-2"]
    old.kill()
    new_hash = sign_node_policy(workdir / "keys-policy-2", "policy-2", limit=5000)  # loosened, not registered
    nodes.update(start_nodes(qenv.server, {"policy-2": files["policy-2"]}, workdir, ports={"policy-2": old.port}))
    assert nodes["policy-2"].policy_hash == new_hash != old.policy_hash
    before = license_state(qenv, lic["id"])
    r = query(qenv, lic["id"], "SELECT COUNT(*) FROM data GROUP BY region", epsilon=0.3)
    assert r.status_code == 409, r.text
    err = r.json()
    assert err["error"] == "provider_policy_mismatch" and err["node"] == "policy-2"
    assert err["rule"] == "registered_policy" and new_hash in err["detail"]
    after = license_state(qenv, lic["id"])
    assert (after["epsilon_left"], after["queries_left"]) == (before["epsilon_left"], before["queries_left"])
    node = nodes["policy-2"]
    with qenv.server.client(key=qenv.provider_keys["policy-2"]) as c:  # the provider registers the new policy
        r = c.post("/providers/me/node", json={"node_id": node.node_id, "url": node.url,
                                               "public_key": node.public_key, "policy_hash": new_hash})
        assert r.status_code == 201 and r.json()["policy_hash"] == new_hash, r.text
    r = query(qenv, lic["id"], "SELECT COUNT(*) FROM data GROUP BY region", epsilon=0.3)
    assert r.status_code == 200 and r.json()["providers"] == len(nodes), r.text
