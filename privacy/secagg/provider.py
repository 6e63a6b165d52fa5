"""Provider half of secure aggregation: checks the coordinator's requests, answers the four rounds.

See :mod:`privacy.secagg` for the protocol and :mod:`privacy.secagg.coordinator` for the other half.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from privacy.errors import PolicyRefused, ProtocolError, ProviderAuthError
from privacy.noise import skellam_shares
from privacy.plan import Plan
from privacy.secagg import shamir
from privacy.secagg.constants import ADVERTISE, CHECK_LANES, COORDINATOR, INPUT, SHARE, UNMASK
from privacy.secagg.crypto import (
    agree,
    b64d,
    b64e,
    check_fresh,
    load_public_key,
    open_sealed,
    raw_private,
    raw_public,
    seal,
    sign,
    verify,
    verify_with_digest,
)
from privacy.secagg.graph import graph_seed, min_degree, neighbours
from privacy.secagg.masks import pair_key, self_mask_key
from privacy.secagg.refusal import refusal_body
from privacy.secagg.ring import Ring

MAX_POOL = 256
MAX_SESSIONS = 64

# (plan, units) -> local integer vector; supplied by the provider's data layer.
ComputeFn = Callable[[Plan, list[int]], list[int]]
# a round's handler: signed request envelope -> signed reply envelope
Handler = Callable[[Any], dict[str, Any]]
# the node's own policy: (plan, units, variances, threshold) -> None, or raises PolicyRefused
Gate = Callable[[Plan, list[int], list[float], int], None]


def share_key(private: X25519PrivateKey, peer_public: bytes, session: str) -> bytes:
    """AES-GCM key for the share bundles two providers send each other in a session."""
    return agree(private, peer_public, f"provex-enc|{session}".encode())


def share_aad(session: str, sender: str, recipient: str) -> bytes:
    return f"provex-share|{session}|{sender}|{recipient}".encode()


def pack_shares(values: Sequence[int]) -> bytes:
    return b"".join(v.to_bytes(shamir.SHARE_BYTES, "big") for v in values)


def unpack_shares(blob: bytes, count: int) -> list[int]:
    sb = shamir.SHARE_BYTES
    if len(blob) != sb * count:
        raise ProtocolError("share bundle has the wrong size")
    return [int.from_bytes(blob[i * sb : (i + 1) * sb], "big") for i in range(count)]


@dataclass
class _Session:
    sid: str
    participants: list[str]
    identities: dict[str, Ed25519PublicKey]
    threshold: int
    pool: int
    c_key: X25519PrivateKey
    s_keys: list[X25519PrivateKey]
    b_seeds: list[bytes]
    degree: int | None = None
    graph: dict[str, frozenset[str]] = field(default_factory=dict)
    peer_c: dict[str, bytes] = field(default_factory=dict)
    peer_s: dict[str, list[bytes]] = field(default_factory=dict)
    u2: list[str] | None = None
    shares: dict[str, list[int]] = field(default_factory=dict)
    used_slots: set[int] = field(default_factory=set)
    unmasked: dict[int, list[str]] = field(default_factory=dict)
    sent_shares: bool = False
    created: float = field(default_factory=time.time)

    def index(self, node: str) -> int:
        return self.participants.index(node) + 1


class ProviderSecAgg:
    """Provider-side state machine: verifies the coordinator, answers rounds, signs replies."""

    def __init__(
        self,
        node_id: str,
        identity: Ed25519PrivateKey,
        coordinator_key: Ed25519PublicKey | None,
        compute: ComputeFn,
        require_noise: bool = False,
        gate: Gate | None = None,
        policy_hash: str | None = None,
    ) -> None:
        self.node_id = node_id
        self.gate = gate
        self.policy_hash = policy_hash
        self.identity = identity
        self.coordinator_key = coordinator_key
        self.compute = compute
        self.require_noise = require_noise
        self.sessions: dict[str, _Session] = {}
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def rounds(self) -> dict[str, Handler]:
        """Route -> handler of each round: what a provider node mounts."""
        return {
            ADVERTISE.route: self.advertise,
            SHARE.route: self.share_keys,
            INPUT.route: self.masked_input,
            UNMASK.route: self.unmask,
        }

    # -- envelope handling -------------------------------------------------------------
    def open_request(self, envelope: Any, expected_type: str) -> tuple[dict[str, Any], str]:
        """Verify coordinator signature, freshness, type and single use of the nonce; return the
        request body and its digest (what :meth:`reply` binds the answer to)."""
        if self.coordinator_key is None:
            raise ProviderAuthError("this node has no coordinator public key configured")
        body, req_digest = verify_with_digest(envelope, COORDINATOR, self.coordinator_key)
        if body.get("type") != expected_type:
            raise ProviderAuthError(f"expected a {expected_type} message")
        if body.get("to") != self.node_id:
            raise ProviderAuthError("message addressed to another node")
        check_fresh(body.get("ts"))
        nonce = body.get("nonce")
        if not isinstance(nonce, str) or not 16 <= len(nonce) <= 64:
            raise ProviderAuthError("missing nonce")
        with self._lock:
            now = time.time()
            if nonce in self._seen:
                raise ProviderAuthError("replayed message (nonce already used)")
            if len(self._seen) > 100_000:
                self._seen = {n: t for n, t in self._seen.items() if now - t < 600}
            self._seen[nonce] = now
        return body, req_digest

    def reply(self, req_digest: str, body: dict[str, Any]) -> dict[str, Any]:
        """Sign ``body`` as this node, bound (``req``) to the digest of the request it answers."""
        body = {**body, "node": self.node_id, "req": req_digest}
        if self.policy_hash is not None:  # every reply reports the policy the node runs
            body["policy"] = self.policy_hash
        return sign(body, self.node_id, self.identity)

    def _session(self, sid: Any) -> _Session:
        s = self.sessions.get(str(sid))
        if s is None:
            raise ProtocolError(f"unknown session {sid!r}")
        return s

    # -- round 0: advertise keys ---------------------------------------------------------
    def advertise(self, envelope: Any) -> dict[str, Any]:
        req, req_digest = self.open_request(envelope, ADVERTISE.request)
        participants = req.get("participants")
        identities = req.get("identities")
        t, pool = req.get("threshold"), req.get("pool")
        if not isinstance(participants, list) or self.node_id not in participants:
            raise ProtocolError("participants must list this node")
        if len(set(participants)) != len(participants) or not isinstance(identities, dict):
            raise ProtocolError("participants must be distinct with identities")
        if not isinstance(t, int) or not isinstance(pool, int):
            raise ProtocolError("threshold and pool must be integers")
        if not len(participants) // 2 < t <= len(participants):
            raise ProtocolError("threshold must be a majority of participants")
        if not 1 <= pool <= MAX_POOL:
            raise ProtocolError(f"pool must be in 1..{MAX_POOL}")
        degree = req.get("degree")
        if degree is not None and (not isinstance(degree, int) or degree < min_degree(len(participants))):
            raise ProtocolError(f"masking graph degree must be at least {min_degree(len(participants))}")
        sid = str(req.get("session"))
        with self._lock:
            if sid in self.sessions:
                raise ProtocolError("session id already used")
            if len(self.sessions) >= MAX_SESSIONS:
                oldest = min(self.sessions.values(), key=lambda s: s.created)
                del self.sessions[oldest.sid]
            session = _Session(
                sid=sid,
                participants=[str(p) for p in participants],
                identities={str(k): load_public_key(str(v)) for k, v in identities.items()},
                threshold=t,
                pool=pool,
                c_key=X25519PrivateKey.generate(),
                s_keys=[X25519PrivateKey.generate() for _ in range(pool)],
                b_seeds=[secrets.token_bytes(32) for _ in range(pool)],
                degree=degree,
            )
            self.sessions[sid] = session
        return self.reply(
            req_digest,
            {
                "type": ADVERTISE.reply,
                "session": sid,
                "c_pk": b64e(raw_public(session.c_key)),
                "s_pks": [b64e(raw_public(k)) for k in session.s_keys],
            },
        )

    # -- round 1: share keys -------------------------------------------------------------
    def share_keys(self, envelope: Any) -> dict[str, Any]:
        req, req_digest = self.open_request(envelope, SHARE.request)
        s = self._session(req.get("session"))
        adverts = req.get("adverts")
        if not isinstance(adverts, dict):
            raise ProtocolError("adverts missing")
        with self._lock:
            if s.sent_shares:
                raise ProtocolError("shares already sent for this session")
            s.sent_shares = True
        u1: list[str] = []
        c_pks: dict[str, str] = {}
        for node, env in adverts.items():
            if node not in s.identities or node not in s.participants:
                raise ProtocolError(f"advert from non-participant {node!r}")
            body = verify(env, node, s.identities[node])
            if body.get("type") != ADVERTISE.reply or body.get("session") != s.sid:
                raise ProviderAuthError(f"advert of {node!r} is for another session")
            s_pks = body.get("s_pks")
            if not isinstance(s_pks, list) or len(s_pks) != s.pool:
                raise ProtocolError(f"advert of {node!r} has the wrong pool size")
            c_pks[node] = str(body["c_pk"])
            s.peer_c[node] = b64d(c_pks[node])
            s.peer_s[node] = [b64d(str(k)) for k in s_pks]
            u1.append(node)
        if self.node_id not in u1 or len(u1) < s.threshold:
            raise ProtocolError("fewer than threshold providers advertised keys")
        s.graph = neighbours(graph_seed(s.sid, c_pks), [p for p in s.participants if p in c_pks], s.degree)
        secrets_ = [raw_private(k) for k in s.s_keys] + s.b_seeds
        table = shamir.split(secrets_, len(s.participants), s.threshold)
        cts: dict[str, str] = {}
        for v in u1:
            key = share_key(s.c_key, s.peer_c[v], s.sid)
            blob = pack_shares(table[s.index(v) - 1])
            cts[v] = b64e(seal(key, blob, share_aad(s.sid, self.node_id, v)))
        return self.reply(req_digest, {"type": SHARE.reply, "session": s.sid, "ciphertexts": cts})

    # -- round 2: masked input -----------------------------------------------------------
    def masked_input(self, envelope: Any) -> dict[str, Any]:
        req, req_digest = self.open_request(envelope, INPUT.request)
        s = self._session(req.get("session"))
        slot, u2 = req.get("slot"), req.get("u2")
        if not isinstance(slot, int) or not 0 <= slot < s.pool:
            raise ProtocolError("slot out of range")
        if not isinstance(u2, list) or self.node_id not in u2 or len(u2) < s.threshold:
            raise ProtocolError("u2 must include this node and at least threshold providers")
        if any(v not in s.peer_s for v in u2):
            raise ProtocolError("u2 contains a provider without advertised keys")
        plan, units, variances = self._query(req, envelope["plan"])
        self._enforce(req, req_digest, plan, units, variances, s.threshold)
        layout = plan.layout()
        ring = Ring(int(req["ring_bits"]), layout.length + CHECK_LANES)
        self._take_slot(s, slot, u2, req.get("shares") or {})
        values = self.compute(plan, units)
        lane_vars = layout.expand(variances)
        if max(lane_vars, default=0) > 0:
            noise_vec = skellam_shares(lane_vars, s.threshold)
            values = [a + b for a, b in zip(values, noise_vec, strict=True)]
        values = values + [0] * CHECK_LANES
        body = {
            "type": INPUT.reply,
            "session": s.sid,
            "slot": slot,
            "query_id": req.get("query_id"),
            "vector": b64e(ring.to_wire(self._mask(s, slot, ring, values))),
        }
        return self.reply(req_digest, body)

    def _query(self, req: dict[str, Any], plan_dict: Any) -> tuple[Plan, list[int], list[float]]:
        """The plan (sent beside the signed request, bound by its signed ``plan_hash``) and its
        noise parameters (per-component units and variances), checked."""
        plan = Plan.from_dict(plan_dict)
        if plan.hash() != req.get("plan_hash"):
            raise ProtocolError("plan hash mismatch")
        noise = req.get("noise") or {}
        units = [int(u) for u in noise.get("units", [])]
        variances = [float(v) for v in noise.get("variances", [])]
        comps = plan.components()
        if len(units) != len(comps) or len(variances) != len(comps) or min(units) < 1:
            raise ProtocolError("noise parameters do not match the plan")
        if self.require_noise and not all(v > 0 for v in variances):
            raise ProtocolError("this node only answers differentially private queries")
        return plan, units, variances

    def _enforce(self, req: dict[str, Any], req_digest: str, plan: Plan, units: list[int],
                 variances: list[float], threshold: int) -> None:
        """The node's own policy (``gate``); a refusal comes back signed, bound to the request."""
        if self.gate is None:
            return
        try:
            self.gate(plan, units, variances, threshold)
        except PolicyRefused as e:
            signed = self.reply(req_digest, refusal_body(e, req.get("query_id"), plan.hash()))
            raise PolicyRefused(e.rule, e.reason, self.node_id, signed) from None

    def _take_slot(self, s: _Session, slot: int, u2: list[Any], cts: dict[str, Any]) -> None:
        """Fix u2 for the session, use ``slot`` once, open the peers' share bundles sent along."""
        with self._lock:
            if s.u2 is None:
                s.u2 = [str(v) for v in u2]
            elif s.u2 != u2:
                raise ProtocolError("u2 changed within a session")
            if slot in s.used_slots:
                raise ProtocolError(f"slot {slot} already used")
            s.used_slots.add(slot)
            for sender, ct in cts.items():
                if sender in s.u2 and sender not in s.shares:
                    key = share_key(s.c_key, s.peer_c[sender], s.sid)
                    blob = open_sealed(key, b64d(ct), share_aad(s.sid, sender, self.node_id))
                    s.shares[sender] = unpack_shares(blob, 2 * s.pool)
            if any(v not in s.shares for v in s.u2):
                raise ProtocolError("missing key shares from some providers in u2")

    def _mask(self, s: _Session, slot: int, ring: Ring, values: list[int]) -> int:
        """``values`` plus this node's self mask and its pairwise masks with the rest of u2."""
        assert s.u2 is not None
        limit = ring.modulus // (2 * len(s.u2))
        if values and (max(values) >= limit or min(values) <= -limit):
            raise ProtocolError("local aggregate too large for the ring; raise ring_bits")
        y = ring.encode(values)
        y += ring.prg(self_mask_key(s.b_seeds[slot], s.sid, slot))
        me = s.index(self.node_id)
        partners = s.graph[self.node_id]
        for i, v in enumerate(s.u2):
            if v not in partners:
                continue
            mask = ring.prg(pair_key(s.s_keys[slot], s.peer_s[v][slot], s.sid, slot))
            y += mask if me < s.index(v) else ring.neg(mask)
            if i % 4096 == 4095:
                y = ring.reduce(y)
        return y

    # -- round 3: unmasking --------------------------------------------------------------
    def unmask(self, envelope: Any) -> dict[str, Any]:
        req, req_digest = self.open_request(envelope, UNMASK.request)
        s = self._session(req.get("session"))
        slot, u3 = req.get("slot"), req.get("u3")
        if s.u2 is None or not isinstance(slot, int) or slot not in s.used_slots:
            raise ProtocolError("unmask for a slot without masked input")
        if not isinstance(u3, list) or len(set(u3)) != len(u3) or not set(u3) <= set(s.u2):
            raise ProtocolError("u3 must be a subset of u2")
        if len(u3) < s.threshold:
            raise ProtocolError(f"only {len(u3)} survivors, below threshold {s.threshold}")
        with self._lock:
            prev = s.unmasked.get(slot)
            if prev is not None and sorted(prev) != sorted(u3):
                raise ProtocolError("slot already unmasked with a different survivor set")
            s.unmasked[slot] = list(u3)
        k = s.pool
        b_shares = {v: hex(s.shares[v][k + slot]) for v in u3}
        s_shares = {v: hex(s.shares[v][slot]) for v in s.u2 if v not in u3}
        return self.reply(
            req_digest,
            {
                "type": UNMASK.reply,
                "session": s.sid,
                "slot": slot,
                "b_shares": b_shares,
                "s_shares": s_shares,
            },
        )

