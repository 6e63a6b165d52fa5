"""`provex verify`: a verification call (核验) under a license, opened on this machine.

A fresh X25519 reply key is generated for each call; the exchange only ever holds the nodes' sealed answers. The
command opens them here, checks each node's signature against the registered node keys, and prints match or no
match with the call's ledger receipt.
"""

from __future__ import annotations

import typer

from api.cli_tools import API, JSON_OUT, SIGNER, client, console, dump, fail
from api.client import ApiError
from privacy.errors import PrivacyError

API_KEY = typer.Option(None, "--api-key", help="API key (default PROVEX_API_KEY)")


def verify(license_id: str = typer.Option(..., "--license", help="license id (query kind 'verify')"),
           key: str = typer.Option(..., "--key", help="the key verified, e.g. the herder's id"),
           claim: str = typer.Option(..., "--claim", help="e.g. 'head_count >= 200', 'head_count between 100 and "
                                     "300', 'kwh within 5% of 1200'"),
           idempotency_key: str = typer.Option(None, "--idempotency-key", help="a retry with the same value is "
                                               "never charged twice"),
           api: str = API, api_key: str = API_KEY, signer: str = SIGNER, as_json: bool = JSON_OUT) -> None:
    """Verify a claim about one key: prints match / no match (one bit) and the receipt.

    Example: `provex verify --license L --key H-0042 --claim "head_count >= 200" --api-key $BUYER` (here `--key` is
    the key verified; the API key is `--api-key`, default PROVEX_API_KEY).
    """
    with client(api, api_key, signer) as c:
        try:
            out = c.verify_claim(license_id, key, claim, idempotency_key=idempotency_key)
        except ApiError as e:
            raise fail(e) from None
        except (ValueError, PrivacyError) as e:
            console.print(f"[red]{e}[/red]")
            raise typer.Exit(2) from None
    if as_json:
        dump(out)
        return
    verdict = "[green]match[/green]" if out["match"] else "[yellow]no match[/yellow]"
    console.print(f"{key}: {out['claim']} → {verdict}", soft_wrap=True)
    console.print(f"{len(out['statements'])} node statements signed and checked; call {out['call_id']}, "
                  f"answers {out['bundle_hash'][:16]}…, receipt #{out['receipt']['seq']} ({out['receipt']['url']}), "
                  f"{out['queries_left']} calls left", soft_wrap=True)
