"""Every protocol message of the provider node under hypothesis, over real HTTP: validly signed
envelopes with arbitrary fields, and arbitrary unsigned JSON. Always a clear 4xx, never a 5xx or hang."""

from __future__ import annotations

from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacy.secagg.coordinator import request
from tests.privacy.cluster import Cluster

ROUTES = {"/secagg/advertise": "advertise_req", "/secagg/share": "share_req",
          "/secagg/input": "input_req", "/secagg/unmask": "unmask_req"}
FIELDS = ["session", "participants", "identities", "threshold", "pool", "adverts", "plan", "plan_hash",
          "ring_bits", "noise", "u2", "u3", "shares", "slot", "query_id"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
fields = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6)
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


def _assert_clear_refusal(r: httpx.Response) -> None:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    body: dict[str, Any] = r.json()
    assert set(body) >= {"error", "detail"} and body["detail"]


@FUZZ
@given(route=st.sampled_from(sorted(ROUTES)), extra=fields)
def test_signed_messages_with_arbitrary_fields(cluster: Cluster, coord_key: Ed25519PrivateKey, route: str,
                                               extra: dict[str, Any]) -> None:
    node = cluster.nodes[0]
    env, _ = request(coord_key, node.id, ROUTES[route], **extra)
    with httpx.Client(timeout=10) as c:
        _assert_clear_refusal(c.post(node.url + route, json=env))


@FUZZ
@given(route=st.sampled_from(sorted(ROUTES)), body=json_values)
def test_arbitrary_json_bodies(cluster: Cluster, route: str, body: Any) -> None:
    with httpx.Client(timeout=10) as c:
        _assert_clear_refusal(c.post(cluster.nodes[1].url + route, json=body))


@FUZZ
@given(route=st.sampled_from(sorted(ROUTES)), raw=st.binary(max_size=200))
def test_arbitrary_bytes(cluster: Cluster, route: str, raw: bytes) -> None:
    with httpx.Client(timeout=10) as c:
        _assert_clear_refusal(c.post(cluster.nodes[2].url + route, content=raw,
                                     headers={"content-type": "application/json"}))


def test_refused_messages_are_logged_as_security_events(cluster: Cluster) -> None:
    node = cluster.nodes[3] if len(cluster.nodes) > 3 else cluster.nodes[0]
    log = node.key_dir / "security.log"
    before = log.read_text().count("\n") if log.exists() else 0
    impostor = Ed25519PrivateKey.generate()  # someone posing as the coordinator
    env, _ = request(impostor, node.id, "advertise_req", session="impostor", participants=[node.id],
                     identities={}, threshold=1, pool=1)
    with httpx.Client(timeout=10) as c:
        assert c.post(node.url + "/secagg/advertise", json=env).status_code == 401
    lines = log.read_text().splitlines()
    assert len(lines) == before + 1
    assert '"kind": "provider_auth_failed"' in lines[-1] and "bad signature" in lines[-1]
