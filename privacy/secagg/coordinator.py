"""Coordinator half of secure aggregation: signs requests, runs the rounds, unmasks only the total.

The coordinator is the semi-honest server of Bonawitz et al.: it routes messages, sums masked
vectors and unmasks only their total. It signs every request (Ed25519) and checks that each reply
is signed by the provider's registered key and bound to the request it answers. How messages
travel is the caller's :data:`Transport`. See :mod:`privacy.secagg` for the protocol and
:mod:`privacy.secagg.provider` for the other half.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from privacy.errors import (
    NotEnoughProviders,
    PolicyMismatch,
    PrivacyError,
    ProtocolError,
    ProviderAuthError,
    ProviderPolicyError,
    ProviderRefused,
)
from privacy.secagg.constants import ADVERTISE, COORDINATOR, INPUT, SHARE, UNMASK, Stage
from privacy.secagg.crypto import b64d, load_public_key, sign_with_digest, verify
from privacy.secagg.graph import graph_seed, neighbours
from privacy.secagg.refusal import raise_if_refusal
from privacy.secagg.ring import Ring
from privacy.secagg.sessions import Session, SessionCache
from privacy.secagg.unmask import unmask_checked

RoundHook = Callable[[str], Awaitable[None] | None]
# (node id, route, signed request envelope) -> (HTTP status, JSON reply)
Transport = Callable[[str, str, dict[str, Any]], Awaitable[tuple[int, Any]]]
Replies = dict[str, dict[str, Any]]
# what can go wrong on the way to a node without the node having answered: a dropout
UNREACHABLE = (httpx.TransportError, OSError, TimeoutError)


def request(key: Ed25519PrivateKey, to: str, kind: str, **fields: Any) -> tuple[dict[str, Any], str]:
    """A coordinator request envelope, and the digest of its body that the reply must carry as ``req``."""
    body = {"type": kind, "to": to, "nonce": secrets.token_hex(16), "ts": time.time(), **fields}
    return sign_with_digest(body, COORDINATOR, key)


@dataclass
class SecureSum:
    """The unmasked total of one slot, the providers whose input it holds, and who was left out:
    ``failures`` (node -> why: unreachable, or shares excluded by the checks)."""

    values: list[int]
    survivors: list[str]
    failures: dict[str, str]


class _StaleSession(Exception):
    """A reused session was refused at the input round (e.g. a node restarted): set up afresh."""


class CoordinatorSecAgg:
    """Coordinator-side rounds over ``identities`` (node id -> Ed25519 key, in protocol order).

    Sessions come from ``sessions`` under ``cache_key`` (a private cache when none is given);
    ``degree`` is the masking graph's degree (None: complete graph)."""

    def __init__(
        self,
        key: Ed25519PrivateKey,
        identities: dict[str, str],
        threshold: int,
        transport: Transport,
        pool: int = 8,
        timeout: float = 10.0,
        on_round: RoundHook | None = None,
        policies: dict[str, str | None] | None = None,
        sessions: SessionCache | None = None,
        cache_key: Hashable = None,
        degree: int | None = None,
    ) -> None:
        self.key = key
        self.policies = policies  # node id -> registered policy hash; None: not checked
        self.identities = identities
        self.order = list(identities)
        self.pubkeys: dict[str, Ed25519PublicKey] = {n: load_public_key(k) for n, k in identities.items()}
        self.threshold = threshold
        self.transport = transport
        self.timeout = timeout
        self.on_round = on_round
        self.sessions = sessions if sessions is not None else SessionCache(math.inf, pool)
        self.pool = self.sessions.max_queries
        self.cache_key = cache_key if cache_key is not None else (tuple(identities.items()), threshold, degree)
        self.degree = degree
        self.session: Session | None = None  # the last session used (for inspection)

    # -- messages ----------------------------------------------------------------------
    async def _hook(self, name: str) -> None:
        if self.on_round is not None:
            res = self.on_round(name)
            if asyncio.iscoroutine(res):
                await res

    async def call(
        self, node: str, route: str, kind: str, attach: dict[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Send one signed request (with ``attach`` beside the signed body: content the body binds
        by hash); return the reply body (its envelope under ``__envelope__``)."""
        env, req_digest = request(self.key, node, kind, **fields)
        if attach:
            env = {**env, **attach}
        status, envelope = await self.transport(node, route, env)
        raise_if_refusal(status, envelope, node, self.pubkeys[node], req_digest)
        if status != 200:
            raise ProtocolError(f"answered {status}: {_reason(envelope)}")
        reply = verify(envelope, node, self.pubkeys[node])
        if reply.get("req") != req_digest or reply.get("node") != node:
            raise ProviderAuthError(f"reply from {node} is not bound to this request")
        if self.policies is not None and reply.get("policy") != self.policies.get(node):
            raise PolicyMismatch(node, reply.get("policy"), self.policies.get(node))
        return {**reply, "__envelope__": envelope}

    async def fanout(
        self, nodes: Sequence[str], route: str, kind: str, per_node: Callable[[str], dict[str, Any]],
        attach: dict[str, Any] | None = None,
    ) -> tuple[Replies, dict[str, str], dict[str, str]]:
        """:meth:`call` every node at once: the replies, the nodes that could not be reached
        (dropouts) and the nodes that answered with an error or a bad reply (refusals), with why."""

        async def one(node: str) -> tuple[str, dict[str, Any] | None, str, bool]:
            try:
                call = self.call(node, route, kind, attach, **per_node(node))
                reply = await asyncio.wait_for(call, self.timeout)
                return node, reply, "", False
            except UNREACHABLE as e:
                return node, None, f"unreachable: {type(e).__name__}: {e}"[:300], False
            except ProviderPolicyError:
                raise  # a node's policy stops the whole query: never answered without that node
            except ValueError as e:
                return node, None, f"malformed reply: {e}"[:300], True
            except PrivacyError as e:
                return node, None, f"{e.code}: {e.detail}"[:300], True

        results = await asyncio.gather(*(one(n) for n in nodes))
        ok = {n: r for n, r, _, _ in results if r is not None}
        dropped = {n: err for n, r, err, refused in results if r is None and not refused}
        refused = {n: err for n, r, err, is_refusal in results if r is None and is_refusal}
        return ok, dropped, refused

    async def _round(
        self, stage: Stage, nodes: Sequence[str], per_node: Callable[[str], dict[str, Any]],
        failures: dict[str, str], attach: dict[str, Any] | None = None,
    ) -> Replies:
        """One round; unreachable nodes are recorded in ``failures``, a refusal refuses the query."""
        await self._hook(stage.name)
        replies, dropped, refused = await self.fanout(nodes, stage.route, stage.request, per_node, attach)
        if refused:
            raise ProviderRefused({n: f"{stage.name} round: {why}" for n, why in refused.items()})
        failures.update(dropped)
        return replies

    # -- rounds 0 and 1: key setup for a pool of slots ------------------------------------
    async def setup(self, failures: dict[str, str]) -> Session:
        """Advertise and share keys among the reachable providers; a fresh session."""
        sid = uuid.uuid4().hex
        advertise = {"session": sid, "participants": self.order, "identities": self.identities,
                     "threshold": self.threshold, "pool": self.pool, "degree": self.degree}
        adverts = await self._round(ADVERTISE, self.order, lambda n: advertise, failures)
        u1 = [n for n in self.order if n in adverts]
        if len(u1) < self.threshold:
            raise NotEnoughProviders(
                f"only {len(u1)} of {len(self.order)} providers reachable at key setup; "
                f"threshold is {self.threshold}; nothing was revealed"
            )
        envs = {n: _reply_envelope(adverts[n], n) for n in u1}
        shares = await self._round(SHARE, u1, lambda n: {"session": sid, "adverts": envs}, failures)
        u2 = [n for n in u1 if n in shares]
        if len(u2) < self.threshold:
            raise NotEnoughProviders(
                f"only {len(u2)} providers completed key sharing; threshold is "
                f"{self.threshold}; nothing was revealed"
            )
        pending: dict[str, dict[str, str]] = {v: {} for v in u2}
        for u in u2:
            cts = shares[u].get("ciphertexts")
            for v in u2:
                if not isinstance(cts, dict) or v not in cts:
                    raise ProviderRefused({u: f"share round: sent no key share for {v}"})
                pending[v][u] = str(cts[v])
        s_pks: dict[str, list[bytes]] = {}
        for n in u1:
            try:
                s_pks[n] = [b64d(str(k)) for k in adverts[n]["s_pks"]][: self.pool]
                if len(s_pks[n]) != self.pool or not isinstance(adverts[n]["c_pk"], str):
                    raise ValueError("wrong number of masking keys")
            except (KeyError, TypeError, ValueError) as e:
                raise ProviderRefused({n: f"advertise round: malformed advert: {e}"[:300]}) from None
        seed = graph_seed(sid, {n: str(adverts[n]["c_pk"]) for n in u1})
        graph = neighbours(seed, u1, self.degree)
        self.sessions.created()
        return Session(sid, self.order, u2, {n: s_pks[n] for n in u2}, pending, self.pool, graph)

    # -- rounds 2 and 3: one query in one slot --------------------------------------------
    async def aggregate(
        self, ring: Ring, query: dict[str, Any], plan: dict[str, Any], require_all: bool = False
    ) -> SecureSum:
        """Sum the providers' masked vectors for ``query`` (plan hash, noise, ids) in a free slot
        of a cached session (set up when none is idle); unmask, check and decode the total.

        ``plan`` travels beside the signed request (bound by its signed ``plan_hash``), so the
        coordinator encodes it once, not once per node. ``ring`` includes the check lanes.
        ``require_all``: refuse, before anything is unmasked, unless every provider sent its
        input (exact answers)."""
        session = self.sessions.checkout(self.cache_key)
        if session is not None:
            try:
                return await self._in_session(session, ring, {**query, "plan": plan}, require_all, {})
            except _StaleSession:
                pass
        failures: dict[str, str] = {}
        session = await self.setup(failures)
        return await self._in_session(session, ring, {**query, "plan": plan}, require_all, failures)

    async def _in_session(
        self, session: Session, ring: Ring, query: dict[str, Any], require_all: bool, failures: dict[str, str]
    ) -> SecureSum:
        """Rounds 2 and 3 in the session's next slot; the session goes back to the cache only
        when everyone took part and nothing failed."""
        self.session = session
        slot = session.next_slot
        session.next_slot += 1
        total, u3 = await self._inputs(session, slot, ring, query, failures)
        if require_all and len(u3) < len(self.order):
            raise NotEnoughProviders(
                f"exact answers need every provider; {len(u3)} of {len(self.order)} sent input; "
                "nothing was unmasked or revealed"
            )
        replies = await self._round(
            UNMASK, u3, lambda n: {"session": session.sid, "slot": slot, "u3": u3}, failures
        )
        if len(replies) < self.threshold:
            raise NotEnoughProviders(
                f"only {len(replies)} providers answered unmasking; threshold is "
                f"{self.threshold}; the total was not revealed"
            )
        out = unmask_checked(ring, ring.reduce(total), session, slot, u3, replies, self.threshold)
        failures.update(out.excluded)
        if not failures and len(u3) == len(self.order):
            self.sessions.checkin(self.cache_key, session)
        return SecureSum(out.values, u3, failures)

    async def _inputs(
        self, session: Session, slot: int, ring: Ring, query: dict[str, Any], failures: dict[str, str]
    ) -> tuple[int, list[str]]:
        """Round 2: the (unreduced) sum of the masked vectors received, and who sent them."""

        signed = {k: v for k, v in query.items() if k != "plan"}

        def fields(node: str) -> dict[str, Any]:
            return {"session": session.sid, "slot": slot, **signed, "ring_bits": ring.bits,
                    "u2": session.u2, "shares": session.pending_shares.get(node, {})}

        try:
            inputs = await self._round(INPUT, session.u2, fields, failures, {"plan": query["plan"]})
        except ProviderRefused as e:
            if session.next_slot > 1:  # a reused session: a node may have restarted and lost it
                raise _StaleSession() from e
            raise
        total = 0
        u3: list[str] = []
        bad: dict[str, str] = {}
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
                bad[node] = f"input round: bad masked input: {e}"
                continue
            u3.append(node)
        if bad:
            raise ProviderRefused(bad)
        if len(u3) < self.threshold:
            raise NotEnoughProviders(
                f"only {len(u3)} providers sent masked input; threshold is {self.threshold}; "
                "nothing was unmasked or revealed"
            )
        return total, u3


def _reason(body: Any) -> str:
    """What a node's error answer says: its ``error: detail`` when it is the usual JSON body."""
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return body[:200]
    if isinstance(body, dict) and "detail" in body:
        return f"{body.get('error', 'error')}: {str(body['detail'])[:200]}"
    return str(body)[:200]


def _reply_envelope(reply: dict[str, Any], node: str) -> dict[str, Any]:
    envelope: dict[str, Any] = reply["__envelope__"]
    if envelope.get("signer") != node:
        raise ProviderAuthError(f"advert envelope not signed by {node}")
    return envelope
