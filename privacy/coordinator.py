"""Coordinator: drives secure-aggregation rounds over HTTP and decodes the noised total.

The coordinator is the semi-honest server of Bonawitz et al.: it routes messages, sums masked
vectors and unmasks only the total. It signs every request (Ed25519) and checks that each
reply is signed by the provider's registered key and bound to the request it answers.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy.calibrate import DPParams, NoisePlan, calibrate, raw_sensitivity
from privacy.canonical import sha256_hex
from privacy.errors import NotEnoughProviders, PrivacyError, ProtocolError, ProviderAuthError
from privacy.query import Plan
from privacy.secagg.crypto import b64d, load_public_key, verify
from privacy.secagg.protocol import request, unmask_sum
from privacy.secagg.ring import Ring

DEFAULT_MIN_GROUP_SIZE = 10
RoundHook = Callable[[str], Awaitable[None] | None]
# (node id, path, signed request envelope) -> (HTTP status, JSON reply)
Transport = Callable[[str, str, dict[str, Any]], Awaitable[tuple[int, Any]]]


@dataclass(frozen=True)
class ProviderEndpoint:
    """A provider node: id, base URL and registered Ed25519 public key (hex)."""

    id: str
    url: str
    public_key_hex: str


@dataclass
class GroupResult:
    key: dict[str, str | int]
    values: dict[str, Any]
    count: int
    suppressed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.key,
            "values": self.values,
            "count": None if self.suppressed else self.count,
            "suppressed": self.suppressed,
        }


@dataclass
class AggregateResult:
    """Decoded (noised) aggregates per group plus who took part and what was charged."""

    query_id: str
    plan_hash: str
    groups: list[GroupResult]
    participants: list[str]
    dropped: list[str]
    epsilon: float
    delta: float
    rho: float
    noised: bool
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def suppressed_groups(self) -> list[dict[str, str | int]]:
        return [g.key for g in self.groups if g.suppressed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "query_id": self.query_id,
            "plan_hash": self.plan_hash,
            "groups": [g.to_dict() for g in self.groups],
            "participants": self.participants,
            "dropped": self.dropped,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho": self.rho,
            "noised": self.noised,
        }


@dataclass
class _Session:
    sid: str
    participants: list[str]
    u2: list[str]
    s_pks: dict[str, list[bytes]]
    pending_shares: dict[str, dict[str, str]]
    pool: int
    next_slot: int = 0


class Coordinator:
    """Runs federated aggregate queries over provider nodes with secure aggregation."""

    def __init__(
        self,
        signing_key: Ed25519PrivateKey,
        providers: Sequence[ProviderEndpoint],
        threshold: int,
        timeout: float = 10.0,
        pool: int = 8,
        max_rows_per_provider: int = 1 << 32,
        min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
        on_round: RoundHook | None = None,
        transport: Transport | None = None,
    ) -> None:
        ids = [p.id for p in providers]
        if len(set(ids)) != len(ids) or not ids:
            raise ValueError("providers must be non-empty with distinct ids")
        if not len(ids) // 2 < threshold <= len(ids):
            raise ValueError("threshold must be a majority of the providers and at most n")
        self.key = signing_key
        self.providers = {p.id: p for p in providers}
        self.order = ids
        self.pubkeys = {p.id: load_public_key(p.public_key_hex) for p in providers}
        self.threshold = threshold
        self.timeout = timeout
        self.pool = pool
        self.max_rows = max_rows_per_provider
        self.min_group_size = min_group_size
        self.on_round = on_round
        self.transport = transport
        self._session: _Session | None = None
        self._client: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()

    # -- transport ---------------------------------------------------------------------
    async def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
            self._client = httpx.AsyncClient(timeout=self.timeout, limits=limits)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _hook(self, name: str) -> None:
        if self.on_round is not None:
            res = self.on_round(name)
            if asyncio.iscoroutine(res):
                await res

    async def _call(self, node: str, path: str, kind: str, **fields: Any) -> dict[str, Any]:
        env, body = request(self.key, node, kind, **fields)
        if self.transport is not None:
            status, envelope = await self.transport(node, path, env)
        else:
            client = await self._http()
            resp = await client.post(self.providers[node].url.rstrip("/") + path, json=env)
            status = resp.status_code
            envelope = resp.json() if status == 200 else resp.text
        if status != 200:
            raise ProtocolError(f"{node} answered {status}: {str(envelope)[:200]}")
        reply = verify(envelope, node, self.pubkeys[node])
        if reply.get("req") != sha256_hex(body) or reply.get("node") != node:
            raise ProviderAuthError(f"reply from {node} is not bound to this request")
        return {**reply, "__envelope__": envelope}

    async def _fanout(
        self, nodes: Sequence[str], path: str, kind: str, per_node: Callable[[str], dict[str, Any]]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        async def one(node: str) -> tuple[str, dict[str, Any] | None, str]:
            try:
                reply = await asyncio.wait_for(
                    self._call(node, path, kind, **per_node(node)), self.timeout
                )
                return node, reply, ""
            except (httpx.HTTPError, OSError, TimeoutError, ValueError) as e:
                return node, None, f"{type(e).__name__}: {e}"[:300]
            except PrivacyError as e:
                return node, None, f"{e.code}: {e.detail}"[:300]

        results = await asyncio.gather(*(one(n) for n in nodes))
        ok = {n: r for n, r, _ in results if r is not None}
        failed = {n: err for n, r, err in results if r is None}
        return ok, failed

    # -- session setup (rounds 0 and 1, batched for `pool` queries) --------------------
    async def _setup(self, failures: dict[str, str]) -> _Session:
        sid = uuid.uuid4().hex
        identities = {p.id: p.public_key_hex for p in self.providers.values()}
        await self._hook("advertise")
        adverts, failed = await self._fanout(
            self.order,
            "/secagg/advertise",
            "advertise_req",
            lambda n: {
                "session": sid,
                "participants": self.order,
                "identities": identities,
                "threshold": self.threshold,
                "pool": self.pool,
            },
        )
        failures.update(failed)
        u1 = [n for n in self.order if n in adverts]
        if len(u1) < self.threshold:
            raise NotEnoughProviders(
                f"only {len(u1)} of {len(self.order)} providers reachable at key setup; "
                f"threshold is {self.threshold}; nothing was revealed"
            )
        envs = {n: _reply_envelope(adverts[n], n) for n in u1}
        await self._hook("share")
        shares, failed = await self._fanout(
            u1, "/secagg/share", "share_req", lambda n: {"session": sid, "adverts": envs}
        )
        failures.update(failed)
        u2 = [n for n in u1 if n in shares]
        if len(u2) < self.threshold:
            raise NotEnoughProviders(
                f"only {len(u2)} providers completed key sharing; threshold is "
                f"{self.threshold}; nothing was revealed"
            )
        pending: dict[str, dict[str, str]] = {v: {} for v in u2}
        for u in u2:
            cts = shares[u].get("ciphertexts") or {}
            for v in u2:
                if v not in cts:
                    raise ProtocolError(f"{u} sent no key share for {v}")
                pending[v][u] = str(cts[v])
        s_pks = {n: [b64d(str(k)) for k in adverts[n]["s_pks"]] for n in u2}
        return _Session(sid, self.order, u2, s_pks, pending, self.pool)

    # -- one query ---------------------------------------------------------------------
    def ring_bits(self, plan: Plan, noise: NoisePlan) -> int:
        """Ring size so that no sum of clipped values plus noise can wrap."""
        per_row = max(
            math.ceil(raw_sensitivity(plan, c) / u)
            for c, u in zip(plan.components(), noise.units, strict=True)
        )
        n = len(self.order)
        bound = n * self.max_rows * per_row
        var = max(noise.variances) * n / self.threshold
        bound += int(200 * math.sqrt(var)) + 200 if var > 0 else 0
        bits = bound.bit_length() + 2 + max(1, n.bit_length())
        return max(32, -(-bits // 8) * 8)

    async def run(
        self,
        plan: Plan,
        dp: DPParams | None = None,
        *,
        min_group_size: int | None = None,
        query_id: str | None = None,
    ) -> AggregateResult:
        """Run ``plan`` with secure aggregation; ``dp=None`` means no noise (non-personal)."""
        async with self._lock:
            return await self._run(plan, dp, min_group_size, query_id or uuid.uuid4().hex)

    async def _run(
        self, plan: Plan, dp: DPParams | None, min_group: int | None, qid: str
    ) -> AggregateResult:
        noise = calibrate(plan, dp)
        ring = Ring(self.ring_bits(plan, noise), plan.vector_length())
        failures: dict[str, str] = {}
        session = self._session
        if session is None or session.next_slot >= session.pool:
            self._session = None
            session = await self._setup(failures)
            self._session = session
        slot = session.next_slot
        session.next_slot += 1
        plan_dict, plan_hash = plan.to_dict(), plan.hash()

        def input_fields(node: str) -> dict[str, Any]:
            return {
                "session": session.sid,
                "slot": slot,
                "query_id": qid,
                "plan": plan_dict,
                "plan_hash": plan_hash,
                "ring_bits": ring.bits,
                "noise": noise.to_dict(),
                "u2": session.u2,
                "shares": session.pending_shares.get(node, {}),
            }

        await self._hook("input")
        inputs, failed = await self._fanout(session.u2, "/secagg/input", "input_req", input_fields)
        failures.update(failed)
        total = 0
        u3: list[str] = []
        for node in session.u2:
            reply = inputs.get(node)
            if reply is None:
                continue
            session.pending_shares.pop(node, None)
            try:
                if reply.get("slot") != slot or reply.get("session") != session.sid:
                    raise ProtocolError("masked input for another slot")
                total += ring.from_wire(b64d(str(reply["vector"])))
            except (ValueError, KeyError, ProtocolError) as e:
                failures[node] = f"bad masked input: {e}"
                continue
            u3.append(node)
        if len(u3) < self.threshold:
            self._session = None
            raise NotEnoughProviders(
                f"only {len(u3)} providers sent masked input; threshold is {self.threshold}; "
                "nothing was unmasked or revealed"
            )
        await self._hook("unmask")
        replies, failed = await self._fanout(
            u3,
            "/secagg/unmask",
            "unmask_req",
            lambda n: {"session": session.sid, "slot": slot, "u3": u3},
        )
        failures.update(failed)
        if len(replies) < self.threshold:
            self._session = None
            raise NotEnoughProviders(
                f"only {len(replies)} providers answered unmasking; threshold is "
                f"{self.threshold}; the total was not revealed"
            )
        values = unmask_sum(
            ring,
            ring.reduce(total),
            session.sid,
            slot,
            session.participants,
            session.u2,
            u3,
            session.s_pks,
            replies,
            self.threshold,
        )
        dropped = [n for n in self.order if n not in u3]
        if dropped or failures:
            self._session = None  # start a fresh session among the reachable providers
        mg = self.min_group_size if min_group is None else min_group
        return AggregateResult(
            query_id=qid,
            plan_hash=plan_hash,
            groups=decode_groups(plan, noise, values, mg),
            participants=u3,
            dropped=dropped,
            epsilon=noise.epsilon,
            delta=noise.delta,
            rho=noise.rho,
            noised=noise.enabled,
            failures=failures,
        )

    def run_sync(self, plan: Plan, dp: DPParams | None = None, **kw: Any) -> AggregateResult:
        """Blocking wrapper around :meth:`run` (own event loop)."""

        async def go() -> AggregateResult:
            try:
                return await self.run(plan, dp, **kw)
            finally:
                await self.aclose()

        return asyncio.run(go())

    async def run_plain(self, plan: Plan) -> list[int]:
        """BENCHMARK ONLY: one-round unmasked sum; nodes refuse it unless started with
        ``--bench-plain``. Never used for real queries."""
        noise = calibrate(plan, None)
        replies, failed = await self._fanout(
            self.order,
            "/bench/plain",
            "plain_req",
            lambda n: {"plan": plan.to_dict(), "plan_hash": plan.hash(), "noise": noise.to_dict()},
        )
        if failed:
            raise ProtocolError(f"plain mode failed: {failed}")
        total = [0] * plan.vector_length()
        for reply in replies.values():
            total = [a + int(b) for a, b in zip(total, reply["vector"], strict=True)]
        return total


def _reply_envelope(reply: dict[str, Any], node: str) -> dict[str, Any]:
    envelope: dict[str, Any] = reply["__envelope__"]
    if envelope.get("signer") != node:
        raise ProviderAuthError(f"advert envelope not signed by {node}")
    return envelope


def decode_groups(
    plan: Plan, noise: NoisePlan, values: list[int], min_group_size: int
) -> list[GroupResult]:
    """Turn the summed vector into per-group aggregates; suppress small noised groups."""
    comps = plan.components()
    offsets: dict[Any, tuple[int, int]] = {}
    lanes = 0
    for comp, unit in zip(comps, noise.units, strict=True):
        offsets[(comp.stat, comp.column, comp.lo, comp.hi, comp.bins)] = (lanes, unit)
        lanes += comp.lanes
    out: list[GroupResult] = []
    for gi, key in enumerate(plan.groups()):
        base = gi * lanes

        def lane(stat: str, col: str | None, base: int = base) -> Fraction:
            off, unit = offsets[(stat, col, None, None, None)]
            scale = plan.column(col).scale if col and stat in ("sum", "sumsq") else 1
            denom = scale * scale if stat == "sumsq" else scale
            return Fraction(values[base + off] * unit, denom)

        count = int(lane("count_star", None))
        suppressed = count < min_group_size
        result: dict[str, Any] = {}
        for agg in plan.aggregates:
            if suppressed:
                result[agg.alias] = None
                continue
            if agg.kind == "count":
                result[agg.alias] = int(lane("count_star" if agg.column is None else "count",
                                             agg.column))
            elif agg.kind == "sum":
                s = lane("sum", agg.column)
                result[agg.alias] = int(s) if s.denominator == 1 else float(s)
            elif agg.kind == "avg":
                n = lane("count", agg.column)
                result[agg.alias] = float(lane("sum", agg.column) / n) if n > 0 else None
            elif agg.kind in ("var", "stddev"):
                n = lane("count", agg.column)
                if n <= 1:
                    result[agg.alias] = None
                    continue
                s, ss = lane("sum", agg.column), lane("sumsq", agg.column)
                var = max(Fraction(0), (ss - s * s / n) / (n - 1))
                result[agg.alias] = float(var) if agg.kind == "var" else math.sqrt(var)
            elif agg.kind == "histogram":
                off, _ = offsets[("hist", agg.column, agg.lo, agg.hi, agg.bins)]
                result[agg.alias] = values[base + off : base + off + int(agg.bins or 0)]
        out.append(
            GroupResult(dict(zip(plan.group_by, key, strict=True)), result, count, suppressed)
        )
    return out


def new_coordinator_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


__all__ = [
    "AggregateResult",
    "Coordinator",
    "DPParams",
    "GroupResult",
    "NotEnoughProviders",
    "ProviderAuthError",
    "ProviderEndpoint",
    "decode_groups",
    "new_coordinator_key",
]
