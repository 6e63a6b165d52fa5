"""``python -m privacy.provider (--data PATH | --source postgresql://...#schema.table) --id NAME --port N``."""

from __future__ import annotations

import argparse
from pathlib import Path

from privacy.provider.app import serve
from privacy.provider.policy import PolicyFormatError
from privacy.provider.postgres import SourceError


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="provex provider serve", description=__doc__)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", type=Path, help="CSV or Parquet file")
    src.add_argument("--source", help="PostgreSQL table: postgresql://user@host:port/db#schema.table")
    ap.add_argument("--id", dest="node_id", required=True, help="provider node id")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--key-dir", type=Path, default=None)
    ap.add_argument("--coordinator-key", default=None, help="coordinator Ed25519 key (hex)")
    ap.add_argument("--require-noise", action="store_true", help="refuse un-noised queries")
    ap.add_argument("--policy", type=Path, default=None, help="the node's signed policy (JSON)")
    a = ap.parse_args(argv)
    try:
        serve(a.data if a.data is not None else a.source, a.node_id, a.port, a.host, a.key_dir,
              a.coordinator_key, a.require_noise, a.policy)
    except (PolicyFormatError, SourceError) as e:
        raise SystemExit(f"provider node {a.node_id} not started: {e}") from None


if __name__ == "__main__":
    main()
