"""The privacy unit of a plan: whose contribution the noise hides (an ID column), and how much of it.

A product may declare one privacy-ID column (animal, herder, patient, meter). Then each provider node
keeps, after the WHERE filter and before aggregating, at most ``max_groups`` (G) groups per ID and at most
``max_rows`` (R) rows per (ID, group), chosen at random, as Tumult Analytics' ``MaxGroupsPerID`` /
``MaxRowsPerGroupPerID`` truncation. One ID then moves a lane family whose per-row bound is ``b`` by at
most ``G·R·b`` in L1 and ``√G·R·b`` in L2 at one provider; an ID held by ``providers`` (P) nodes (the
worst case: the same ID at every provider of the product) moves it by ``P`` times that. Calibration
multiplies every family's sensitivities by :meth:`PrivacyUnit.l1_factor` / :meth:`PrivacyUnit.l2_factor`,
so the charged rho is per ID. Without a privacy unit a row is the unit (factors 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MAX_ROWS_PER_ID = 1000
MAX_GROUPS_PER_ID = 100
MAX_PROVIDERS_PER_ID = 1 << 16


@dataclass(frozen=True)
class PrivacyUnit:
    """Privacy-ID column, R (rows per ID per group), G (groups per ID), P (providers an ID may span)."""

    column: str
    max_rows: int
    max_groups: int
    providers: int = 1
    partitioned: bool = False
    """The product declares its IDs partitioned by provider (each node holds only its own ID prefixes, so P is
    1); a node refuses such a plan unless its policy declares prefixes, and drops every row outside them."""
    prefixes: tuple[str, ...] = ()
    """Node-local: the ID prefixes this node keeps (from its own policy; never part of the plan's JSON)."""

    def __post_init__(self) -> None:
        if not isinstance(self.column, str) or not self.column:
            raise ValueError("privacy unit: column must be a non-empty name")
        for name, value, top in (("max_rows_per_id", self.max_rows, MAX_ROWS_PER_ID),
                                 ("max_groups_per_id", self.max_groups, MAX_GROUPS_PER_ID),
                                 ("providers_per_id", self.providers, MAX_PROVIDERS_PER_ID)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
                raise ValueError(f"privacy unit: {name} must be an integer in 1..{top}, got {value!r}")

    def groups_touched(self, groups: int) -> int:
        """G as it binds: an ID lands in at most min(G, number of groups) groups (1 without GROUP BY)."""
        return max(1, min(self.max_groups, groups))

    def l1_factor(self, groups: int) -> float:
        """How many times a row's bound one ID can move a lane family in L1: P·G·R."""
        return float(self.providers * self.groups_touched(groups) * self.max_rows)

    def l2_factor(self, groups: int) -> float:
        """In L2: P·√G·R (R·P rows in each of G groups at worst)."""
        return self.providers * math.sqrt(self.groups_touched(groups)) * self.max_rows

    def per_node(self) -> PrivacyUnit:
        """The unit as one node sees its own rows (P = 1): what its own noise share must hide."""
        return PrivacyUnit(self.column, self.max_rows, self.max_groups, 1, self.partitioned, self.prefixes)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"column": self.column, "max_rows_per_id": self.max_rows,
                             "max_groups_per_id": self.max_groups, "providers_per_id": self.providers}
        if self.partitioned:
            d["ids_partitioned"] = True
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PrivacyUnit:
        return cls(d["column"], d["max_rows_per_id"], d["max_groups_per_id"], d.get("providers_per_id", 1),
                   d.get("ids_partitioned") is True)


def factors(unit: PrivacyUnit | None, groups: int) -> tuple[float, float]:
    """(L1, L2) multipliers of every per-row sensitivity: (1, 1) when a row is the unit."""
    return (1.0, 1.0) if unit is None else (unit.l1_factor(groups), unit.l2_factor(groups))
