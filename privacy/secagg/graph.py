"""Who masks with whom: the complete graph, or (from 50 providers) a sparse random graph as in SecAgg+.

Bell et al. 2020 (SecAgg+): each provider adds pairwise masks only with its neighbours on a random
graph of degree k = O(log n), so masking costs O(n·k·d) instead of O(n²·d). Both halves derive the
same graph from a seed neither can choose alone: the session id (the coordinator's) hashed with every
advertised key (fresh, each provider's own). Each provider u picks ``degree`` distinct others with a
PRG keyed by (seed, u); an edge exists when either end picked the other, so every degree is >= k.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Mapping, Sequence

SPARSE_FROM = 50
"""From this many providers the coordinator masks on a sparse graph."""


def min_degree(n: int) -> int:
    """The smallest degree a provider accepts for n participants, 3·ceil(log2 n): with a majority
    of honest survivors their part of the graph is then connected except with probability < 1e-8
    from n = 50 (privacy/README.md gives the bound)."""
    return min(n - 1, 3 * math.ceil(math.log2(max(n, 2))))


def default_degree(n: int) -> int | None:
    """The degree the coordinator asks for: None (complete graph) below :data:`SPARSE_FROM`."""
    return None if n < SPARSE_FROM else min_degree(n)


def graph_seed(session: str, adverts: Mapping[str, str]) -> bytes:
    """Seed of the session's graph: the session id and every advertised encryption key (base64)."""
    h = hashlib.sha256(f"provex-graph|{session}".encode())
    for node in sorted(adverts):
        h.update(f"|{node}={adverts[node]}".encode())
    return h.digest()


def _picks(seed: bytes, node: str, others: Sequence[str], k: int) -> set[str]:
    """k distinct members of ``others``, chosen by a PRG keyed by (seed, node)."""
    pool = list(others)
    chosen: set[str] = set()
    counter = 0
    while len(chosen) < min(k, len(pool)):
        block = hmac.new(seed, f"{node}|{counter}".encode(), hashlib.sha256).digest()
        counter += 1
        chosen.add(pool[int.from_bytes(block, "big") % len(pool)])
    return chosen


def neighbours(seed: bytes, nodes: Sequence[str], degree: int | None) -> dict[str, frozenset[str]]:
    """Each node's masking partners among ``nodes``: everyone else, or the sparse graph's edges."""
    if degree is None or degree >= len(nodes) - 1:
        return {u: frozenset(v for v in nodes if v != u) for u in nodes}
    edges: dict[str, set[str]] = {u: set() for u in nodes}
    for u in nodes:
        for v in _picks(seed, u, [v for v in nodes if v != u], degree):
            edges[u].add(v)
            edges[v].add(u)
    return {u: frozenset(vs) for u, vs in edges.items()}
