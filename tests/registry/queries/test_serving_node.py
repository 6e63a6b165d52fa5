"""Listing needs a serving node: approval and relist are refused (409 NoServingNode, nothing written) unless one
of the product's provider nodes answers now with its registered identity and policy, and that policy declares
every column of the product."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from api.node_policy import draft_policy
from privacy.provider.policy import sign_policy, write_document
from privacy.secagg.crypto import load_or_create_identity
from tests.utils.builders import CHECKLIST, authorized, make_product
from tests.utils.queries import COLUMNS, Node, QueryEnv, register_nodes, start_nodes, write_data
from tests.utils.server import Server

SAMPLE = [{"region": "north", "level": 1, "age": 30, "income": 12.5}]


def sign(key_dir: Path, node_id: str, columns: list[dict[str, Any]], limit: int = 1000) -> str:
    policy = draft_policy(node_id, "people", columns, max_epsilon=1.0, min_group_size=5, daily_query_limit=limit)
    write_document(key_dir / "policy.json", sign_policy(policy, load_or_create_identity(key_dir)))
    return policy.hash()


@pytest.fixture(scope="module")
def nodes(qenv: QueryEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Node]]]:
    """`full` enforces a policy over every column of the products here; `partial` leaves `income` out."""
    workdir = tmp_path_factory.mktemp("serving-nodes")
    files = {n: write_data(workdir / f"{n}.csv", 30, seed=400 + i) for i, n in enumerate(("full", "partial"))}
    sign(workdir / "keys-full", "full", COLUMNS)
    sign(workdir / "keys-partial", "partial", COLUMNS[:3])
    started = start_nodes(qenv.server, files, workdir)
    try:
        register_nodes(qenv, started)
        yield workdir, started
    finally:
        for n in started.values():
            n.kill()
            qenv.nodes.pop(n.node_id, None)  # gone: later modules check every registered node


def _product(server: Server, providers: list[str], stage: str = "under_review") -> dict[str, Any]:
    return make_product(server, authorized(server), stage=stage, columns=COLUMNS, sample=SAMPLE,
                        provider_ids=providers)


def _approve(server: Server, product: dict[str, Any]) -> Any:
    with server.client("exchange") as ex:
        return ex.post(f"/products/{product['id']}/review", json={"decision": "approve", "checklist": CHECKLIST,
                                                                  "reasons": "all checks pass"})


def _written(server: Server, product_id: str) -> tuple[int, int]:
    """Reviews of the product and ledger records about it."""
    with server.db().connect() as conn:
        reviews = conn.execute(sa.text("SELECT count(*) FROM reviews WHERE product_id = :p"), {"p": product_id})
        records = conn.execute(sa.text("SELECT count(*) FROM ledger_records WHERE subject = :p"), {"p": product_id})
        return int(reviews.scalar_one()), int(records.scalar_one())


def _states(server: Server, product: dict[str, Any]) -> list[str]:
    """Each provider's node state, as `GET /products/{ref}/nodes` gives it to the product's operator."""
    with server.client("operator") as op:
        r = op.get(f"/products/{product['id']}/nodes")
        assert r.status_code == 200, r.text
        return [n["state"] for n in r.json()]


def test_listing_refused_without_a_serving_node(qenv: QueryEnv, nodes: Any) -> None:
    server = qenv.server
    nodeless = server.onboard("provider", "provider without a node")["id"]
    cases = [([], 0, 0), ([nodeless], 1, 0), ([qenv.provider_ids["partial"]], 1, 1)]  # partial: income undeclared
    for providers, n, registered in cases:
        product = _product(server, providers)
        before = _written(server, product["id"])
        r = _approve(server, product)
        assert r.status_code == 409, r.text
        assert r.json()["error"] == "NoServingNode", r.text
        assert r.json()["detail"] == (f"NoServingNode(product={product['code']}, providers={n}, "
                                      f"registeredNodes={registered})")
        assert _written(server, product["id"]) == before  # nothing written: no review, no record
        with server.client("exchange") as ex:
            assert ex.get(f"/products/{product['id']}").json()["status"] == "under_review"
    served = _product(server, [nodeless, qenv.provider_ids["partial"], qenv.provider_ids["full"]])
    assert _states(server, served) == ["no_node", "uncovered", "serving"]  # what the operator's page shows
    r = _approve(server, served)  # the third provider's node serves it
    assert r.status_code == 200 and r.json()["product"]["status"] == "in_notice", r.text
    with server.client("exchange") as ex:  # listing (after the zero-length notice) asks the nodes again
        r = ex.post(f"/products/{served['id']}/listing")
    assert r.status_code == 200 and r.json()["product"]["status"] == "listed", r.text


def test_relist_needs_the_node_answering_with_its_registered_policy(qenv: QueryEnv, nodes: Any) -> None:
    server = qenv.server
    workdir, started = nodes
    product = _product(server, [qenv.provider_ids["full"]], stage="listed")
    files = {"full": started["full"].data}
    with server.client("exchange") as ex:
        assert ex.post(f"/products/{product['id']}/suspend", json={"reason": "check"}).status_code == 200
        old = started["full"]
        old.kill()  # down
        r = ex.post(f"/products/{product['id']}/relist", json={"reason": "cleared"})
        assert r.status_code == 409 and r.json()["error"] == "NoServingNode", r.text
        assert _states(server, product) == ["unreachable"]
        sign(workdir / "keys-full", "full", COLUMNS, limit=5000)  # back with a policy it never registered
        started.update(start_nodes(server, files, workdir, ports={"full": old.port}))
        r = ex.post(f"/products/{product['id']}/relist", json={"reason": "cleared"})
        assert r.status_code == 409 and r.json()["error"] == "NoServingNode", r.text
        assert _states(server, product) == ["mismatch"]
        with server.client(key=qenv.provider_keys["full"]) as provider:  # its own page: no policy it can trust
            mine = provider.get("/providers/me/status").json()
            assert (mine["state"], mine["policy"], mine["node"]["node_id"]) == ("mismatch", None, "full")
            assert product["id"] in {p["id"] for p in mine["products"]}
        started["full"].kill()
        sign(workdir / "keys-full", "full", COLUMNS)  # the registered policy again
        started.update(start_nodes(server, files, workdir, ports={"full": old.port}))
        assert started["full"].policy_hash == old.policy_hash
        r = ex.post(f"/products/{product['id']}/relist", json={"reason": "cleared"})
        assert r.status_code == 200 and r.json()["status"] == "listed", r.text
    assert _states(server, product) == ["serving"]
    with server.client(key=qenv.provider_keys["full"]) as provider:
        mine = provider.get("/providers/me/status").json()
        assert mine["state"] == "serving" and mine["policy"]["daily_query_limit"] == 1000
        assert {c["name"] for c in mine["policy"]["columns"]} == {c["name"] for c in COLUMNS}
