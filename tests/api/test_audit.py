"""Audit over HTTP: record receipts with inclusion proofs, the provenance trace, verification."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from eth_account import Account

from api.promise_header import HEADER, parse_header
from ledger.contracts import RECORDER_ROLE
from ledger.keys import DEV_PASSPHRASE, Keyring
from ledger.promises import Promiser, signer_of
from ledger.runtime import dev_key_path
from tests.api.test_portal_security import Browser
from tests.utils.builders import authorized, make_product
from tests.utils.server import Server, wait_anchored
from tests.utils.trading import buy, listed_product, make_offer, new_account


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 Merkle tree hash, written independently of ledger.merkle."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _root_from_path(leaf_hash: bytes, index: int, size: int, path: list[bytes]) -> bytes:
    """RFC 6962 §2.1.1 audit path, recomputed recursively from the top (independent verifier)."""
    if size == 1:
        assert not path
        return leaf_hash
    k = 1 << ((size - 1).bit_length() - 1)
    if index < k:
        return hashlib.sha256(b"\x01" + _root_from_path(leaf_hash, index, k, path[:-1]) + path[-1]).digest()
    return hashlib.sha256(b"\x01" + path[-1] + _root_from_path(leaf_hash, index - k, size - k, path[:-1])).digest()


def last_seq(server: Server) -> int:
    with server.db().connect() as conn:
        return int(conn.execute(sa.text("SELECT max(seq) FROM ledger_records")).scalar_one())


def test_record_receipt_proves_inclusion_under_chain_checkpoint(server: Server) -> None:
    product = make_product(server, stage="listed")
    seq = last_seq(server)
    receipt = wait_anchored(server, seq)
    assert receipt["record"]["seq"] == seq and receipt["record"]["subject"] == product["id"]
    cp = receipt["checkpoint"]
    on_chain = server.ledger.checkpoint(cp["index"])
    assert on_chain.root.hex() == cp["root"] and on_chain.tree_size == cp["tree_size"]
    leaf = bytes.fromhex(receipt["leaf_hash"])
    path = [bytes.fromhex(p) for p in receipt["inclusion_proof"]]
    assert _root_from_path(leaf, seq, cp["tree_size"], path) == on_chain.root
    with server.db().connect() as conn:
        bodies = [r[0].encode() for r in conn.execute(
            sa.text("SELECT body FROM ledger_records WHERE seq < :n ORDER BY seq"), {"n": cp["tree_size"]})]
    assert _mth(bodies) == on_chain.root
    with server.client("buyer") as c:
        assert c.get("/ledger/records/999999999").status_code == 404
    with server.client() as anonymous:
        assert anonymous.get(f"/ledger/records/{seq}").status_code == 401


def test_trace_lists_the_lifecycle_in_order(server: Server) -> None:
    authz = authorized(server)
    product = make_product(server, authz, stage="listed")
    with server.client("exchange") as ex:
        assert ex.post(f"/products/{product['id']}/suspend", json={"reason": "audit drill"}).status_code == 200
        assert ex.post(f"/products/{product['id']}/delist", json={"reason": "audit drill"}).status_code == 200
    with server.client("auditor") as c:
        r = c.get(f"/audit/products/{product['code']}/trace")
        assert r.status_code == 200, r.text
        trace = r.json()
    kinds = [s["kind"] for s in trace["steps"]]
    chain_kinds = [k for k in kinds if k[0].isupper()]
    assert chain_kinds[:3] == ["ResourceRegistered", "AuthorizationGranted", "ProductRegistered"], kinds
    transitions = [(s["detail"]["from"], s["detail"]["to"]) for s in trace["steps"]
                   if s["kind"] == "ProductStatusChanged"]
    assert transitions == [("registered", "listed"), ("listed", "suspended"), ("suspended", "delisted")]
    assert kinds.index("review.decided") < kinds.index("ProductStatusChanged")
    assert [s["at"] for s in trace["steps"]] == sorted(s["at"] for s in trace["steps"])
    for step in trace["steps"]:
        assert step["actor"] is not None and step["link"]
        assert "tx_hash" in step["link"] or "record_seq" in step["link"]
    actors = {s["kind"]: s["actor"]["role"] for s in trace["steps"]}
    assert actors["AuthorizationGranted"] == "authority"
    assert actors["ProductRegistered"] == "operator"
    assert actors["review.decided"] == "exchange"
    with server.client("buyer") as c:
        assert c.get(f"/audit/products/{product['id']}/trace").status_code == 403


def test_verify_passes_then_names_a_tampered_record(server: Server) -> None:
    make_product(server, stage="listed")
    wait_anchored(server, last_seq(server))
    with server.client("auditor") as c:
        r = c.post("/audit/verify")
        assert r.status_code == 200, r.text
        assert r.json()["ok"], r.json()
        with server.db().begin() as conn:
            original = conn.execute(sa.text("SELECT actor FROM ledger_records WHERE seq = 1")).scalar_one()
            conn.execute(sa.text("UPDATE ledger_records SET actor = 'forged' WHERE seq = 1"))
        try:
            report = c.post("/audit/verify").json()
        finally:
            with server.db().begin() as conn:
                conn.execute(sa.text("UPDATE ledger_records SET actor = :a WHERE seq = 1"), {"a": original})
        assert not report["ok"]
        assert report["divergence"]["row"] == 1 and report["divergence"]["field"] == "actor"
        assert report["divergence"]["table"] == "ledger_records"
        assert c.post("/audit/verify").json()["ok"]
    with server.client("exchange") as c:
        assert c.post("/audit/verify").status_code == 403


def test_records_are_visible_to_their_parties_and_overseers_only(server: Server) -> None:
    product = listed_product(server)
    offer = make_offer(server, product, tiers=[(1, 100)])
    buyer, other = new_account(server, fen=1_000), new_account(server)
    with server.client(key=buyer["api_key"]) as c:
        r = buy(c, offer["id"])
        assert r.status_code == 201, r.text
    with server.db().connect() as conn:
        seq = conn.execute(sa.text("SELECT seq FROM ledger_records WHERE kind = 'order.placed' AND actor = :a"),
                           {"a": buyer["id"]}).scalar_one()
    with server.client(key=buyer["api_key"]) as c:  # its own purchase, with the signature it made
        record = c.get(f"/ledger/records/{seq}").json()["record"]
        assert record["actor"] == buyer["id"] and record["data"]["signed"]["signer"] == c.get(
            "/accounts/me").json()["address"]
    with server.client(key=other["api_key"]) as c:  # another buyer: no such record
        assert c.get(f"/ledger/records/{seq}").status_code == 404
    with server.client("operator") as c:  # the operator whose product was bought
        assert c.get(f"/ledger/records/{seq}").status_code == 200
    with server.client("operator2") as c:
        assert c.get(f"/ledger/records/{seq}").status_code == 404
    for role in ("auditor", "exchange", "authority"):
        with server.client(role) as c:
            assert c.get(f"/ledger/records/{seq}").status_code == 200
    license_id = r.json()["license"]["id"]
    with server.client(key=buyer["api_key"]) as c:  # the purchase's receipt, found from the license
        receipt = c.get(f"/licenses/{license_id}/receipt").json()
        assert receipt["record"]["kind"] == "license.purchase" and receipt["record"]["data"]["license_id"] == license_id
        assert receipt["seq"] > seq
    with server.client(key=other["api_key"]) as c:
        assert c.get(f"/licenses/{license_id}/receipt").status_code == 404


def test_an_accounts_actions_include_the_acts_it_signed(server: Server) -> None:
    authz = authorized(server)
    with server.client("auditor") as c:
        actions = c.get(f"/audit/accounts/{server.ids['authority']}/actions").json()["actions"]
    granted = [a for a in actions if a["kind"] == "AuthorizationGranted"]
    assert granted, "the authority's own grants are on its page (it signed them; the relayer sent them)"
    assert any(a["kind"] == "ResourceRegistered" for a in actions)
    assert authz["id"]


def test_a_write_carries_its_promise_and_verify_holds_the_exchange_to_it(server: Server, tmp_path: Path) -> None:
    product = make_product(server, stage="listed")
    with server.client("exchange") as ex:
        r = ex.post(f"/products/{product['id']}/suspend", json={"reason": "promise drill"})
        assert r.status_code == 200, r.text
    (p,) = parse_header(r.headers[HEADER])
    assert signer_of(p) == p.signer and server.ledger.has_role("CheckpointLog", RECORDER_ROLE, p.signer)
    assert (p.chain_id, p.log) == (server.ledger.client.chain_id, server.ledger.checkpoints.address)
    receipt = wait_anchored(server, p.seq)
    assert receipt["leaf_hash"] == p.leaf_hash and receipt["record"]["kind"] == "product.status"
    assert receipt["promise"]["signature"] == p.signature and receipt["promise"]["status"] == "kept"
    with server.client("auditor") as c:
        report = c.post("/audit/verify").json()
    assert report["ok"] and report["promises"]["kept"] >= 1 and report["promises"]["broken"] == 0, report
    with Browser(server) as b:  # the auditor's record page shows it, in either language
        b.sign_in(server.keys["auditor"])
        for lang, kept in (("en", "kept"), ("zh", "已兑现")):
            page = b.http.get(f"/portal/auditor/records/{p.seq}?lang={lang}").text
            assert kept in page and p.signer in page and str(p.max_delay_s) in page, page
        kept = b.http.post("/portal/auditor/report", json={"form": {}, "response": report},
                           headers={"X-CSRF-Token": b.csrf, "Origin": server.url})
        assert kept.status_code == 303, kept.text  # post/redirect/get: the report's own page
        drawn = b.http.get(kept.headers["location"] + "?lang=en")
        assert drawn.status_code == 200 and f"promises: {report['promises']['kept']} kept" in drawn.text, drawn.text

    # the export carries the promises; a promise the exchange made for a record it never logged is named
    recorder = Keyring(DEV_PASSPHRASE, 1024).open(dev_key_path(server.home, "recorder").read_text())
    ghost = Promiser(recorder, p.chain_id, p.log, p.max_delay_s).promise(p.seq + 10_000, "ab" * 32,
                                                                         datetime.now(UTC))
    stranger = Promiser(Account.create(), p.chain_id, p.log, p.max_delay_s).promise(p.seq, p.leaf_hash,
                                                                                    datetime.now(UTC))
    held = tmp_path / "held.json"
    held.write_text(json.dumps([p.as_json(), ghost.as_json(), stranger.as_json()]))
    cli = [str(Path(sys.executable).with_name("provex")), "audit"]
    out = subprocess.run([*cli, "export", str(tmp_path / "x")], env=server.env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert p.text() in (tmp_path / "x" / "promises.jsonl").read_text().splitlines()
    out = subprocess.run([*cli, "verify", "--from", str(tmp_path / "x"), "--rpc", server.ledger.client.rpc_url,
                          "--promises", str(held), "--json"], env=server.env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    found = [(d["kind"], d["row"], d["field"]) for d in [report["divergence"], *report["also"]]]
    assert found == [("promise_broken", p.seq, "promise.signer"), ("promise_broken", ghost.seq, "seq")], found
    out = subprocess.run([*cli, "record", str(p.seq), "--api", server.url, "--key", server.keys["auditor"]],
                         env=server.env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "promise: kept" in out.stdout and p.signer in out.stdout, out.stdout + out.stderr
