"""The ledger format's test vectors (docs/vectors/ledger-v2.json), made here from the ledger's own code with
fixed inputs: records and their leaf hashes, tree heads at several sizes, inclusion and consistency proofs,
ids as bytes32, a request statement with its EIP-712 digest and signature by a fixed test key, and a promise
(provex-promise/1) for the last record with its signed bytes, EIP-191 digest and signature by the same key.

`python -m tests.ledger.vectors > docs/vectors/ledger-v2.json` writes them; tests/ledger/test_vectors.py
checks the file against this code and against an independent RFC 6962 reference."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from ledger.ids import chain_id_of
from ledger.merkle import MerkleLevels, leaf_hash
from ledger.promises import Promiser
from ledger.records import record_body
from ledger.secp256k1 import eip191_digest
from ledger.statements import RequestStatement, StatementDomain, sign, typed_data

SIZES = (1, 2, 3, 4, 5, 7, 8, 13)
TEST_KEY = "0x" + "11" * 32  # a fixed, public test key: never use it for anything else
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def records() -> list[bytes]:
    """Thirteen records exercising the rules: non-ASCII text, escapes, nesting, null, big ints, decimals."""
    out = []
    for i in range(max(SIZES)):
        data: dict[str, Any] = {"n": i, "big": 2**63 + i, "epsilon": 0.05 * (i + 1), "tiny": 1e-7 * i,
                                "name": "呼和浩特 \"q\" \\ tab\t", "nested": {"b": [True, None, i], "a": []}}
        out.append(record_body(i, "example.kind", f"account-{i % 3}", f"subject-{i}", None if i % 2 else "authz-1",
                               data, T0 + timedelta(seconds=i, microseconds=i)))
    return out


def statement_vector() -> dict[str, Any]:
    domain = StatementDomain(31337, "0x" + "ab" * 20)
    key = Account.from_key(TEST_KEY)
    statement = RequestStatement(key.address, "POST", "/products/p-1/submit?x=1", "0x" + "cd" * 32, "0x" + "ef" * 32,
                                 1796000000)
    full = typed_data(domain, "ProvexRequest", statement.message())
    signable = encode_typed_data(full_message=full)
    preimage = b"\x19" + signable.version + signable.header + signable.body  # 0x19 0x01 domainSeparator structHash
    return {"domain": domain.as_dict(), "message": statement.as_json(), "signer": key.address,
            "digest_preimage": "0x" + preimage.hex(), "digest": "0x" + keccak(preimage).hex(),
            "signature": sign(key, domain, statement)}


def promise_vector(bodies: list[bytes]) -> dict[str, Any]:
    """The recorder's promise for the last record, signed by the test key, with its signed bytes and digest."""
    key = Account.from_key(TEST_KEY)
    promiser = Promiser(key, 31337, "0x" + "Cd" * 20, 600)
    p = promiser.promise(len(bodies) - 1, leaf_hash(bodies[-1]).hex(), datetime.fromtimestamp(1796000000, UTC))
    return {"promise": p.as_json(), "message": p.message().decode("ascii"),
            "digest": "0x" + eip191_digest(p.message()).hex(), "deadline": p.deadline}


def make() -> dict[str, Any]:
    bodies = records()
    leaves = [leaf_hash(b) for b in bodies]
    tree = MerkleLevels(leaves)
    return {
        "format": "provex-ledger/2",
        "records": [{"body": b.decode("utf-8"), "leaf_hash": h.hex()} for b, h in zip(bodies, leaves, strict=True)],
        "roots": {str(n): tree.root(n).hex() for n in SIZES},
        "inclusion": [{"index": i, "size": n, "proof": [p.hex() for p in tree.inclusion_proof(i, n)]}
                      for n in SIZES for i in (0, n // 2, n - 1)],
        "consistency": [{"old": m, "new": n, "proof": [p.hex() for p in tree.consistency_proof(m, n)]}
                        for n in SIZES for m in SIZES if 0 < m < n],
        "ids": {i: chain_id_of(i).hex() for i in ("", "9c1d5b7e-3f3e-4f5a-8d5e-1b2c3d4e5f60", "农牧业")},
        "statement": statement_vector(),
        "promise": promise_vector(bodies),
    }


if __name__ == "__main__":
    print(json.dumps(make(), indent=1, ensure_ascii=False, sort_keys=True))
