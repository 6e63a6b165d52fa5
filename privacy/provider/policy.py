"""A provider node's own signed policy for its dataset, and the plan rules it states.

The provider writes the policy and signs it with the node's Ed25519 identity key (the envelope of
:mod:`privacy.secagg.crypto`, signer = node id); the node loads it at start and refuses to start when
the signature or the content is bad. What it says, per dataset:

* ``columns``: each declared column with its type, bounds, decimals, public domain, and the uses it
  allows (``group_by``, ``filter``, ``aggregate``, ``verify``: the key column and the claim column of a
  verification call, :mod:`privacy.provider.verify`; an empty list means never), as SecretFlow SCQL's
  column control list;
* ``max_rho_per_query``: the noise floor, as the most zCDP rho one query may cost **this node's own
  noise share** (``variance / t`` per lane, sensitivity from the plan's bounds and units), so that no
  coordinator can lower it, not even by listing made-up participants to raise ``t``; ``null`` only for
  data without personal information (exact answers allowed);
* ``min_group_size``: every released cell must hold none or at least this many of the node's rows;
* ``daily_query_limit``: plans the node evaluates per UTC day (``null``: no limit);
* ``privacy_unit`` (optional): the node's privacy-ID column (declared with no uses: never grouped by,
  filtered on or aggregated) and its ceilings ``max_rows_per_id`` (R) and ``max_groups_per_id`` (G); every
  plan must then carry a privacy unit on that column within those ceilings, which the node enforces on its
  rows before aggregating (:mod:`privacy.provider.bounding`); with ``id_prefixes`` the node keeps only IDs
  starting with one of them (its share of IDs partitioned by provider).

:func:`check_plan` applies the rules a plan can be checked against without reading data; the rest
(local cell sizes, the daily count) are in :mod:`privacy.provider.enforce`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.canonical import RecordFormatError, canonical_json, sha256_hex
from privacy.accountant import skellam_rho
from privacy.calibrate import sensitivity
from privacy.errors import PolicyRefused, ProviderAuthError
from privacy.plan import ColumnSpec, Plan
from privacy.secagg.crypto import sign, verify
from privacy.unit import PrivacyUnit

POLICY_TYPE = "provider_policy"
VERSION = 1
USES = ("group_by", "filter", "aggregate", "verify")
TYPES = ("int", "float", "category")
MAX_DECIMALS = 12
NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
PREFIX = r"[A-Za-z0-9_.:-]{1,64}"
RULES = ("undeclared_column", "column_use", "column_spec", "noise_floor", "min_group_size", "daily_limit",
         "privacy_unit")
"""The rule names a refusal carries."""


class PolicyFormatError(ValueError):
    """The policy file is malformed, not signed by this node, or does not fit the node's data."""


@dataclass(frozen=True)
class ColumnRule:
    """A declared column: what values it holds and how plans may use it."""

    name: str
    type: str
    uses: tuple[str, ...]
    lo: float | int | None = None
    hi: float | int | None = None
    decimals: int = 0
    domain: tuple[str | int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "uses": list(self.uses), "lo": self.lo, "hi": self.hi,
                "decimals": self.decimals, "domain": list(self.domain) if self.domain is not None else None}


@dataclass(frozen=True)
class Policy:
    """The policy body: what a node allows on its dataset (see the module doc)."""

    node: str
    dataset: str
    columns: dict[str, ColumnRule]
    max_rho_per_query: float | None
    min_group_size: int
    daily_query_limit: int | None
    privacy_unit: PrivacyUnit | None = None
    """The node's privacy-ID column and its R and G ceilings (``providers`` unused: always 1)."""

    def to_body(self) -> dict[str, Any]:
        body = {"type": POLICY_TYPE, "version": VERSION, "node": self.node, "dataset": self.dataset,
                "columns": [c.to_dict() for c in self.columns.values()],
                "max_rho_per_query": self.max_rho_per_query, "min_group_size": self.min_group_size,
                "daily_query_limit": self.daily_query_limit}
        if self.privacy_unit is not None:
            unit: dict[str, Any] = {"column": self.privacy_unit.column, "max_rows_per_id": self.privacy_unit.max_rows,
                                    "max_groups_per_id": self.privacy_unit.max_groups}
            if self.privacy_unit.prefixes:
                unit["id_prefixes"] = list(self.privacy_unit.prefixes)
            body["privacy_unit"] = unit
        return body

    def hash(self) -> str:
        """SHA-256 (hex) of the body's canonical JSON: what the exchange registers and the node reports."""
        return sha256_hex(canonical_json(self.to_body()))


def _number(value: Any, what: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PolicyFormatError(f"{what} must be a finite number")
    return value


def _column(d: Any) -> ColumnRule:
    if not isinstance(d, dict) or not isinstance(d.get("name"), str) or not d["name"]:
        raise PolicyFormatError("each column needs a name")
    name = d["name"]
    extra = set(d) - {"name", "type", "uses", "lo", "hi", "decimals", "domain"}
    if extra:
        raise PolicyFormatError(f"column {name}: unknown fields {sorted(extra)}")
    kind, uses = d.get("type"), d.get("uses")
    if kind not in TYPES:
        raise PolicyFormatError(f"column {name}: type must be one of {', '.join(TYPES)}")
    if not isinstance(uses, list) or any(u not in USES for u in uses) or len(set(uses)) != len(uses):
        raise PolicyFormatError(f"column {name}: uses must be distinct values of {', '.join(USES)} (or [])")
    domain = d.get("domain")
    if domain is not None and (not isinstance(domain, list) or not domain
                               or any(isinstance(v, bool) or not isinstance(v, str | int) for v in domain)):
        raise PolicyFormatError(f"column {name}: domain must be a non-empty list of strings or integers")
    if "group_by" in uses and domain is None:
        raise PolicyFormatError(f"column {name}: group_by needs a public domain")
    if "aggregate" in uses and kind == "category":
        raise PolicyFormatError(f"column {name}: a category column cannot be aggregated")
    lo = hi = None
    decimals = d.get("decimals", 0)
    if kind != "category":
        lo, hi = _number(d.get("lo"), f"column {name}: lo"), _number(d.get("hi"), f"column {name}: hi")
        if lo > hi:
            raise PolicyFormatError(f"column {name}: lo must be <= hi")
    if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= MAX_DECIMALS \
            or (decimals and kind != "float"):
        raise PolicyFormatError(f"column {name}: decimals must be 0..{MAX_DECIMALS}, and 0 unless float")
    return ColumnRule(name, kind, tuple(uses), lo, hi, decimals, tuple(domain) if domain is not None else None)


def policy_from_body(body: Any) -> Policy:
    """Validate a policy body; :class:`PolicyFormatError` naming the first problem."""
    if not isinstance(body, dict) or body.get("type") != POLICY_TYPE or body.get("version") != VERSION:
        raise PolicyFormatError(f"not a {POLICY_TYPE} version {VERSION}")
    known = {"type", "version", "node", "dataset", "columns", "max_rho_per_query", "min_group_size",
             "daily_query_limit"}
    if set(body) - {"privacy_unit"} != known:
        raise PolicyFormatError(f"policy fields must be exactly {sorted(known)} (and optionally privacy_unit)")
    if not isinstance(body["node"], str) or not isinstance(body["dataset"], str) \
            or not re.fullmatch(NAME, body["dataset"]):
        raise PolicyFormatError("node must be a string and dataset a name of letters, digits, '_', '.', '-'")
    if not isinstance(body["columns"], list) or not body["columns"]:
        raise PolicyFormatError("columns must be a non-empty list")
    columns = [_column(c) for c in body["columns"]]
    if len({c.name for c in columns}) != len(columns):
        raise PolicyFormatError("column names must be distinct")
    rho = body["max_rho_per_query"]
    if rho is not None and _number(rho, "max_rho_per_query") <= 0:
        raise PolicyFormatError("max_rho_per_query must be positive (or null: exact answers allowed)")
    k, limit = body["min_group_size"], body["daily_query_limit"]
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise PolicyFormatError("min_group_size must be an integer >= 1")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise PolicyFormatError("daily_query_limit must be an integer >= 1 (or null: no limit)")
    by_name = {c.name: c for c in columns}
    return Policy(body["node"], body["dataset"], by_name, rho, k, limit, _unit(body.get("privacy_unit"), by_name))


def _unit(d: Any, columns: dict[str, ColumnRule]) -> PrivacyUnit | None:
    """The declared privacy unit: a declared category or int column with no uses, and R, G ceilings."""
    if d is None:
        return None
    if not isinstance(d, dict) or set(d) - {"id_prefixes"} != {"column", "max_rows_per_id", "max_groups_per_id"}:
        raise PolicyFormatError("privacy_unit must be {column, max_rows_per_id, max_groups_per_id[, id_prefixes]}")
    prefixes = d.get("id_prefixes", [])
    if not isinstance(prefixes, list) or (prefixes == [] and "id_prefixes" in d) \
            or any(not isinstance(p, str) or not re.fullmatch(PREFIX, p) for p in prefixes):
        raise PolicyFormatError("id_prefixes must be a non-empty list of 1..64 letters, digits, '_', '.', ':', '-'")
    rule = columns.get(d["column"]) if isinstance(d["column"], str) else None
    if rule is None or rule.type not in ("category", "int") or rule.uses:
        raise PolicyFormatError(f"privacy_unit column {d['column']!r} must be a declared category or int column "
                                "with no uses (never grouped by, filtered on or aggregated)")
    try:
        return PrivacyUnit(d["column"], d["max_rows_per_id"], d["max_groups_per_id"], prefixes=tuple(prefixes))
    except ValueError as e:
        raise PolicyFormatError(str(e)) from None


def sign_policy(policy: Policy, key: Ed25519PrivateKey) -> dict[str, Any]:
    """The signed policy document: the body in an envelope signed by the node's identity key."""
    return sign(policy.to_body(), policy.node, key)


def verify_policy(document: Any, node_id: str, public_key: Ed25519PublicKey) -> Policy:
    """The policy of a signed document, checked to be signed by ``node_id``'s key and for that node."""
    try:
        body = verify(document, node_id, public_key)
    except ProviderAuthError as e:
        raise PolicyFormatError(f"policy signature invalid: {e.detail}") from None
    except RecordFormatError as e:
        raise PolicyFormatError(f"policy is not canonical JSON: {e}") from None
    policy = policy_from_body(body)
    if policy.node != node_id:
        raise PolicyFormatError(f"policy is for node {policy.node!r}, not {node_id!r}")
    return policy


def read_document(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise PolicyFormatError(f"cannot read policy {path}: {e}") from None


def write_document(path: Path, document: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                          encoding="utf-8")


# ------------------------------------------------------------------------------- plan rules

def _check_spec(spec: ColumnSpec, rule: ColumnRule) -> None:
    """The plan's column spec must stay within the declared one."""
    def refuse(why: str) -> PolicyRefused:
        return PolicyRefused("column_spec", f"column {spec.name!r}: {why}")

    if spec.type != rule.type:
        raise refuse(f"declared {rule.type}, the plan says {spec.type}")
    if rule.type != "category":
        assert rule.lo is not None and rule.hi is not None
        if spec.lo is None or spec.hi is None or spec.lo < rule.lo or spec.hi > rule.hi:
            raise refuse(f"bounds [{spec.lo}, {spec.hi}] exceed the declared [{rule.lo}, {rule.hi}]")
        if rule.type == "float" and int(spec.decimals or 0) > rule.decimals:
            raise refuse(f"{spec.decimals} decimals, more than the declared {rule.decimals}")
    if spec.domain is not None and (rule.domain is None or not set(spec.domain) <= set(rule.domain)):
        raise refuse("group domain holds values the policy does not declare")


def _uses(plan: Plan) -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for g in plan.group_by:
        used.setdefault(g, set()).add("group_by")
    for c in plan.where.columns() if plan.where is not None else set():
        used.setdefault(c, set()).add("filter")
    for a in plan.aggregates:
        for column in a.used:  # a LINREG aggregates its target and every regressor
            used.setdefault(column, set()).add("aggregate")
    return used


def share_rho(plan: Plan, units: list[int], variances: list[float], threshold: int) -> float:
    """zCDP rho of this node's own noise share (``variance / threshold`` per lane) for ``plan``."""
    total = 0.0
    for comp, unit, var in zip(plan.components(), units, variances, strict=True):
        share = var / threshold
        if not math.isfinite(share) or share <= 0:
            return math.inf
        l1, l2 = sensitivity(plan, comp, unit, per_node=True)
        total += skellam_rho(l1, l2, share)
    return total


def check_unit(policy: Policy, plan: Plan) -> None:
    """A node that declares a privacy unit answers only plans bounding that ID within its R and G."""
    mine, asked = policy.privacy_unit, plan.privacy_unit
    if asked is not None and asked.partitioned and (mine is None or not mine.prefixes):
        raise PolicyRefused("privacy_unit", "the plan counts each ID at one provider only; this node declares no "
                                            "ID prefixes of its own")
    if mine is None:
        return
    if asked is None:
        raise PolicyRefused("privacy_unit", f"the plan has no privacy unit; this node bounds each "
                                            f"{mine.column!r} to at most {mine.max_rows} rows per group")
    if asked.column != mine.column:
        raise PolicyRefused("privacy_unit", f"the plan bounds {asked.column!r}; this node's privacy ID is "
                                            f"{mine.column!r}")
    if asked.max_rows > mine.max_rows or asked.max_groups > mine.max_groups:
        raise PolicyRefused("privacy_unit", f"the plan allows {asked.max_rows} rows per ID per group and "
                                            f"{asked.max_groups} groups per ID; this node allows at most "
                                            f"{mine.max_rows} and {mine.max_groups}")


def check_plan(policy: Policy, plan: Plan, units: list[int], variances: list[float], threshold: int) -> None:
    """Raise :class:`PolicyRefused` (naming the rule) unless ``plan`` with this noise keeps every rule
    that needs no data: declared columns, allowed uses, declared specs, the privacy unit, the noise floor."""
    used = _uses(plan)
    for name in sorted(set(used) | {c.name for c in plan.columns}):
        if name not in policy.columns:
            raise PolicyRefused("undeclared_column", f"column {name!r} is not declared by this node's policy")
    for name, uses in sorted(used.items()):
        refused = sorted(uses - set(policy.columns[name].uses))
        if refused:
            allowed = ", ".join(policy.columns[name].uses) or "nothing"
            raise PolicyRefused("column_use", f"column {name!r} may not be used for {', '.join(refused)} "
                                              f"(allowed: {allowed})")
    for spec in plan.columns:
        _check_spec(spec, policy.columns[spec.name])
    check_unit(policy, plan)
    if policy.max_rho_per_query is not None:
        rho = share_rho(plan, units, variances, threshold)
        if rho > policy.max_rho_per_query:
            got = "no noise" if math.isinf(rho) else f"rho {rho:.6g} from this node's noise share"
            raise PolicyRefused("noise_floor", f"{got}; this node allows at most rho "
                                               f"{policy.max_rho_per_query:.6g} per query")
