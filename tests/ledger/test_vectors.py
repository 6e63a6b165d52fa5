"""The ledger format's test vectors (docs/vectors/ledger-v2.json) hold: this code reproduces them byte for byte,
and an independent RFC 6962 reference and plain hashlib/eth_account re-check every hash, proof and signature
from the file alone, as an auditor in another language would (docs/ledger-format.md)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak

from ledger.canonical import decode_record
from ledger.merkle import verify_consistency, verify_inclusion
from tests.ledger import vectors
from tests.utils.common import repo_root
from tests.utils.merkle_reference import ref_mth, ref_path, ref_proof

FILE = repo_root() / "docs" / "vectors" / "ledger-v2.json"


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FILE.read_text(encoding="utf-8"))
    return data


def test_the_code_reproduces_the_committed_vectors(committed: dict[str, Any]) -> None:
    assert vectors.make() == committed, "the format changed: regenerate the vectors and document the change"


def test_an_outsider_rechecks_every_record_leaf_root_and_proof(committed: dict[str, Any]) -> None:
    leaves = []
    for rec in committed["records"]:
        body = rec["body"].encode("utf-8")
        record = decode_record(body)  # canonical: sorted keys, no spaces, no floats in data
        assert not any(isinstance(v, float) for v in record["data"].values())
        leaf = hashlib.sha256(b"\x00" + body).digest()
        assert leaf.hex() == rec["leaf_hash"]
        leaves.append(leaf)
    for size, root in committed["roots"].items():
        assert ref_mth(leaves[:int(size)]).hex() == root
    for case in committed["inclusion"]:
        i, n = case["index"], case["size"]
        assert [p.hex() for p in ref_path(i, leaves[:n])] == case["proof"]
        assert verify_inclusion(leaves[i], i, n, [bytes.fromhex(p) for p in case["proof"]],
                                bytes.fromhex(committed["roots"][str(n)]))
    for case in committed["consistency"]:
        m, n = case["old"], case["new"]
        assert [p.hex() for p in ref_proof(m, leaves[:n])] == case["proof"]
        assert verify_consistency(m, n, bytes.fromhex(committed["roots"][str(m)]),
                                  bytes.fromhex(committed["roots"][str(n)]), [bytes.fromhex(p) for p in case["proof"]])


def test_an_outsider_rechecks_ids_and_the_signed_statement(committed: dict[str, Any]) -> None:
    for ident, b32 in committed["ids"].items():
        assert (keccak(text=ident) if ident else b"\x00" * 32).hex() == b32
    st = committed["statement"]
    preimage = bytes.fromhex(st["digest_preimage"][2:])
    assert preimage[:2] == b"\x19\x01" and keccak(preimage).hex() == st["digest"][2:]
    signer = Account._recover_hash(bytes.fromhex(st["digest"][2:]), signature=bytes.fromhex(st["signature"][2:]))
    assert signer == st["signer"] == st["message"]["signer"]


def test_an_outsider_rechecks_the_promise(committed: dict[str, Any]) -> None:
    """The promise's signed bytes are its fields but `signature` as canonical JSON (ASCII here: sorted keys, no
    spaces), signed with personal_sign by the recorder, for the leaf hash of the record it names."""
    v = committed["promise"]
    promise = v["promise"]
    fields = {k: x for k, x in promise.items() if k != "signature"}
    message = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    assert message == v["message"] and promise["format"] == "provex-promise/1"
    prefixed = b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message.encode()
    assert keccak(prefixed).hex() == v["digest"][2:]
    assert Account.recover_message(encode_defunct(text=message), signature=promise["signature"]) == promise["signer"]
    record = committed["records"][promise["seq"]]
    assert hashlib.sha256(b"\x00" + record["body"].encode()).hexdigest() == record["leaf_hash"] == promise["leaf_hash"]
    assert v["deadline"] == promise["issued_at"] + promise["max_delay_s"]
