"""Coordinator half of secure aggregation: signs requests, runs the rounds, unmasks only the total.

The coordinator is the semi-honest server of Bonawitz et al.: it routes messages, sums masked
vectors and unmasks only their total. It signs every request (Ed25519) and checks that each reply
is signed by the provider's registered key and bound to the request it answers. How messages
travel is the caller's :data:`Transport`. See :mod:`privacy.secagg` for the protocol and
:mod:`privacy.secagg.provider` for the other half.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from privacy.errors import (
    NotEnoughProviders,
    PolicyMismatch,
    PrivacyError,
    ProtocolError,
    ProviderAuthError,
    ProviderPolicyError,
)
from privacy.secagg import shamir
from privacy.secagg.constants import ADVERTISE, COORDINATOR, INPUT, SHARE, UNMASK, Stage
from privacy.secagg.crypto import b64d, load_public_key, sign_with_digest, verify
from privacy.secagg.masks import pair_key, self_mask_key
from privacy.secagg.refusal import raise_if_refusal
from privacy.secagg.ring import Ring

RoundHook = Callable[[str], Awaitable[None] | None]
# (node id, route, signed request envelope) -> (HTTP status, JSON reply)
Transport = Callable[[str, str, dict[str, Any]], Awaitable[tuple[int, Any]]]
Replies = dict[str, dict[str, Any]]


def request(key: Ed25519PrivateKey, to: str, kind: str, **fields: Any) -> tuple[dict[str, Any], str]:
    """A coordinator request envelope, and the digest of its body that the reply must carry as ``req``."""
    body = {"type": kind, "to": to, "nonce": secrets.token_hex(16), "ts": time.time(), **fields}
    return sign_with_digest(body, COORDINATOR, key)


@dataclass
class Session:
    """Coordinator state of one key setup: who is in, their mask keys, the shares to forward."""

    sid: str
    participants: list[str]
    u2: list[str]
    s_pks: dict[str, list[bytes]]
    pending_shares: dict[str, dict[str, str]]
    pool: int
    next_slot: int = 0


@dataclass
class SecureSum:
    """The unmasked total of one slot, the providers whose input it holds, and what failed."""

    values: list[int]
    survivors: list[str]
    failures: dict[str, str]


class CoordinatorSecAgg:
    """Coordinator-side rounds over ``identities`` (node id -> Ed25519 key, in protocol order)."""

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
    ) -> None:
        self.key = key
        self.policies = policies  # node id -> registered policy hash; None: not checked
        self.identities = identities
        self.order = list(identities)
        self.pubkeys: dict[str, Ed25519PublicKey] = {n: load_public_key(k) for n, k in identities.items()}
        self.threshold = threshold
        self.transport = transport
        self.pool = pool
        self.timeout = timeout
        self.on_round = on_round
        self.session: Session | None = None

    # -- messages ----------------------------------------------------------------------
    async def _hook(self, name: str) -> None:
        if self.on_round is not None:
            res = self.on_round(name)
            if asyncio.iscoroutine(res):
                await res

    async def call(self, node: str, route: str, kind: str, **fields: Any) -> dict[str, Any]:
        """Send one signed request; return the reply body (its envelope under ``__envelope__``)."""
        env, req_digest = request(self.key, node, kind, **fields)
        status, envelope = await self.transport(node, route, env)
        raise_if_refusal(status, envelope, node, self.pubkeys[node], req_digest)
        if status != 200:
            raise ProtocolError(f"{node} answered {status}: {str(envelope)[:200]}")
        reply = verify(envelope, node, self.pubkeys[node])
        if reply.get("req") != req_digest or reply.get("node") != node:
            raise ProviderAuthError(f"reply from {node} is not bound to this request")
        if self.policies is not None and reply.get("policy") != self.policies.get(node):
            raise PolicyMismatch(node, reply.get("policy"), self.policies.get(node))
        return {**reply, "__envelope__": envelope}

    async def fanout(
        self, nodes: Sequence[str], route: str, kind: str, per_node: Callable[[str], dict[str, Any]]
    ) -> tuple[Replies, dict[str, str]]:
        """:meth:`call` every node at once; the replies, and why each other node failed."""

        async def one(node: str) -> tuple[str, dict[str, Any] | None, str]:
            try:
                reply = await asyncio.wait_for(self.call(node, route, kind, **per_node(node)), self.timeout)
                return node, reply, ""
            except ProviderPolicyError:
                raise  # a node's policy stops the whole query: never answered without that node
            except (httpx.HTTPError, OSError, TimeoutError, ValueError) as e:
                return node, None, f"{type(e).__name__}: {e}"[:300]
            except PrivacyError as e:
                return node, None, f"{e.code}: {e.detail}"[:300]

        results = await asyncio.gather(*(one(n) for n in nodes))
        ok = {n: r for n, r, _ in results if r is not None}
        failed = {n: err for n, r, err in results if r is None}
        return ok, failed

    async def _round(
        self, stage: Stage, nodes: Sequence[str], per_node: Callable[[str], dict[str, Any]],
        failures: dict[str, str],
    ) -> Replies:
        await self._hook(stage.name)
        replies, failed = await self.fanout(nodes, stage.route, stage.request, per_node)
        failures.update(failed)
        return replies

    # -- rounds 0 and 1: key setup for a pool of slots ------------------------------------
    async def setup(self, failures: dict[str, str]) -> Session:
        """Advertise and share keys among the reachable providers; a fresh session."""
        sid = uuid.uuid4().hex
        advertise = {"session": sid, "participants": self.order, "identities": self.identities,
                     "threshold": self.threshold, "pool": self.pool}
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
            cts = shares[u].get("ciphertexts") or {}
            for v in u2:
                if v not in cts:
                    raise ProtocolError(f"{u} sent no key share for {v}")
                pending[v][u] = str(cts[v])
        s_pks = {n: [b64d(str(k)) for k in adverts[n]["s_pks"]] for n in u2}
        return Session(sid, self.order, u2, s_pks, pending, self.pool)

    # -- rounds 2 and 3: one query in one slot --------------------------------------------
    async def aggregate(self, ring: Ring, query: dict[str, Any]) -> SecureSum:
        """Sum the providers' masked vectors for ``query`` (plan, noise, ids) in the next free
        slot, setting up a session first when none is left; unmask and decode the total."""
        failures: dict[str, str] = {}
        session = self.session
        if session is None or session.next_slot >= session.pool:
            self.session = None
            session = await self.setup(failures)
            self.session = session
        slot = session.next_slot
        session.next_slot += 1
        total, u3 = await self._inputs(session, slot, ring, query, failures)
        replies = await self._round(
            UNMASK, u3, lambda n: {"session": session.sid, "slot": slot, "u3": u3}, failures
        )
        if len(replies) < self.threshold:
            self.session = None
            raise NotEnoughProviders(
                f"only {len(replies)} providers answered unmasking; threshold is "
                f"{self.threshold}; the total was not revealed"
            )
        values = unmask_sum(ring, ring.reduce(total), session, slot, u3, replies, self.threshold)
        if failures or len(u3) < len(self.order):
            self.session = None  # start a fresh session among the reachable providers
        return SecureSum(values, u3, failures)

    async def _inputs(
        self, session: Session, slot: int, ring: Ring, query: dict[str, Any], failures: dict[str, str]
    ) -> tuple[int, list[str]]:
        """Round 2: the (unreduced) sum of the masked vectors received, and who sent them."""

        def fields(node: str) -> dict[str, Any]:
            return {"session": session.sid, "slot": slot, **query, "ring_bits": ring.bits,
                    "u2": session.u2, "shares": session.pending_shares.get(node, {})}

        inputs = await self._round(INPUT, session.u2, fields, failures)
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
            self.session = None
            raise NotEnoughProviders(
                f"only {len(u3)} providers sent masked input; threshold is {self.threshold}; "
                "nothing was unmasked or revealed"
            )
        return total, u3


def _reply_envelope(reply: dict[str, Any], node: str) -> dict[str, Any]:
    envelope: dict[str, Any] = reply["__envelope__"]
    if envelope.get("signer") != node:
        raise ProviderAuthError(f"advert envelope not signed by {node}")
    return envelope


def unmask_sum(
    ring: Ring, total: int, session: Session, slot: int, u3: list[str], replies: Replies, threshold: int
) -> list[int]:
    """Remove self masks of u3 and pairwise masks involving u2 minus u3; decode the sum."""
    participants = session.participants
    responders = [r for r in replies if r in participants][:threshold]
    if len(responders) < threshold:
        raise ProtocolError("not enough unmasking replies")
    xs = [participants.index(r) + 1 for r in responders]
    coeffs = shamir.lagrange_at_zero(xs)

    def reconstruct(node: str, field_name: str) -> bytes:
        try:
            ys = [int(str(replies[r][field_name][node]), 16) for r in responders]
        except (KeyError, ValueError):
            raise ProtocolError(f"missing {field_name} for {node}") from None
        return shamir.combine(xs, ys, coeffs)

    acc = total
    for v in u3:
        acc += ring.neg(ring.prg(self_mask_key(reconstruct(v, "b_shares"), session.sid, slot)))
    dropped = [u for u in session.u2 if u not in u3]
    for u in dropped:
        sk = X25519PrivateKey.from_private_bytes(reconstruct(u, "s_shares"))
        iu = participants.index(u)
        for v in u3:
            mask = ring.prg(pair_key(sk, session.s_pks[v][slot], session.sid, slot))
            # y_v holds +mask if v precedes u in the order, else -mask: cancel it.
            acc += ring.neg(mask) if participants.index(v) < iu else mask
        acc = ring.reduce(acc)
    return ring.decode(acc)
