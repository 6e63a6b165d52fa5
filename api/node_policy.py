"""Draft a provider node's policy from a product's declared columns (the registry's column schema).

Defaults, for the provider to tighten before signing: a column with a public group-by domain may be
grouped by and filtered on; a number may be aggregated and filtered on; any other column may not be
used at all. Noise: at most ``rho_from_epsilon(max_epsilon, delta)`` per query from the node's own
noise share, or none (``max_epsilon=None``) for data without personal information. A product's privacy-ID
column is declared with no uses, and the policy's ``privacy_unit`` names it with the node's ceilings R
(``max_rows_per_id``) and G (``max_groups_per_id``): plans asking more, or none, are refused; with
``id_prefixes`` the node keeps only IDs starting with one of them (IDs partitioned by provider).
"""

from __future__ import annotations

from typing import Any

from privacy.accountant import rho_from_epsilon
from privacy.provider.policy import Policy, policy_from_body
from registry.privacy_unit import DEFAULT_GROUPS_PER_ID, DEFAULT_ROWS_PER_ID, privacy_id_column

TYPES = {"integer": "int", "number": "float"}
DEFAULT_FLOAT_DECIMALS = 2


def column_rule(c: dict[str, Any]) -> dict[str, Any]:
    """One declared product column as a policy column, with the default uses."""
    kind = TYPES.get(str(c.get("type")), "category")
    domain: list[Any] | None = None
    if c.get("group_by") and c.get("domain"):
        domain = [int(v) for v in c["domain"]] if kind == "int" else list(c["domain"])
    uses = ["group_by", "filter"] if domain is not None else (["aggregate", "filter"] if kind != "category" else [])
    if c.get("privacy_id"):
        uses = []
    rule: dict[str, Any] = {"name": c["name"], "type": kind, "uses": uses, "domain": domain,
                            "lo": None, "hi": None, "decimals": 0}
    if kind != "category":
        rule.update(lo=c["min"], hi=c["max"])
    if kind == "float":
        rule["decimals"] = int(c.get("decimals", DEFAULT_FLOAT_DECIMALS))
    return rule


def draft_policy(node: str, dataset: str, columns: list[dict[str, Any]], *, max_epsilon: float | None,
                 delta: float = 1e-6, min_group_size: int = 10, daily_query_limit: int | None = 1000,
                 max_rows_per_id: int = DEFAULT_ROWS_PER_ID, max_groups_per_id: int = DEFAULT_GROUPS_PER_ID,
                 id_prefixes: list[str] | None = None, verify: tuple[str, ...] = ()) -> Policy:
    """A validated (unsigned) policy for ``node``'s ``dataset`` with the product's ``columns``; the ``verify``
    columns (a verification product's key and claim columns) also allow the use ``verify``."""
    rules = [column_rule(c) for c in columns]
    for r in rules:
        if r["name"] in verify:
            r["uses"].append("verify")
    pid = privacy_id_column(columns)
    unit: dict[str, Any] = {"privacy_unit": {"column": pid, "max_rows_per_id": max_rows_per_id,
                                             "max_groups_per_id": max_groups_per_id}} if pid else {}
    if pid and id_prefixes:
        unit["privacy_unit"]["id_prefixes"] = id_prefixes
    return policy_from_body({**unit,
        "type": "provider_policy", "version": 1, "node": node, "dataset": dataset,
        "columns": rules,
        "max_rho_per_query": rho_from_epsilon(max_epsilon, delta) if max_epsilon is not None else None,
        "min_group_size": min_group_size, "daily_query_limit": daily_query_limit})
