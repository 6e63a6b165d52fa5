"""`provex notices` and `provex revisions`: the registration procedure from the command line.

The public notice (公示) after approval: list it (no key needed), object, resolve an objection, list the product
when the notice has ended; applications about a registered product: changes (propose, review, publish),
corrections (file, then review and publish as a change) and cancellations (apply, decide). Acts are signed with
your own key (`--signer`, as in api/cli_tools.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from api.cli_tools import API, JSON_OUT, KEY, SIGNER, call, console, dump
from api.client import ProvexClient

notices_app = typer.Typer(help="Public notices of approved products: objections, listing.", no_args_is_help=True)
revisions_app = typer.Typer(help="Change, correction and cancellation registrations of listed products.",
                            no_args_is_help=True)
CHECKS = ("lawful_source", "valid_authorization", "classification_consistent", "personal_information_removed",
          "sample_synthetic")


def _run(api: str | None, key: str | None, signer: str | None, act: Any, as_json: bool) -> Any:
    """Call `act(client)`; print its answer as JSON with --json; an API refusal is one red line and exit 1."""
    out = call(api, key, act, signer)
    if as_json:
        dump(out)
    return out


@notices_app.command("list")
def notices_list(api: str = API, as_json: bool = JSON_OUT) -> None:
    """Products in their public notice (public: no key). Example: `provex notices list`."""
    items = _run(api, None, None, lambda c: c.notices(), as_json)
    if as_json:
        return
    table = Table(title=f"{len(items)} products in public notice")
    for col in ("code", "title", "publisher", "until", "objections", "open"):
        table.add_column(col, overflow="fold")
    for n in items:
        table.add_row(n["code"], n["title"], n["publisher"], n["notice_ends_at"], str(n["objections"]),
                      str(n["open_objections"]))
    console.print(table)


@notices_app.command("object")
def notices_object(ref: str, reasons: str = typer.Option(..., "--reasons"), api: str = API, key: str = KEY,
                   signer: str = SIGNER, as_json: bool = JSON_OUT) -> None:
    """Object to a product in its notice (any account). Example: `provex notices object PX-… --reasons "…"`."""
    out = _run(api, key, signer, lambda c: c.object_to(ref, reasons), as_json)
    if not as_json:
        console.print(f"objection {out['id']} filed on {ref}")


@notices_app.command("resolve")
def notices_resolve(ref: str, objection: str, decision: str = typer.Option(..., "--decision",
                                                                            help="upheld or dismissed"),
                    reasons: str = typer.Option(..., "--reasons"), api: str = API, key: str = KEY,
                    signer: str = SIGNER, as_json: bool = JSON_OUT) -> None:
    """Resolve an objection (exchange); upheld rejects the product."""
    out = _run(api, key, signer, lambda c: c.resolve_objection(ref, objection, decision, reasons), as_json)
    if not as_json:
        console.print(f"objection {objection} {out['objection']['status']}; {ref} is {out['product']['status']}")


@notices_app.command("complete")
def notices_complete(ref: str, api: str = API, key: str = KEY, signer: str = SIGNER,
                     as_json: bool = JSON_OUT) -> None:
    """List a product whose notice ended with no open objection (exchange)."""
    out = _run(api, key, signer, lambda c: c.complete_listing(ref), as_json)
    if not as_json:
        console.print(f"{ref} is {out['product']['status']}; certificate {out['certificate']['code']}")


@revisions_app.command("list")
def revisions_list(ref: str, kind: str = typer.Option(None, "--kind", help="change, correction or cancellation"),
                   api: str = API, key: str = KEY, as_json: bool = JSON_OUT) -> None:
    """A product's applications (changes, corrections, cancellations) with their status and reasons."""
    items = _run(api, key, None, lambda c: c.revisions(ref, kind), as_json)
    if as_json:
        return
    table = Table(title=f"applications about {ref}")
    for col in ("id", "kind", "status", "version", "changes", "grounds", "reasons"):
        table.add_column(col, overflow="fold")
    for r in items:
        version = "" if r["kind"] == "cancellation" else f"{r['base_version']} → {r['base_version'] + 1}"
        table.add_row(r["id"], r["kind"], r["status"], version, ", ".join(r["changes"]), r["grounds"] or "",
                      r["reasons"] or "")
    console.print(table)


@revisions_app.command("propose")
def revisions_propose(ref: str, title: str = typer.Option(None, "--title"),
                      description: str = typer.Option(None, "--description"),
                      patch: Path = typer.Option(None, "--patch", help="a JSON file of the fields to change"),
                      api: str = API, key: str = KEY, signer: str = SIGNER, as_json: bool = JSON_OUT) -> None:
    """Propose a change to your listed product (operator); the listed version sells until it is published."""
    body: dict[str, Any] = json.loads(patch.read_text()) if patch else {}
    body.update({k: v for k, v in (("title", title), ("description", description)) if v is not None})
    out = _run(api, key, signer, lambda c: c.propose_revision(ref, body), as_json)
    if not as_json:
        console.print(f"revision {out['id']} of {ref} is {out['status']}")


@revisions_app.command("decide")
def revisions_decide(ref: str, revision: str, decision: str = typer.Option(..., "--decision",
                                                                            help="approve or reject"),
                     reasons: str = typer.Option(..., "--reasons"),
                     all_checks: bool = typer.Option(False, "--all-checks", help="every checklist item holds"),
                     api: str = API, key: str = KEY, signer: str = SIGNER, as_json: bool = JSON_OUT) -> None:
    """Review a pending revision (exchange): approval needs --all-checks and a serving node."""
    checklist = dict.fromkeys(CHECKS, all_checks)

    def act(c: ProvexClient) -> Any:
        return c.decide_revision(ref, revision, decision, checklist, reasons)

    out = _run(api, key, signer, act, as_json)
    if not as_json:
        console.print(f"revision {revision} {out['revision']['status']}")


@revisions_app.command("publish")
def revisions_publish(ref: str, revision: str, api: str = API, key: str = KEY, signer: str = SIGNER,
                      as_json: bool = JSON_OUT) -> None:
    """Publish an approved revision (operator): new version and hash on chain, new certificate."""
    out = _run(api, key, signer, lambda c: c.publish_revision(ref, revision), as_json)
    if not as_json:
        console.print(f"{ref} is at version {out['product']['version']}; certificate {out['certificate']['code']}")


@revisions_app.command("correct")
def revisions_correct(ref: str, evidence: str = typer.Option(..., "--evidence"),
                      patch: Path = typer.Option(..., "--patch", help="a JSON file of the corrected fields"),
                      api: str = API, key: str = KEY, signer: str = SIGNER, as_json: bool = JSON_OUT) -> None:
    """File a correction of wrong registration facts (the product's operator, or the exchange); it is decided and
    published as a change (`revisions decide`, `revisions publish`)."""
    changes = json.loads(patch.read_text())
    out = _run(api, key, signer, lambda c: c.file_correction(ref, changes, evidence), as_json)
    if not as_json:
        console.print(f"correction {out['id']} of {ref} is {out['status']}")


@revisions_app.command("cancel")
def revisions_cancel(ref: str, reasons: str = typer.Option(..., "--reasons"), api: str = API, key: str = KEY,
                     signer: str = SIGNER, as_json: bool = JSON_OUT) -> None:
    """Apply to cancel your product's registration (operator); the exchange decides."""
    out = _run(api, key, signer, lambda c: c.apply_for_cancellation(ref, reasons), as_json)
    if not as_json:
        console.print(f"cancellation {out['id']} of {ref} is {out['status']}")


@revisions_app.command("decide-cancellation")
def revisions_decide_cancellation(ref: str, application: str,
                                  decision: str = typer.Option(..., "--decision", help="approve or reject"),
                                  reasons: str = typer.Option(..., "--reasons"), api: str = API, key: str = KEY,
                                  signer: str = SIGNER, as_json: bool = JSON_OUT) -> None:
    """Decide a cancellation (exchange): approval delists the product and cancels its certificates."""
    out = _run(api, key, signer, lambda c: c.decide_cancellation(ref, application, decision, reasons), as_json)
    if not as_json:
        console.print(f"cancellation {application} {out['cancellation']['status']}; {ref} is "
                      f"{out['product']['status']}")


def register(app: typer.Typer) -> None:
    """Add these commands to the `provex` app."""
    app.add_typer(notices_app, name="notices")
    app.add_typer(revisions_app, name="revisions")
