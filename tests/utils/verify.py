"""Verification set-ups (tests and bench/verify_calls.py): herd data per node, nodes whose signed policies allow
verification on the key and head-count columns, a listed product offering verification, a metered license."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from api.node_policy import draft_policy
from privacy.provider.policy import sign_policy, write_document
from privacy.secagg.crypto import load_or_create_identity
from tests.utils.builders import make_authorization, make_product, make_resource
from tests.utils.queries import Node, QueryEnv, register_nodes, start_nodes, wait_offer_on_chain

BANNERS = ["锡林浩特市", "正蓝旗"]
COLUMNS: list[dict[str, Any]] = [
    {"name": "herder_id", "type": "string"},
    {"name": "banner", "type": "string", "group_by": True, "domain": BANNERS},
    {"name": "head_count", "type": "integer", "min": 0, "max": 5000},
    {"name": "pasture_mu", "type": "number", "min": 0, "max": 100000},
]
VERIFIABLE = ("herder_id", "head_count")  # what the nodes' policies allow for verify (not pasture_mu)


def write_herds(path: Path, node: int, herders: int = 20) -> Path:
    """`herders` herders per node (H-<node>-<i>, i × 20 head); H-1-7 has a second row (140 + 100 = 240 head)."""
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["herder_id", "banner", "head_count", "pasture_mu"])
        for i in range(herders):
            w.writerow([f"H-{node}-{i}", BANNERS[i % 2], (20 * i) % 5000, 1000 + i])
        if node == 1:
            w.writerow(["H-1-7", BANNERS[1], 100, 10])
    return path


def start_herd_nodes(env: QueryEnv, workdir: Path, n: int, herders: int = 20,
                     daily_limit: int | None = 1000) -> dict[str, Node]:
    """`n` registered nodes over herd files, each with its own signed policy allowing `VERIFIABLE`."""
    files = {f"herds-{i}": write_herds(workdir / f"h{i}.csv", i, herders) for i in range(n)}
    for node_id in files:
        key_dir = workdir / f"keys-{node_id}"
        policy = draft_policy(node_id, "herds", COLUMNS, max_epsilon=1.0, min_group_size=5,
                              daily_query_limit=daily_limit, verify=VERIFIABLE)
        write_document(key_dir / "policy.json", sign_policy(policy, load_or_create_identity(key_dir)))
    nodes = start_nodes(env.server, files, workdir)
    register_nodes(env, nodes)
    return nodes


def verification_product(env: QueryEnv, nodes: dict[str, Node], verification: dict[str, Any]) -> dict[str, Any]:
    """A listed product (personal information) over the nodes' providers, offering `verification`."""
    res = make_resource(env.server, sensitivity_tags=["personal_information"])
    authz = make_authorization(env.server, [res["id"]])
    return make_product(env.server, authz, stage="listed", columns=COLUMNS, verification=verification,
                        sample=[{"herder_id": "H-0-1", "banner": BANNERS[0], "head_count": 20}],
                        provider_ids=[env.provider_ids[n] for n in nodes])


def metered_license(env: QueryEnv, product: dict[str, Any], quantity: int) -> dict[str, Any]:
    """A metered license of `quantity` verification calls (prepaid draw-down at 50 fen a call)."""
    terms = {"purposes": ["loan due diligence"], "query_kinds": ["verify"],
             "columns": ["herder_id", "head_count", "pasture_mu"]}
    with env.server.client("operator") as op:
        r = op.post(f"/products/{product['id']}/offers", json={
            "kind": "metered", "basis": "cost", "tiers": [{"min_quantity": 1, "unit_price_fen": 50}],
            "split": {"operator": 10_000}, "terms": terms})
        assert r.status_code == 201, r.text
    wait_offer_on_chain(env, r.json()["id"])
    with env.server.client("buyer") as buyer:
        r = buyer.post("/orders", json={"offer_id": r.json()["id"], "quantity": quantity})
        assert r.status_code == 201, r.text
        return dict(r.json()["license"])
