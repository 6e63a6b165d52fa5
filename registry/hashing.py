"""Hashes of canonical JSON (sorted keys, compact, UTF-8) as hex and as bytes32."""

from __future__ import annotations

import hashlib
from typing import Any

from ledger.canonical import canonical_json


def canonical_hash(obj: Any) -> str:
    """Lower-case hex SHA-256 of the canonical JSON of `obj`."""
    return hashlib.sha256(canonical_json(obj)).hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def b32(hex_digest: str) -> bytes:
    """A 64-hex-digit hash as bytes32."""
    return bytes.fromhex(hex_digest.removeprefix("0x"))
