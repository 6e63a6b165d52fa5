"""What a provider node checks on its own before it answers a plan: its policy, its daily count, and
the size of every cell it would release.

Order: the rules that need no data (:func:`privacy.provider.policy.check_plan`), then one use of the
day's allowance (kept in ``<state_dir>/usage-<dataset>.json``, so it survives restarts), then the
local cell sizes. The node counts, with the same WHERE filter and groups, its rows in each group
(``COUNT(*)``), its non-NULL values of each aggregated column per group (``COUNT(col)``, the rows a
SUM/AVG/VAR/quantile cell is made of), its values in each histogram bin and, for an exact plan, in
each finest bin of a quantile tree; any such count between 1 and
``min_group_size - 1`` refuses the whole plan. Empty cells are allowed (group domains are public
cartesian products, most of them empty at any one node). What a node cannot see locally: how other
nodes' rows combine with its own, and differences between two plans that each pass (differencing);
the noise floor and the daily limit bound those. A refusal is itself a signal (some cell holds
1..k-1 of this node's rows), which is why it uses up the day's allowance like an answer.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from privacy.errors import PolicyRefused
from privacy.plan import TREE_KINDS, Aggregate, Plan
from privacy.provider.policy import Policy, check_plan
from privacy.secagg.provider import ComputeFn


class DailyAllowance:
    """Plans evaluated per UTC day, persisted in one small JSON file (atomic replace)."""

    def __init__(self, path: Path, limit: int | None) -> None:
        self.path = path
        self.limit = limit
        self._lock = threading.Lock()

    def _read(self) -> tuple[str, int]:
        try:
            state = json.loads(self.path.read_text())
            return str(state["day"]), int(state["used"])
        except FileNotFoundError:
            return "", 0
        except (OSError, ValueError, KeyError, TypeError):
            # a damaged counter must not reset the limit: count the day as used up
            return datetime.now(UTC).date().isoformat(), self.limit or 0

    def used_today(self) -> int:
        day, used = self._read()
        return used if day == datetime.now(UTC).date().isoformat() else 0

    def take(self) -> None:
        """Use one plan of today's allowance, or refuse (rule ``daily_limit``)."""
        with self._lock:
            today = datetime.now(UTC).date().isoformat()
            day, used = self._read()
            used = used if day == today else 0
            if self.limit is not None and used >= self.limit:
                raise PolicyRefused("daily_limit", f"this node answers at most {self.limit} queries per day "
                                                   f"(UTC {today}); try again tomorrow")
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"day": today, "used": used + 1}))
            os.replace(tmp, self.path)


def cell_counts_plan(plan: Plan, exact: bool = False) -> Plan:
    """The plan whose lanes are the row counts behind every cell ``plan`` releases: COUNT(*) per group
    (always lane 0), COUNT(col) per aggregated column, and each histogram's bin counts; for an ``exact``
    (noise-off) plan also the finest bins of each quantile/MIN/MAX tree, which its answer is read from
    (noised, a tree's bins are never released, only a DP estimate)."""
    columns = sorted({a.column for a in plan.aggregates if a.column is not None and a.kind != "histogram"})
    aggs = [Aggregate("count", c, f"count_{i}") for i, c in enumerate(columns)]
    aggs += [a for a in plan.aggregates if a.kind == "histogram"]
    trees = sorted({(str(a.column), int(a.bins or 0)) for a in plan.aggregates if exact and a.kind in TREE_KINDS})
    for column, bins in trees:
        spec = plan.column(column)
        aggs.append(Aggregate("histogram", column, f"tree_{column}", spec.lo, spec.hi, bins))
    return dataclasses.replace(plan, aggregates=tuple(aggs))


def check_cells(plan: Plan, compute: ComputeFn, min_group_size: int, exact: bool = False) -> None:
    """Refuse (rule ``min_group_size``) when a released cell would hold 1..k-1 of this node's rows."""
    probe = cell_counts_plan(plan, exact)
    layout = probe.layout()
    counts = compute(probe, [1] * len(layout.components))
    if any(0 < n < min_group_size for n in counts):
        raise PolicyRefused("min_group_size", f"a released cell would hold fewer than {min_group_size} of "
                                              "this node's rows")


class Enforcer:
    """The gate a node puts before every plan: ``enforcer(plan, units, variances, threshold)`` returns
    or raises :class:`PolicyRefused` naming the rule (the node signs that refusal)."""

    def __init__(self, policy: Policy, compute: ComputeFn, state_dir: Path) -> None:
        self.policy = policy
        self.compute = compute
        state_dir.mkdir(parents=True, exist_ok=True)
        self.allowance = DailyAllowance(state_dir / f"usage-{policy.dataset}.json", policy.daily_query_limit)

    def __call__(self, plan: Plan, units: list[int], variances: list[float], threshold: int) -> None:
        check_plan(self.policy, plan, units, variances, threshold)
        self.allowance.take()
        check_cells(plan, self.compute, self.policy.min_group_size, exact=not any(v > 0 for v in variances))
