"""DP quantiles, MIN and MAX read from a column's noisy dyadic histogram tree, with a stated 95 % interval.

The tree (:func:`privacy.plan.tree_components`) holds, per group, histograms of 2, 4, ..., B bins over
the column's declared bounds, each noised like any HISTOGRAM. The count of values below the edge
``e_k = lo + k (hi - lo) / B`` is the sum of at most log2(B) tree nodes (its dyadic decomposition), so
its noise variance is at most log2(B) node variances rather than k bin variances of a flat histogram.

A quantile at fraction q is DuckDB's ``quantile_cont``: the value at 0-based rank ``h = q (N - 1)`` of
the column's N non-NULL values (interpolated between neighbouring ranks). ``x_(h) >= e_k`` exactly when
at most h values lie below ``e_k``, so with ``C_k`` the isotonic (monotone) fit of the noisy counts below
the edges and ``s_k`` the standard deviation of the noisy count below ``e_k`` minus ``q N`` (independent
lanes), the 95 % interval is ``[e_L, e_U]``: L the last edge with ``C_k + 1.96 s_k <= h``, U the first
with ``C_k - 1.96 s_k > ceil(h)``; it is whole bins, so the bin width is part of it. The estimate reads
the rank ``h + 1/2`` off the same fit, interpolating linearly inside a bin. Ranks above the middle are
counted from the top (the tree mirrored), so each side uses the counts nearer to it.

MIN is the lower edge of the first bin through which the (unfitted) noisy count clears its own noise
(exceeds 1.96 times its standard deviation): the true minimum lies below that bin's upper edge with about 97.5 %
confidence; MAX mirrors it. The lower end of MIN's interval (upper end of MAX's) is usually the
column's bound: a DP answer cannot rule out a few extreme rows. All of it is post-processing of the
noised tree, so it costs nothing beyond the tree's lanes. Without noise (exact products) the interval
is the bin(s) holding the true value (certain), and the value is read from exact bin counts only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from privacy.plan import Aggregate
from privacy.stats import Z95, Estimate, Total


@dataclass(frozen=True)
class Tree:
    """A group's noisy tree: per level (coarsest first, level j with 2^(j+1) bins) its counts and
    the noise variance of each of its lanes."""

    levels: Sequence[Sequence[int]]
    variances: Sequence[float]

    @property
    def bins(self) -> int:
        return len(self.levels[-1])

    def mirrored(self) -> Tree:
        """The same tree with the bin order reversed (counts from the top)."""
        return Tree([list(reversed(level)) for level in self.levels], self.variances)

    def below(self) -> tuple[list[float], list[float]]:
        """Noisy count of values below each edge k = 0..B-1 and its noise variance (edge 0: none)."""
        counts, variances = [0.0], [0.0]
        for k in range(1, self.bins):
            c, v, start = 0.0, 0.0, 0
            for j, level in enumerate(self.levels):
                size = self.bins // len(level)
                if start + size <= k:
                    c += level[start // size]
                    v += self.variances[j]
                    start += size
            counts.append(c)
            variances.append(v)
        return counts, variances


def _isotonic(values: Sequence[float], weights: Sequence[float]) -> list[float]:
    """The weighted least-squares non-decreasing fit (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight, length]
    for x, w in zip(values, weights, strict=True):
        blocks.append([x, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, n2 = blocks.pop()
            m1, w1, n1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    return [m for m, _, n in blocks for _ in range(int(n))]


def _locate(tree: Tree, n: Total, q: float, first_bin: bool) -> tuple[float, int, int]:
    """(estimate, lower edge, upper edge) in bins from the low end, for rank q (N - 1)."""
    bins = tree.bins
    counts, variances = tree.below()
    h = q * max(float(n.value) - 1, 0.0)
    fitted = _isotonic([*counts, float(n.value)], [1e12, *(1 / max(v, 1e-9) for v in variances[1:]), 1e12])
    lower, upper, first_clear = 0, bins, bins
    for k in range(1, bins):
        sd = math.sqrt(variances[k] + q * q * n.var)
        if fitted[k] + Z95 * sd <= h:
            lower = k
        if upper == bins and fitted[k] - Z95 * sd > math.ceil(h):
            upper = k
        if first_clear == bins and counts[k] - Z95 * math.sqrt(variances[k]) > 0:
            first_clear = k
    if first_bin:
        return float(min(max(first_clear - 1, lower), upper)), lower, upper
    target = h + 0.5
    pos = float(bins)
    for k in range(1, bins + 1):
        if fitted[k] >= target:
            step = fitted[k] - fitted[k - 1]
            pos = k - 1 + ((target - fitted[k - 1]) / step if step > 0 else 1.0)
            break
    return min(max(pos, lower), upper), lower, upper


def estimate(agg: Aggregate, tree: Tree, n: Total, lo: float, hi: float) -> Estimate | None:
    """The released quantile, MIN or MAX of ``agg`` (``n``: the column's noisy non-NULL count) with its
    95 % interval; its ``se`` is the interval's half-width / 1.96. None when the count is not positive."""
    if n.value <= 0:
        return None
    q = 0.0 if agg.kind == "min" else 1.0 if agg.kind == "max" else float(agg.p or 0.5)
    bins, width = tree.bins, (hi - lo) / tree.bins
    if q > 0.5:
        pos, lower, upper = _locate(tree.mirrored(), n, 1.0 - q, agg.kind == "max")
        pos, lower, upper = bins - pos, bins - upper, bins - lower
    else:
        pos, lower, upper = _locate(tree, n, q, agg.kind == "min")
    ci = (lo + lower * width, lo + upper * width)
    return Estimate(min(max(lo + pos * width, ci[0]), ci[1]), (ci[1] - ci[0]) / (2 * Z95), ci)


def rank_sd(agg: Aggregate, level_variances: Sequence[float], count_variance: float) -> float:
    """The largest standard deviation (in rows of rank) of the noisy count ``agg``'s interval is read
    from: every tree level's node plus the rank's share of the noisy count."""
    q = 0.0 if agg.kind in ("min", "max") else min(float(agg.p or 0.5), 1 - float(agg.p or 0.5))
    return math.sqrt(sum(level_variances) + q * q * count_variance)
