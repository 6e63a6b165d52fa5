"""Forged, replayed, stale and misaddressed messages are rejected; no data routes exist."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from privacy.calibrate import no_noise
from privacy.coordinator import Coordinator, ProviderEndpoint
from privacy.errors import ProviderAuthError, ProviderRefused
from privacy.provider.app import create_app
from privacy.secagg.coordinator import request
from privacy.secagg.crypto import public_key_hex, raw_public, sign
from privacy.sql import parse_query
from privacy.verify_question import checked_sealing_key, sealing_key_envelope
from tests.privacy.cluster import Cluster
from tests.privacy.conftest import COLUMNS


def advertise_fields(cluster: Cluster, session: str) -> dict[str, object]:
    return {
        "session": session,
        "participants": [n.id for n in cluster.nodes],
        "identities": {n.id: n.public_key for n in cluster.nodes},
        "threshold": 3,
        "pool": 1,
    }


def test_forged_coordinator_signature_rejected(cluster: Cluster) -> None:
    node = cluster.nodes[0]
    env, _ = request(Ed25519PrivateKey.generate(), node.id, "advertise_req",
                     **advertise_fields(cluster, "forged"))
    r = httpx.post(node.url + "/secagg/advertise", json=env)
    assert r.status_code == 401
    assert r.json() == {"error": "provider_auth_failed",
                        "detail": "bad signature from 'coordinator'"}


def test_tampered_body_rejected(cluster: Cluster, coord_key: Ed25519PrivateKey) -> None:
    node = cluster.nodes[0]
    env, _ = request(coord_key, node.id, "advertise_req", **advertise_fields(cluster, "t1"))
    env["body"]["pool"] = 2
    r = httpx.post(node.url + "/secagg/advertise", json=env)
    assert r.status_code == 401 and "bad signature" in r.json()["detail"]


def test_replayed_message_rejected(cluster: Cluster, coord_key: Ed25519PrivateKey) -> None:
    node = cluster.nodes[1]
    env, _body = request(coord_key, node.id, "advertise_req", **advertise_fields(cluster, "r1"))
    first = httpx.post(node.url + "/secagg/advertise", json=env)
    assert first.status_code == 200
    assert first.json()["signer"] == node.id and first.json()["body"]["node"] == node.id
    again = httpx.post(node.url + "/secagg/advertise", json=env)
    assert again.status_code == 401
    assert "replayed" in again.json()["detail"]


def test_stale_and_misaddressed_rejected(cluster: Cluster, coord_key: Ed25519PrivateKey) -> None:
    node = cluster.nodes[2]
    body = {"type": "advertise_req", "to": node.id, "nonce": "ab" * 16,
            "ts": time.time() - 3600, **advertise_fields(cluster, "s1")}
    r = httpx.post(node.url + "/secagg/advertise", json=sign(body, "coordinator", coord_key))
    assert r.status_code == 401 and "stale" in r.json()["detail"]
    env, _ = request(coord_key, "p0", "advertise_req", **advertise_fields(cluster, "s2"))
    r = httpx.post(node.url + "/secagg/advertise", json=env)
    assert r.status_code == 401 and "another node" in r.json()["detail"]


def test_malformed_body_is_400_not_500(cluster: Cluster) -> None:
    url = cluster.nodes[0].url + "/secagg/input"
    assert httpx.post(url, content=b"not json").status_code == 400
    r = httpx.post(url, json={"body": {}, "signer": "coordinator"})
    assert r.status_code == 401 and r.json()["error"] == "provider_auth_failed"


def test_provider_with_wrong_registered_key_refuses_the_query(
    cluster: Cluster, coord_key: Ed25519PrivateKey
) -> None:
    """A reply not signed by the registered key (impersonation) is never aggregated: the query is
    refused naming the node, not run without it as if it had dropped out."""
    eps = cluster.endpoints()
    impostor = public_key_hex(Ed25519PrivateKey.generate())
    eps[3] = ProviderEndpoint(eps[3].id, eps[3].url, impostor)
    coord = Coordinator(coord_key, eps, threshold=3, timeout=10)
    plan = parse_query("SELECT COUNT(*) FROM t", COLUMNS)
    with pytest.raises(ProviderRefused) as info:
        coord.run_sync(plan, no_noise(plan), min_group_size=0)
    assert list(info.value.nodes) == ["p3"]
    assert "bad signature from 'p3'" in info.value.nodes["p3"]


def test_unmask_with_different_survivors_refused(
    cluster: Cluster, coord_key: Ed25519PrivateKey
) -> None:
    """A provider never answers the same slot for two survivor sets (s and b both out)."""
    coord = Coordinator(coord_key, cluster.endpoints(), threshold=3, timeout=10, pool=2)
    plan = parse_query("SELECT COUNT(*) FROM t", COLUMNS)

    async def go() -> tuple[int, str]:
        await coord.run(plan, no_noise(plan), min_group_size=0)
        session = coord.secagg.session
        assert session is not None
        node = cluster.nodes[0]
        env, _ = request(coord_key, node.id, "unmask_req", session=session.sid, slot=0,
                         u3=["p0", "p1", "p2"])
        await coord.aclose()
        r = httpx.post(node.url + "/secagg/unmask", json=env)
        return r.status_code, r.json()["detail"]

    status, detail = asyncio.run(go())
    assert status == 409 and "different survivor set" in detail


def test_only_protocol_routes(cluster: Cluster, data_files: list[Path], tmp_path: Path) -> None:
    app = create_app(data_files[0], "x", key_dir=tmp_path / "k")
    paths = {getattr(r, "path", "") for r in app.routes}
    assert paths == {"/identity", "/policy", "/secagg/advertise", "/secagg/share", "/secagg/input",
                     "/secagg/unmask", "/verify"}
    node = cluster.nodes[0]
    for path in ("/docs", "/openapi.json", "/bench/plain", "/data", "/rows"):
        assert httpx.get(node.url + path).status_code in (404, 405)
    assert httpx.post(node.url + "/bench/plain", json={}).status_code == 404


def test_identity_key_persisted(cluster: Cluster) -> None:
    node = cluster.nodes[0]
    info = httpx.get(node.url + "/identity").json()
    assert info["node"] == node.id
    assert info["public_key"] == (node.key_dir / "identity.pub").read_text().strip()
    assert (node.key_dir / "identity.key").stat().st_mode & 0o077 == 0
    assert set(info) == {"node", "public_key", "protocol", "coordinator_key", "policy_hash", "sealing_key"}
    # the X25519 sealing key for verification questions: beside the identity key, 0600, signed by the node
    sealing = X25519PrivateKey.from_private_bytes((node.key_dir / "sealing.key").read_bytes())
    assert (node.key_dir / "sealing.key").stat().st_mode & 0o077 == 0
    assert checked_sealing_key(info["sealing_key"], node.id, info["public_key"]) == raw_public(sealing).hex()
    forged = sealing_key_envelope(node.id, Ed25519PrivateKey.generate(), X25519PrivateKey.generate())
    with pytest.raises(ProviderAuthError):  # a sealing key the exchange signed itself is refused
        checked_sealing_key(forged, node.id, info["public_key"])
