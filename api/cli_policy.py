"""`provex provider policy init|sign|show`: the signed policy a provider node enforces on every plan.

`init` drafts the policy from a product's declared columns (JSON list, as in `POST /products`), `sign`
signs a draft with the node's own identity key (in its key folder) and puts it where `provex provider
serve` loads it (`<key-dir>/policy.json`), `show` verifies a signed policy and prints it with its hash (the
hash to register with `POST /providers/me/node`). The format is in privacy/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from api.node_policy import draft_policy
from privacy.provider.policy import (
    Policy,
    PolicyFormatError,
    policy_from_body,
    read_document,
    sign_policy,
    verify_policy,
    write_document,
)
from privacy.secagg.crypto import load_or_create_identity, load_public_key
from registry.privacy_unit import DEFAULT_GROUPS_PER_ID, DEFAULT_ROWS_PER_ID

console = Console()
policy_app = typer.Typer(help="The node's own signed policy: columns and their uses, noise floor, limits.",
                         no_args_is_help=True)
NODE = typer.Option(..., "--id", help="the node id (as in `provex provider serve --id`)")
KEY_DIR = typer.Option(None, "--key-dir", help="the node's key folder (default .provex/providers/<id>)")


def _key_dir(node: str, key_dir: Path | None) -> Path:
    return key_dir or Path(".provex") / "providers" / node


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]{message}[/red]")
    return typer.Exit(2)


@policy_app.command("init")
def init(
    columns: Path = typer.Option(..., "--columns", exists=True, dir_okay=False,
                                 help="the product's declared columns (JSON list)"),
    node: str = NODE,
    dataset: str = typer.Option(..., "--dataset", help="a name for the dataset (letters, digits, _ . -)"),
    out: Path = typer.Option(..., "--out", help="where to write the draft (unsigned) policy body"),
    max_epsilon: float = typer.Option(1.0, "--max-epsilon", help="most epsilon one query may cost from this "
                                      "node's own noise share"),
    delta: float = typer.Option(1e-6, "--delta"),
    exact: bool = typer.Option(False, "--exact", help="allow exact answers (only without personal information)"),
    min_group_size: int = typer.Option(10, "--min-group-size"),
    daily_limit: int = typer.Option(1000, "--daily-limit", help="plans per UTC day (0: no limit)"),
    max_rows: int = typer.Option(DEFAULT_ROWS_PER_ID, "--max-rows-per-id", help="R: most rows one privacy ID "
                                 "may contribute to a group (products with a privacy_id column)"),
    max_groups: int = typer.Option(DEFAULT_GROUPS_PER_ID, "--max-groups-per-id", help="G: most groups one "
                                   "privacy ID may contribute to"),
    id_prefix: list[str] = typer.Option([], "--id-prefix", help="a privacy-ID prefix this node holds (repeat): "
                                        "the node keeps only those IDs (products with IDs partitioned by provider)"),
    verify: list[str] = typer.Option([], "--verify", help="a column verification calls may use (the key "
                                     "column and each claim column; repeat)"),
) -> None:
    """Draft a policy from the product's columns; edit the uses, then `sign` it."""
    try:
        policy = draft_policy(node, dataset, json.loads(columns.read_text()),
                              max_epsilon=None if exact else max_epsilon, delta=delta,
                              min_group_size=min_group_size, daily_query_limit=daily_limit or None,
                              max_rows_per_id=max_rows, max_groups_per_id=max_groups, id_prefixes=id_prefix or None,
                              verify=tuple(verify))
    except (PolicyFormatError, ValueError, KeyError, TypeError) as e:
        raise _fail(f"cannot draft a policy: {e}") from None
    out.write_text(json.dumps(policy.to_body(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    console.print(f"draft written to {out}; review each column's uses, then "
                  f"`provex provider policy sign {out} --id {node}`")


@policy_app.command("sign")
def sign(
    draft: Path = typer.Argument(..., exists=True, dir_okay=False, help="the policy body (JSON)"),
    node: str = NODE,
    key_dir: Path = KEY_DIR,
    out: Path = typer.Option(None, "--out", help="signed policy file (default <key-dir>/policy.json)"),
) -> None:
    """Sign a policy body with the node's identity key; prints its hash."""
    folder = _key_dir(node, key_dir)
    try:
        policy = policy_from_body(read_document(draft))
    except PolicyFormatError as e:
        raise _fail(f"invalid policy: {e}") from None
    if policy.node != node:
        raise _fail(f"the policy is for node {policy.node!r}, not {node!r}")
    target = out or folder / "policy.json"
    write_document(target, sign_policy(policy, load_or_create_identity(folder)))
    console.print(f"signed policy written to {target}\npolicy hash: [bold]{policy.hash()}[/bold]")


@policy_app.command("show")
def show(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="a signed policy file"),
    node: str = NODE,
    key_dir: Path = KEY_DIR,
    public_key: str = typer.Option(None, "--public-key", help="the node's public key (hex) instead of its key dir"),
) -> None:
    """Verify a signed policy against the node's key and print it with its hash."""
    try:
        key = public_key or (_key_dir(node, key_dir) / "identity.pub").read_text().strip()
        policy = verify_policy(read_document(path), node, load_public_key(key))
    except (OSError, PolicyFormatError) as e:
        raise _fail(f"policy not valid: {e}") from None
    print_policy(policy)


def print_policy(policy: Policy) -> None:
    table = Table(title=f"policy of node {policy.node}, dataset {policy.dataset}")
    for col in ("column", "type", "bounds", "decimals", "uses"):
        table.add_column(col)
    for c in policy.columns.values():
        bounds = f"[{c.lo}, {c.hi}]" if c.lo is not None else (f"{len(c.domain)} values" if c.domain else "")
        table.add_row(c.name, c.type, bounds, str(c.decimals), ", ".join(c.uses) or "never")
    console.print(table)
    rho = policy.max_rho_per_query
    console.print(f"noise floor: {'none (exact answers allowed)' if rho is None else f'rho <= {rho:.6g} per query'}"
                  f"; min group size {policy.min_group_size}; daily limit {policy.daily_query_limit or 'none'}")
    unit = policy.privacy_unit
    console.print("privacy unit: " + (f"{unit.column}, at most {unit.max_rows} rows per ID per group and "
                                      f"{unit.max_groups} groups per ID" if unit else "none (row-level)")
                  + (f"; keeps only IDs starting with {', '.join(unit.prefixes)}" if unit and unit.prefixes else ""))
    console.print(f"policy hash: [bold]{policy.hash()}[/bold]")
