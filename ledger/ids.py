"""Identifier and hash conversions between the database and the chain."""

from __future__ import annotations

from eth_utils import keccak


def chain_id_of(identifier: str) -> bytes:
    """bytes32 on chain for a database id: keccak256(utf8(id)); zero id stays zero."""
    return keccak(text=identifier) if identifier else b"\x00" * 32


def hex32(value: bytes) -> str:
    """0x-prefixed hex of a bytes32."""
    return "0x" + value.hex()
