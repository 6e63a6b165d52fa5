"""Coordinator: runs a federated query over provider nodes and decodes the noised total.

Who runs what: the provider nodes a product registered (:class:`ProviderEndpoint`), reached over
HTTP unless a transport is given; the protocol rounds are the coordinator half in
:mod:`privacy.secagg.coordinator`. The caller calibrates the noise (``calibrate(plan, dp)``, or
``no_noise(plan)`` for products without personal information) and passes that plan in, so what
it charged is exactly what the providers add.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy.calibrate import NoisePlan, raw_sensitivity
from privacy.plan import Plan
from privacy.result import DEFAULT_MIN_GROUP_SIZE, AggregateResult, decode_groups
from privacy.secagg.constants import CHECK_LANES, REFUSAL_STATUS
from privacy.secagg.coordinator import CoordinatorSecAgg, RoundHook, Transport
from privacy.secagg.crypto import public_key_hex
from privacy.secagg.graph import default_degree
from privacy.secagg.ring import Ring
from privacy.secagg.sessions import SessionCache

KEEPALIVE_EXPIRY_S = 1.0


@dataclass(frozen=True)
class ProviderEndpoint:
    """A provider node: id, base URL, registered Ed25519 public key (hex) and registered policy hash."""

    id: str
    url: str
    public_key_hex: str
    policy_hash: str | None = None


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
        sessions: SessionCache | None = None,
        degree: int | Literal["auto"] | None = "auto",
    ) -> None:
        """``sessions``: a cache shared by coordinators (the API's process-wide one) so that key
        setup is reused across queries; without one, this coordinator keeps its own sessions of
        ``pool`` slots. ``degree``: the masking graph's degree, None for the complete graph; by
        default sparse from 50 providers (``secagg.graph``)."""
        ids = [p.id for p in providers]
        if len(set(ids)) != len(ids) or not ids:
            raise ValueError("providers must be non-empty with distinct ids")
        if not len(ids) // 2 < threshold <= len(ids):
            raise ValueError("threshold must be a majority of the providers and at most n")
        self.providers = {p.id: p for p in providers}
        self.order = ids
        self.threshold = threshold
        self.timeout = timeout
        self.max_rows = max_rows_per_provider
        self.min_group_size = min_group_size
        degree = default_degree(len(ids)) if degree == "auto" else degree
        cache_key = (public_key_hex(signing_key), tuple((p.id, p.url, p.public_key_hex) for p in providers),
                     threshold, degree)
        self.secagg = CoordinatorSecAgg(
            signing_key, {p.id: p.public_key_hex for p in providers}, threshold,
            transport or self._post, pool=pool, timeout=timeout, on_round=on_round,
            policies={p.id: p.policy_hash for p in providers},
            sessions=sessions, cache_key=cache_key, degree=degree,
        )
        self._client: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()

    # -- HTTP transport ----------------------------------------------------------------
    async def _post(self, node: str, route: str, envelope: dict[str, Any]) -> tuple[int, Any]:
        if self._client is None:
            # Idle connections are dropped well before a node's keep-alive (uvicorn: 5 s) ends, so a
            # request never goes out on a connection the node is closing (a round waiting for its
            # slowest node leaves the others' connections idle for that long).
            limits = httpx.Limits(max_connections=256, max_keepalive_connections=256,
                                  keepalive_expiry=KEEPALIVE_EXPIRY_S)
            self._client = httpx.AsyncClient(timeout=self.timeout, limits=limits)
        resp = await self._client.post(self.providers[node].url.rstrip("/") + route, json=envelope)
        signed = resp.status_code in (200, REFUSAL_STATUS)  # a refusal is a signed reply too
        return resp.status_code, resp.json() if signed else resp.text

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

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
        noise: NoisePlan,
        *,
        min_group_size: int | None = None,
        query_id: str | None = None,
        require_all: bool | None = None,
    ) -> AggregateResult:
        """Run ``plan`` with secure aggregation, the providers adding ``noise`` (calibrated by the
        caller for this plan; ``no_noise(plan)`` means exact answers, released only when every
        provider takes part: otherwise :class:`NotEnoughProviders` before anything is unmasked).
        ``require_all`` overrides that default (False: exact sums despite dropouts, as protocol
        tests check them)."""
        every = not noise.enabled if require_all is None else require_all
        async with self._lock:
            return await self._run(plan, noise, min_group_size, query_id or uuid.uuid4().hex, every)

    async def _run(
        self, plan: Plan, noise: NoisePlan, min_group: int | None, qid: str, require_all: bool
    ) -> AggregateResult:
        ring = Ring(self.ring_bits(plan, noise), plan.vector_length() + CHECK_LANES)
        plan_hash = plan.hash()
        query = {"query_id": qid, "plan_hash": plan_hash, "noise": noise.to_dict()}
        total = await self.secagg.aggregate(ring, query, plan.to_dict(), require_all=require_all)
        mg = self.min_group_size if min_group is None else min_group
        return AggregateResult(
            query_id=qid,
            plan_hash=plan_hash,
            groups=decode_groups(plan, noise, total.values, mg,
                                 variance_factor=len(total.survivors) / self.threshold),
            participants=total.survivors,
            dropped=[n for n in self.order if n not in total.survivors],
            epsilon=noise.epsilon,
            delta=noise.delta,
            rho=noise.rho,
            noised=noise.enabled,
            failures=total.failures,
        )

    def run_sync(self, plan: Plan, noise: NoisePlan, **kw: Any) -> AggregateResult:
        """Blocking wrapper around :meth:`run` (own event loop)."""

        async def go() -> AggregateResult:
            try:
                return await self.run(plan, noise, **kw)
            finally:
                await self.aclose()

        return asyncio.run(go())
