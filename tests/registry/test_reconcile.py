"""Reconciliation (issue 13, item 5): every business table against the records and the chain, both ways.

One server of its own builds a small history through the API; each tamper edits one column of a copy of its
SQLite database, and verify must name the table, row, column and the record or transaction that says
otherwise. Activity made only on chain (a product registered, listed, offered and sold by direct contract
calls) is `chain_only`, naming the transaction, in database mode and in export mode.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from eth_account.signers.local import LocalAccount
from sqlmodel import Session

from ledger.ids import chain_id_of
from ledger.runtime import ChainRuntime
from ledger.verify import StoredRecord
from registry.reconcile import reconcile_database, reconcile_export
from registry.trading.licenses import authorize_and_spend, refund_spend
from registry.verification import stored_records, verify_database
from tests.utils.builders import CHECKLIST, make_product
from tests.utils.server import VENV_BIN, Server, start_server, wait_anchored
from tests.utils.trading import actor, buy, listed_product, make_offer, mint, new_account, voucher_programme

B = "SELECT id FROM accounts WHERE role = 'buyer' ORDER BY pk DESC LIMIT 1"


@pytest.fixture(scope="module")
def own(chain: ChainRuntime, deployer: LocalAccount, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: the chain-only drill leaves activity on its contracts for good."""
    server, _ = start_server("sqlite", chain, deployer, tmp_path_factory.mktemp("reconcile"))
    yield server
    server.proc.terminate()
    server.proc.wait(10)


def _spend(server: Server, buyer_id: str, license_id: str, refund: bool = False) -> None:
    with Session(server.db()) as s:
        grant = authorize_and_spend(s, actor(server, buyer_id), license_id, kinds={"count"}, columns={"county"},
                                    epsilon=0.25, delta=1e-7)
        s.commit()
        if refund:
            refund_spend(s, grant)
            s.commit()


def _settled(server: Server) -> None:
    """Outbox drained and every record anchored."""
    deadline = time.monotonic() + 60
    with server.db().connect() as conn:
        while conn.execute(sa.text("SELECT count(*) FROM chain_tx WHERE state = 'pending'")).scalar_one():
            assert time.monotonic() < deadline, "outbox not drained"
            time.sleep(0.2)
        last = conn.execute(sa.text("SELECT max(seq) FROM ledger_records")).scalar_one()
    wait_anchored(server, int(last))


@pytest.fixture(scope="module")
def history(own: Server) -> dict[str, Any]:
    """Accounts, resources, an authorization (limited: an earlier end), products, a price cap, offers with payees,
    a voucher, purchases with the voucher (one escrowed and refunded), an escrowed license released, query charges
    (one refunded), a budget policy, negotiations (one open, one agreed and then terminated), a free
    public-welfare license, a maximum allowed revenue, a declared cost and its correction, and a published report."""
    product = listed_product(own)
    with own.client("authority") as a:
        until = (datetime.now(UTC) + timedelta(days=300)).isoformat()
        r = a.post(f"/authorizations/{product['authorization_id']}/limit",
                   json={"reason": "shorter pilot", "valid_until": until})
        assert r.status_code == 200, r.text
        assert a.put(f"/products/{product['id']}/price-cap", json={"cap_fen": 5000}).status_code == 200
        r = a.put(f"/products/{product['id']}/price-caps/subscription",
                  json={"cap_fen": 4000, "effective_from": 0, "trial_cap_fen": 3000, "trial_until": 2_000_000_000})
        assert r.status_code == 200, r.text
    with own.client("operator") as op:
        r = op.put(f"/products/{product['id']}/budget-policy", json={"epsilon": 5, "delta": 1e-3})
        assert r.status_code == 200, r.text
    offer = make_offer(own, product, "one_off", [(1, 1000)])
    buyer = new_account(own, fen=10_000)
    mint(own, own.ids["authority"], 10_000)
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    programme = voucher_programme(own, [buyer["id"]], budget=1_000, share_bps=5_000)
    with own.client("authority") as a:
        voucher = a.post("/vouchers", json={"programme_id": programme["id"], "holder_id": buyer["id"],
                                            "amount_fen": 500, "expires_at": expires, "sectors": []}).json()
        short = a.post("/vouchers", json={"programme_id": programme["id"], "holder_id": buyer["id"],
                                          "amount_fen": 50, "expires_at": (datetime.now(UTC) + timedelta(
                                              seconds=2)).isoformat()}).json()
    negotiable = make_offer(own, product, "negotiable", [], basis="negotiated")
    with own.client(key=buyer["api_key"]) as b:
        r = buy(b, offer["id"], voucher_id=voucher["id"], voucher_amount_fen=300)
        assert r.status_code == 201, r.text
        license_id = r.json()["license"]["id"]
        r = b.post("/negotiations", json={"offer_id": negotiable["id"], "kind": "metered", "quantity": 50,
                                          "unit_price_fen": 5, "message": "research use"})
        assert r.status_code == 201, r.text
    _agree_then_terminate(own, buyer, negotiable)
    _refund_with_voucher(own, product, buyer, voucher)
    _escrow_released(own, product, buyer)
    _public_welfare(own, offer)
    _spend(own, buyer["id"], license_id)
    _spend(own, buyer["id"], license_id, refund=True)
    _notice_and_revision(own, product)
    _reclaim_expired(own, short)
    with own.client("authority") as a, own.client("operator") as op:
        r = a.put("/revenue/allowances", json={"operator_id": own.ids["operator"], "year": 2026, "allowed_fen": 900})
        assert r.status_code == 200, r.text
        _costs(op, product)
        assert op.post("/reports", json={"year": 2026}).status_code == 201
    _settled(own)
    return {"product": product, "offer": offer, "buyer": buyer, "voucher": voucher, "license": license_id}


def _notice_and_revision(server: Server, listed: dict[str, Any]) -> None:
    """An objection to a product in its notice (dismissed), a revision of the listed product (rejected), then a
    correction of it filed by the exchange (approved, published), the cancellation of the product in notice
    (approved: delisted)."""
    noticed = make_product(server, stage="under_review")
    with server.client("exchange") as ex, server.client("buyer") as b, server.client("operator") as op:
        r = ex.post(f"/products/{noticed['id']}/review", json={"decision": "approve", "checklist": CHECKLIST,
                                                                "reasons": "ok", "notice_days": 1})
        assert r.status_code == 200, r.text
        objection = b.post(f"/products/{noticed['id']}/objections", json={"reasons": "doubt"}).json()
        r = ex.post(f"/products/{noticed['id']}/objections/{objection['id']}/resolution",
                    json={"decision": "dismissed", "reasons": "unfounded"})
        assert r.status_code == 200, r.text
        rev = op.post(f"/products/{listed['id']}/revisions", json={"title": "renamed"}).json()
        r = ex.post(f"/products/{listed['id']}/revisions/{rev['id']}/decision",
                    json={"decision": "reject", "checklist": CHECKLIST, "reasons": "title misleading"})
        assert r.status_code == 200, r.text
        cor = ex.post(f"/products/{listed['id']}/corrections", json={"changes": {"scale": "corrected scale"},
                                                                      "evidence": "the survey letter"}).json()
        r = ex.post(f"/products/{listed['id']}/revisions/{cor['id']}/decision",
                    json={"decision": "approve", "checklist": CHECKLIST, "reasons": "confirmed"})
        assert r.status_code == 200, r.text
        assert op.post(f"/products/{listed['id']}/revisions/{cor['id']}/publish").status_code == 200
        app = op.post(f"/products/{noticed['id']}/cancellations", json={"reasons": "withdrawn"}).json()
        r = ex.post(f"/products/{noticed['id']}/cancellations/{app['id']}/decision",
                    json={"decision": "approve", "reasons": "confirmed"})
        assert r.status_code == 200 and r.json()["product"]["status"] == "delisted", r.text


def _reclaim_expired(server: Server, voucher: dict[str, Any]) -> None:
    """An unspent voucher reclaimed after its expiry (VoucherReclaimed, claimed by its voucher.reclaim record)."""
    expiry = datetime.fromisoformat(voucher["expires_at"]).timestamp()
    time.sleep(max(0.0, expiry + 0.2 - time.time()))
    with server.client("authority") as a:
        r = a.post(f"/vouchers/{voucher['id']}/reclaim")
    assert r.status_code == 200 and r.json()["reclaimed_fen"] == 50, r.text


def _costs(op: Any, product: dict[str, Any]) -> None:
    """A declared cost, then its correction (a new row naming the one it corrects)."""
    body = {"incurred_on": "2026-01-05", "category": "storage", "amount_fen": 1200, "description": "storage"}
    r = op.post(f"/products/{product['id']}/costs", json=body)
    assert r.status_code == 201, r.text
    r = op.post(f"/products/{product['id']}/costs", json={**body, "amount_fen": 1100, "corrects": r.json()["id"]})
    assert r.status_code == 201, r.text


def _escrow_released(server: Server, product: dict[str, Any], buyer: dict[str, Any]) -> None:
    """An escrowed license paid out once its refund window closed (the chain says so only by paying)."""
    quick = make_offer(server, product, "one_off", [(1, 300)], refund_window_seconds=1)
    with server.client(key=buyer["api_key"]) as b:
        r = buy(b, quick["id"])
        assert r.status_code == 201, r.text
        time.sleep(1.5)
        mint(server, server.ids["authority"], 1)  # Anvil mines only on demand: a block carrying the new time
        r = b.post(f"/licenses/{r.json()['license']['id']}/release")
        assert r.status_code == 200, r.text


def _public_welfare(server: Server, offer: dict[str, Any]) -> None:
    """A buyer the authority names for public-welfare use takes a free license."""
    named = new_account(server)
    with server.client("authority") as a:
        r = a.post("/public-welfare-users", json={"account_id": named["id"], "eligible": True, "reason": "bureau"})
        assert r.status_code == 200, r.text
    with server.client(key=named["api_key"]) as b:
        r = buy(b, offer["id"], use="public_welfare")
        assert r.status_code == 201 and r.json()["license"]["amount_fen"] == 0, r.text


def _agree_then_terminate(server: Server, buyer: dict[str, Any], negotiable: dict[str, Any]) -> None:
    """A negotiation agreed (its private offer goes on chain), then ended by the buyer (the offer with it)."""
    with server.client(key=buyer["api_key"]) as b, server.client("operator") as op:
        nid = b.post("/negotiations", json={"offer_id": negotiable["id"], "kind": "one_off", "quantity": 1,
                                            "unit_price_fen": 900}).json()["id"]
        for who, action, body in ((op, "offer", {"unit_price_fen": 950}), (b, "accept", {}), (op, "agree", {}),
                                  (b, "terminate", {})):
            r = who.post(f"/negotiations/{nid}/{action}", json=body)
            assert r.status_code == 200, r.text


def _refund_with_voucher(server: Server, product: dict[str, Any], buyer: dict[str, Any],
                         voucher: dict[str, Any]) -> None:
    """An escrowed license paid partly by the voucher, refunded inside its window (the voucher gets it back)."""
    escrow = make_offer(server, product, "one_off", [(1, 400)], refund_window_seconds=3600)
    with server.client(key=buyer["api_key"]) as b:
        r = buy(b, escrow["id"], voucher_id=voucher["id"], voucher_amount_fen=100)
        assert r.status_code == 201, r.text
        r = b.post(f"/licenses/{r.json()['license']['id']}/refund")
        assert r.status_code == 200, r.text


def _verify_copy(server: Server, tmp: Path, *sql: str) -> dict[str, Any]:
    """verify_database on a copy of the server's database with `sql` applied."""
    copy = tmp / "tampered.db"
    with sqlite3.connect(server.db_url.removeprefix("sqlite:///")) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)  # the live file may have writes still in its WAL
    engine = sa.create_engine(f"sqlite:///{copy}")
    with engine.begin() as conn:
        for stmt in sql:
            assert conn.execute(sa.text(stmt)).rowcount >= 1, stmt  # type: ignore[attr-defined]
    with Session(engine) as s:
        report = verify_database(s, server.ledger).as_dict()
    engine.dispose()
    return report


def test_an_untouched_history_reconciles(own: Server, history: dict[str, Any], tmp_path: Path) -> None:
    started = time.perf_counter()
    report = _verify_copy(own, tmp_path)
    assert report["ok"], report
    whole = time.perf_counter() - started
    with Session(own.db()) as s:
        started = time.perf_counter()
        assert list(reconcile_database(s, own.ledger, stored_records(s))) == []
    print(f"verify: {report['records']} records in {whole:.2f}s, of which reconciliation "
          f"{time.perf_counter() - started:.2f}s")


OP2 = "(SELECT id FROM accounts WHERE name = 'sqlite operator2')"
# (tamper, table, column, named by: "record" or "tx")
TAMPERS = [
    ("UPDATE licenses SET amount_fen = amount_fen - 1", "licenses", "amount_fen", "record"),
    (f"UPDATE products SET operator_id = {OP2}", "products", "operator_id", "tx"),
    ("UPDATE license_charges SET eps = eps + 1 WHERE NOT refunded", "license_charges", "eps", "record"),
    ("UPDATE buyer_budgets SET eps_spent = 0", "buyer_budgets", "eps_spent", "record"),
    ("UPDATE licenses SET eps_spent = 0, queries_used = 0", "licenses", "queries_used", "record"),
    (f"UPDATE authorizations SET operator_id = {OP2}", "authorizations", "operator_id", "tx"),
    ("UPDATE authorizations SET max_classification = 'core'", "authorizations", "max_classification", "tx"),
    ("UPDATE offers SET payees = replace(payees, '7000', '6000') WHERE kind = 'one_off'", "offers", "payees",
     "record"),
    ("UPDATE vouchers SET amount_fen = 5000", "vouchers", "amount_fen", "record"),
    ("UPDATE vouchers SET redeemed_fen = 0", "vouchers", "redeemed_fen", "record"),
    ("UPDATE vouchers SET programme_id = NULL", "vouchers", "programme_id", "record"),
    ("UPDATE vouchers SET reclaimed_fen = 0", "vouchers", "reclaimed_fen", "record"),
    ("UPDATE voucher_programmes SET annual_budget_fen = annual_budget_fen * 2", "voucher_programmes",
     "annual_budget_fen", "record"),
    ("UPDATE accounts SET name = 'someone else' WHERE role = 'buyer'", "accounts", "name", "record"),
    ("UPDATE accounts SET address = '0x' || substr(address, 4) || '0' WHERE role = 'buyer'", "accounts", "address",
     "record"),
    ("UPDATE reviews SET decision = 'reject'", "reviews", "decision", "record"),
    ("UPDATE price_caps SET cap_fen = 9000", "price_caps", "cap_fen", "record"),
    ("UPDATE price_cap_rules SET trial_cap_fen = 9", "price_cap_rules", "trial_cap_fen", "record"),
    ("UPDATE orders SET quantity = 2", "orders", "quantity", "record"),
    ("UPDATE license_charges SET refunded = 0", "license_charges", "refunded", "record"),
    ("UPDATE budget_policies SET eps_cap = eps_cap * 2", "budget_policies", "eps_cap", "record"),
    ("UPDATE negotiations SET state = 'agreed' WHERE state = 'requested'", "negotiations", "state", "record"),
    ("UPDATE licenses SET status = 'escrowed' WHERE status = 'refunded'", "licenses", "status", "record"),
    ("UPDATE licenses SET payouts = replace(payouts, '210', '200') WHERE amount_fen = 300", "licenses", "payouts",
     "record"),
    ("UPDATE products SET version = version + 1", "products", "version", "tx"),
    ("UPDATE offers SET active = 0 WHERE kind = 'one_off'", "offers", "active", "record"),
    ("UPDATE offers SET payees = replace(payees, '0x', '0x1') WHERE kind = 'one_off'", "offers", "payees", "tx"),
    ("UPDATE licenses SET terms_hash = 'ab' || substr(terms_hash, 3)", "licenses", "terms_hash", "record"),
    ("UPDATE licenses SET use = 'commercial' WHERE use = 'public_welfare'", "licenses", "use", "record"),
    ("UPDATE public_welfare_users SET eligible = 0", "public_welfare_users", "eligible", "record"),
    ("UPDATE revenue_allowances SET allowed_fen = 90000", "revenue_allowances", "allowed_fen", "record"),
    ("UPDATE declared_costs SET amount_fen = amount_fen + 1", "declared_costs", "amount_fen", "record"),
    ("UPDATE published_reports SET report_hash = 'ab' || substr(report_hash, 3)", "published_reports", "report_hash",
     "record"),
    ("UPDATE objections SET status = 'upheld'", "objections", "status", "record"),
    ("UPDATE product_revisions SET status = 'approved'", "product_revisions", "status", "record"),
    ("UPDATE product_revisions SET kind = 'change' WHERE kind = 'cancellation'", "product_revisions", "kind",
     "record"),
    ("UPDATE product_revisions SET grounds = 'other evidence' WHERE kind = 'correction'", "product_revisions",
     "grounds", "record"),
]


@pytest.mark.parametrize(("sql", "table", "column", "by"), TAMPERS, ids=[f"{t[1]}.{t[2]}" for t in TAMPERS])
def test_a_row_edit_is_named(own: Server, history: dict[str, Any], tmp_path: Path, sql: str, table: str,
                             column: str, by: str) -> None:
    report = _verify_copy(own, tmp_path, sql)
    div = report["divergence"]
    assert not report["ok"] and div["kind"] == "row_mismatch", report
    assert (div["table"], div["field"]) == (table, column), div
    assert div["row"] is not None
    assert div[by] is not None, div


ROWS = [
    ("INSERT INTO license_charges (id, license_id, buyer_id, product_id, unit_price_fen, eps, delta, rho, kinds, "
     "refunded, created_at) SELECT 'forged', license_id, buyer_id, product_id, 0, 0, 0, 0, '[]', 0, created_at "
     "FROM license_charges LIMIT 1", "row_unrecorded", "license_charges"),
    ("INSERT INTO provider_nodes (account_id, node_id, url, public_key, registered_at, updated_at) SELECT id, "
     "'forged', 'http://forged', 'ab', created_at, created_at FROM accounts WHERE id NOT IN "
     "(SELECT account_id FROM provider_nodes) LIMIT 1",  # the server's provider has its serving node already
     "row_unrecorded", "provider_nodes"),
    ("DELETE FROM vouchers", "row_missing", "vouchers"),
    ("DELETE FROM license_charges WHERE refunded", "row_missing", "license_charges"),
]


@pytest.mark.parametrize(("sql", "kind", "table"), ROWS, ids=[f"{r[1]}-{r[2]}" for r in ROWS])
def test_an_inserted_or_deleted_row_is_named(own: Server, history: dict[str, Any], tmp_path: Path, sql: str,
                                             kind: str, table: str) -> None:
    report = _verify_copy(own, tmp_path, sql)
    div = report["divergence"]
    assert not report["ok"] and (div["kind"], div["table"]) == (kind, table), report


def test_a_budget_reset_on_the_live_database_is_caught(own: Server, history: dict[str, Any]) -> None:
    with own.db().begin() as conn:
        saved = conn.execute(sa.text("SELECT product_id, buyer_id, eps_spent FROM buyer_budgets")).all()
        conn.execute(sa.text("UPDATE buyer_budgets SET eps_spent = 0"))
    try:
        with own.client("auditor") as c:
            report = c.post("/audit/verify").json()
    finally:
        with own.db().begin() as conn:
            for product, buyer, spent in saved:
                conn.execute(sa.text("UPDATE buyer_budgets SET eps_spent = :e WHERE product_id = :p AND "
                                     "buyer_id = :b"), {"e": spent, "p": product, "b": buyer})
    div = report["divergence"]
    assert not report["ok"] and (div["table"], div["field"]) == ("buyer_budgets", "eps_spent"), report
    assert div["record"] is not None


def _chain_only_sale(server: Server) -> str:
    """The operator registers, the exchange's key lists, the operator offers, a buyer buys: all by direct
    contract calls, nothing through the exchange. Returns the purchase's transaction hash."""
    ledger, operator = server.ledger, server.accounts["operator"]
    with server.db().connect() as conn:
        authz, resources = conn.execute(sa.text(
            "SELECT id, resource_ids FROM authorizations ORDER BY pk LIMIT 1")).one()
    pid, oid, lid = "chain-only-product", "chain-only-offer", "chain-only-license"
    ledger.client.fund(server.accounts["authority"], operator.address, 10**17)
    ledger.register_product(operator, pid, authz, json.loads(resources), b"\x01" * 32, "agriculture")
    from ledger.contracts import ProductStatus

    ledger.set_product_status(server.accounts["exchange"], pid, ProductStatus.LISTED)
    ledger.publish_offer(operator, oid, pid, [(1, 100)], [(operator.address, 10_000)])
    buyer = server.accounts["buyer"]
    ledger.client.fund(server.accounts["authority"], buyer.address, 10**17)
    mint(server, server.ids["buyer"], 1_000)
    ledger.send(server.accounts["authority"], ledger.acts.set_public_welfare_user(buyer.address, True))
    return ledger.buy_license(buyer, lid, oid, 1, b"\x02" * 32).tx_hash


def test_chain_only_activity_is_named_in_both_modes(own: Server, history: dict[str, Any], tmp_path: Path) -> None:
    tx = _chain_only_sale(own)
    _settled(own)
    report = _verify_copy(own, tmp_path)
    div = report["divergence"]
    assert not report["ok"] and div["kind"] == "chain_only", report
    assert div["table"] == "products" and div["row"] == "0x" + chain_id_of("chain-only-product").hex()
    found = {(d["table"], d["tx"]) for d in [div, *report["also"]]}
    assert ("licenses", tx) in found, report["also"]
    assert "public_welfare_users" in {d["table"] for d in report["also"]}, report["also"]  # a naming off the books
    with Session(own.db()) as s:
        records = [StoredRecord(r.seq, r.body) for r in stored_records(s)]
    exported = list(reconcile_export(records, own.ledger))
    assert exported and exported[0].kind == "chain_only", exported
    assert tx in {d.tx for d in exported if d.table == "licenses"}, exported
    folder = tmp_path / "export"  # the same through the CLI: `audit export`, then `audit verify --from`
    provex = [str(VENV_BIN / "provex"), "audit"]
    subprocess.run([*provex, "export", str(folder), "--json"], env=own.env, check=True, capture_output=True)
    out = subprocess.run([*provex, "verify", "--from", str(folder), "--rpc", own.env["PROVEX_RPC_URL"], "--json"],
                         env=own.env, capture_output=True, text=True)
    offline = json.loads(out.stdout)
    assert out.returncode == 1 and offline["divergence"]["kind"] == "chain_only", offline
    assert tx in {d["tx"] for d in offline["also"]}, offline

