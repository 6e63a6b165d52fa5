"""Does the database agree with the chain? (status, metadata hash, version, operator, authorization)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ledger.contracts import Ledger
from ledger.errors import ContractRevert
from ledger.ids import chain_id_of
from registry.models import Product
from registry.statuses import chain_status_of


class ChainComparison(BaseModel):
    agree: bool
    mismatches: list[str]
    database: dict[str, Any]
    chain: dict[str, Any] | None


def compare_product(ledger: Ledger, row: Product) -> ChainComparison:
    """Compare one product; a draft agrees when the chain does not know it."""
    expected = chain_status_of(row.status)
    db = {"status": row.status, "chain_status": expected.name.lower() if expected else None,
          "metadata_hash": row.metadata_hash, "version": row.version, "chain_state": row.chain_state}
    try:
        p = ledger.product(row.id)
    except ContractRevert:
        ok = expected is None
        return ChainComparison(agree=ok, mismatches=[] if ok else ["product missing on chain"], database=db,
                               chain=None)
    chain = {"status": p.status.name.lower(), "metadata_hash": p.metadata_hash.hex(), "version": p.version,
             "authorization_id": "0x" + p.authorization_id.hex()}
    mismatches = []
    if expected is None or p.status != expected:
        mismatches.append("status")
    if p.metadata_hash.hex() != row.metadata_hash:
        mismatches.append("metadata_hash")
    if p.version != row.version:
        mismatches.append("version")
    if p.authorization_id != chain_id_of(row.authorization_id):
        mismatches.append("authorization_id")
    return ChainComparison(agree=not mismatches, mismatches=mismatches, database=db, chain=chain)
