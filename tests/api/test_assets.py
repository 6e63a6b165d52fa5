"""Issue 16, item 5 (数据资产入表): the operator declares and corrects a product's costs (refusals named); the cost and
revenue ledger matches the settlements to the fen (a sale, a refund, a free public-welfare license); the
accountant's evidence export holds the ledger, a certificate that verifies and the records behind each line; the
operating report, with its costs and public-welfare sections, is recomputed by the auditor and matches."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from api.client import ApiError, ProvexClient
from registry.reports.audit import audit_database
from registry.reports.period import CST, year_of
from tests.api.test_portal_security import Browser
from tests.utils.common import repo_root
from tests.utils.server import VENV_BIN, Server, wait_anchored
from tests.utils.trading import buy, listed_product, make_offer, new_account

INVOICE = hashlib.sha256(b"invoice 2026-0042").hexdigest()


def _client(server: Server, role: str) -> ProvexClient:
    return ProvexClient(server.url, server.keys[role], timeout=30, signer=server.accounts[role])


@pytest.fixture(scope="module")
def sold(servers: dict[str, Server]) -> dict[str, Any]:
    """A product with a 1,000-fen sale, a 400-fen sale refunded, a free public-welfare license (list price 1,000
    fen), and three cost entries, one of them corrected."""
    server = servers["sqlite"]
    product = listed_product(server)
    offer = make_offer(server, product, "one_off", [(1, 1000)])
    escrow = make_offer(server, product, "one_off", [(1, 400)], refund_window_seconds=3600)
    buyer, named = new_account(server, fen=5000), new_account(server)
    with server.client("authority") as a:
        r = a.post("/public-welfare-users", json={"account_id": named["id"], "eligible": True, "reason": "bureau"})
        assert r.status_code == 200, r.text
    with server.client(key=buyer["api_key"]) as b, server.client(key=named["api_key"]) as n:
        assert buy(b, offer["id"]).status_code == 201
        refunded = buy(b, escrow["id"]).json()["license"]["id"]
        assert b.post(f"/licenses/{refunded}/refund").status_code == 200
        free = buy(n, offer["id"], use="public_welfare")
        assert free.status_code == 201 and free.json()["license"]["amount_fen"] == 0, free.text
    today = datetime.now(CST).date().isoformat()
    with _client(server, "operator") as op:
        storage = op.declare_cost(product["id"], today, "storage", 5000, "object storage", INVOICE)
        op.declare_cost(product["id"], today, "personnel", 700, "数据治理人员")
        corrected = op.declare_cost(product["id"], today, "storage", 4500, "object storage (credit note)",
                                    corrects=storage["id"])
    return {"server": server, "product": product, "year": year_of(datetime.now(UTC)), "storage": storage,
            "corrected": corrected, "today": today}


def test_costs_are_declared_and_corrected_by_the_products_own_operator_only(sold: dict[str, Any]) -> None:
    server, ref = sold["server"], sold["product"]["id"]
    with _client(server, "operator") as op:
        entries = {e["id"]: e for e in op.costs(ref)}
        assert entries[sold["storage"]["id"]]["corrected_by"] == sold["corrected"]["id"]
        assert entries[sold["corrected"]["id"]]["corrects_id"] == sold["storage"]["id"]
        record = op.record(sold["corrected"]["record_seq"])["record"]
        assert record["kind"] == "cost.declared" and record["data"]["signed"]  # the operator's own signature
        tomorrow = (datetime.now(CST).date() + timedelta(days=1)).isoformat()
        for change, field in (({"amount_fen": 0}, "amount_fen"), ({"amount_fen": -5}, "amount_fen"),
                              ({"category": "marketing"}, "category"), ({"incurred_on": tomorrow}, "incurred_on"),
                              ({"corrects": sold["storage"]["id"]}, "corrects")):  # already corrected
            args = {"incurred_on": sold["today"], "category": "other", "amount_fen": 10, "description": "x", **change}
            with pytest.raises(ApiError) as refused:
                op.declare_cost(ref, **args)
            assert (refused.value.status, refused.value.field) == (422, field), refused.value.detail
    with _client(server, "operator2") as other:
        with pytest.raises(ApiError) as foreign:
            other.declare_cost(ref, sold["today"], "other", 10, "not mine")
        assert foreign.value.status == 403
        with pytest.raises(ApiError) as unseen:
            other.asset_ledger(ref)
        assert unseen.value.status == 403
    with server.db().connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM declared_costs WHERE product_id = :p"),
                            {"p": ref}).scalar_one() == 3  # nothing refused was written


def test_the_ledger_matches_the_settlements_to_the_fen(sold: dict[str, Any]) -> None:
    server, ref = sold["server"], sold["product"]["id"]
    with _client(server, "auditor") as aud:
        book = aud.asset_ledger(ref, sold["year"])
    t = book["totals"]
    assert (t["revenue_fen"], t["refunds_fen"], t["net_revenue_fen"]) == (1400, 400, 1000)
    assert (t["public_welfare_licenses"], t["forgone_fen"]) == (1, 1000)
    assert (t["costs_fen"], t["costs"]["storage"], t["costs"]["personnel"]) == (5200, 4500, 700)
    assert (t["cumulative_costs_fen"], t["cumulative_net_revenue_fen"]) == (5200, 1000)
    assert sorted(x["kind"] for x in book["lines"]) == ["cost", "cost", "public_welfare", "refund", "sale", "sale"]
    cli = subprocess.run([str(VENV_BIN / "provex"), "products", "costs", "ledger", ref, "--year", str(sold["year"]),
                          "--api", server.url, "--key", server.keys["authority"], "--json"], env=server.env,
                         capture_output=True, text=True, cwd=repo_root(), timeout=120)
    assert cli.returncode == 0 and json.loads(cli.stdout)["totals"] == t, cli.stdout + cli.stderr
    with Browser(server) as web:  # the operator's page, in Chinese by default
        web.sign_in(server.keys["operator"])
        html = web.http.get("/portal/assets", params={"product": ref, "year": sold["year"]}).text
        assert "成本与收入台账" in html and sold["corrected"]["id"] in html and 'id="cost-form"' in html
        assert "¥52.00" in html and "¥10.00" in html  # costs and net revenue
        assert "Cost and revenue ledger" in web.http.get("/portal/assets", params={"lang": "en"}).text
        export = web.http.get("/portal/assets/evidence", params={"product": ref, "year": sold["year"]})
        assert export.headers["content-type"] == "application/zip" and export.content[:2] == b"PK"


def test_the_evidence_export_backs_every_line_with_its_record(sold: dict[str, Any]) -> None:
    server, ref = sold["server"], sold["product"]["id"]
    wait_anchored(server, sold["corrected"]["record_seq"])
    with _client(server, "exchange") as ex:
        files = ex.asset_evidence(ref, sold["year"])
        book = ex.asset_ledger(ref, sold["year"])
    assert {"README.txt", "ledger.csv", "periods.csv", "asset-ledger.json", "certificate.json",
            "product-metadata.json", "records.jsonl", "checkpoint.json", "manifest.json"} <= set(files)
    assert "provex audit verify" in files["README.txt"] and "核验" in files["README.txt"]
    rows = list(csv.DictReader(io.StringIO(files["ledger.csv"])))
    assert sum(int(r["amount_fen"]) for r in rows if r["kind"] == "cost") == book["totals"]["costs_fen"]
    assert sum(int(r["amount_fen"]) for r in rows if r["kind"] == "sale") == book["totals"]["revenue_fen"]
    assert json.loads(files["asset-ledger.json"])["totals"] == book["totals"]
    cert = json.loads(files["certificate.json"])
    assert cert["check"]["valid"] is True, cert
    checkpoint = json.loads(files["checkpoint.json"])
    assert all(r["anchored_by_checkpoint"] == str(checkpoint["tree_size"]) for r in rows)
    records = [json.loads(line) for line in files["records.jsonl"].splitlines()]
    kinds = {r["seq"]: json.loads(r["body"])["kind"] for r in records}
    assert {s for s, k in kinds.items() if k != "offer.publish"} == {int(r["record_seq"]) for r in rows}
    assert list(kinds.values()).count("offer.publish") == 1  # the free license's list price
    with server.db().connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT seq, leaf_hash FROM ledger_records WHERE seq IN :s")
                                   .bindparams(sa.bindparam("s", expanding=True)), {"s": [r["seq"] for r in records]}
                                   ).all())
    for r in records:
        assert hashlib.sha256(b"\x00" + r["body"].encode()).hexdigest() == r["leaf_hash"] == stored[r["seq"]]
    assert json.loads(files["product-metadata.json"])["metadata"]["quality"]


def test_the_operating_report_with_costs_is_recomputed_and_matches(sold: dict[str, Any]) -> None:
    server, ref, year = sold["server"], sold["product"]["id"], sold["year"]
    with server.client("operator") as o:
        pub = o.post("/reports", json={"year": year})
        assert pub.status_code == 201, pub.text
        report = o.get(f"/reports/{pub.json()['id']}").json()["operating"]
    assert [(c["category"], c["amount_fen"]) for c in report["costs"]["by_product"] if c["product_id"] == ref] == [
        ("personnel", 700), ("storage", 4500)]
    assert [p for p in report["public_welfare"] if p["product_id"] == ref] == [
        {"product_id": ref, "licenses": 1, "quantity": 1, "forgone_fen": 1000}]
    with Session(server.db()) as s:
        result = audit_database(s, server.ledger, year, server.ids["operator"])
    assert result["ok"], result
