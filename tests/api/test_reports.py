"""Issue 16: revenue above the operator's maximum allowed revenue is flagged as it settles and carried as a
deduction into the next year; a published annual report is recomputed by `provex audit report` from the verified
log and chain and matches; a tampered stored report (a changed number, a hash other than its record's) is named."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from registry.reports.audit import audit_database
from registry.reports.build import report_hash
from registry.reports.period import year_of
from tests.api.test_portal_security import Browser
from tests.utils.common import repo_root
from tests.utils.server import VENV_BIN, Server
from tests.utils.trading import bought, listed_product, make_offer, new_account


@pytest.fixture(scope="module")
def sold(servers: dict[str, Server]) -> dict[str, Any]:
    """This year's maximum for the operator set 1,500 fen above its revenue so far; then two 1,000-fen sales."""
    server = servers["sqlite"]
    year, op = year_of(datetime.now(UTC)), server.ids["operator"]
    product = listed_product(server)
    offer = make_offer(server, product, "one_off", [(1, 1000)])
    buyer = new_account(server, fen=5000)
    with server.client("authority") as a:
        before = a.get("/revenue", params={"year": year, "operator_id": op}).json()[0]["revenue_fen"]
        r = a.put("/revenue/allowances", json={"operator_id": op, "year": year, "allowed_fen": before + 1500})
        assert r.status_code == 200, r.text
    first, second = bought(server, buyer, offer), bought(server, buyer, offer)
    return {"server": server, "year": year, "op": op, "product": product, "licenses": [first, second],
            "before": before}


def test_revenue_above_the_maximum_is_flagged_as_it_settles_and_carried_into_next_year(sold: dict[str, Any]) -> None:
    server, year, op = sold["server"], sold["year"], sold["op"]
    with server.client("operator") as o:
        [row] = o.get("/revenue", params={"year": year}).json()
        assert (row["revenue_fen"] - sold["before"], row["excess_fen"], len(row["flags"])) == (2000, 500, 1)
        flag = o.get(f"/ledger/records/{row['flags'][0]}").json()["record"]
    assert flag["kind"] == "revenue.exceeded" and flag["actor"] == op
    assert (flag["data"]["license_id"], flag["data"]["added_fen"]) == (sold["licenses"][1]["id"], 500)
    with server.client("authority") as a:
        r = a.put("/revenue/allowances", json={"operator_id": op, "year": year + 1, "allowed_fen": 10_000})
        assert r.status_code == 200, r.text
        assert (r.json()["carried_fen"], r.json()["effective_fen"], r.json()["excess_fen"]) == (500, 9500, 0)
        bad = a.put("/revenue/allowances", json={"operator_id": server.ids["buyer"], "year": year, "allowed_fen": 1})
        assert bad.status_code == 422 and "not an operator" in bad.json()["detail"]
    with server.client("buyer") as b:
        assert b.get("/revenue", params={"year": year}).status_code == 403
    with Browser(server) as web:  # the authority's page shows it, in Chinese by default and in English
        web.sign_in(server.keys["authority"])
        html = web.http.get("/portal/reports", params={"year": year + 1}).text
        assert "上年超收扣减" in html and 'id="allowance-form"' in html
        row = re.search(rf'data-operator="{op}">(.*?)</tr>', html, re.S)
        assert row and "¥5.00" in row.group(1) and "¥95.00" in row.group(1), html  # carried and effective
        assert "Carried deduction" in web.http.get("/portal/reports", params={"lang": "en"}).text


def _provex(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VENV_BIN / "provex"), *args], env=env, capture_output=True, text=True,
                          cwd=repo_root(), timeout=180)


def _copy(server: Server, copy: Path, sql: str) -> str:
    """A copy of the server's database with one row edited by `sql`."""
    with sqlite3.connect(server.db_url.removeprefix("sqlite:///")) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)  # the live file may have writes still in its WAL
        assert dst.execute(sql).rowcount == 1
    return f"sqlite:///{copy}"


def test_the_published_report_is_recomputed_by_the_auditor_and_tampering_is_named(sold: dict[str, Any],
                                                                                  tmp_path: Path) -> None:
    server, year, op = sold["server"], sold["year"], sold["op"]
    with server.client("operator") as o, server.client("authority") as a:
        pub = o.post("/reports", json={"year": year})
        assert pub.status_code == 201, pub.text
        disclosure = a.post("/reports", json={"year": year})
        assert disclosure.status_code == 201, disclosure.text
    pub_id = pub.json()["id"]
    with server.client() as anon:  # disclosure is public
        assert {r["scope"] for r in anon.get("/reports", params={"year": year}).json()} >= {op, "authority"}
        text = anon.get(f"/reports/{pub_id}").text
        csv = anon.get(f"/reports/{pub_id}", params={"format": "csv"})
        html = anon.get(f"/reports/{pub_id}", params={"format": "html"}).text
    report = json.loads(text)
    assert report_hash(report) == pub.json()["report_hash"] and pub.json()["report_hash"] in html
    assert report["operating"]["revenue"]["excess_fen"] == 500 and "operating.revenue.excess_fen,500" in csv.text
    [sale] = [s for s in report["operating"]["sales"] if s["product_id"] == sold["product"]["id"]]
    assert (sale["charge_form"], sale["licenses"], sale["amount_fen"]) == ("one_off", 2, 2000)
    assert csv.headers["content-type"].startswith("text/csv")
    with server.client() as anon:
        authority = anon.get(f"/reports/{disclosure.json()['id']}").json()["authority"]
    [mine] = [r for r in authority["allowed_revenue"] if r["operator_id"] == op]
    assert (mine["excess_fen"], len(mine["flags"])) == (500, 1)

    (tmp_path / "report.json").write_text(text)
    assert _provex(server.env, "audit", "export", str(tmp_path / "export")).returncode == 0
    ok = _provex(server.env, "audit", "report", "--year", str(year), "--operator", op, "--from",
                 str(tmp_path / "export"), "--published", str(tmp_path / "report.json"), "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["report"]["record"] == pub.json()["record_seq"]

    edited = _copy(server, tmp_path / "edited.db", "UPDATE published_reports SET body = replace(body, "
                   f"'\"excess_fen\":500', '\"excess_fen\":0') WHERE id = '{pub_id}'")
    bad = _provex({**server.env, "PROVEX_DATABASE_URL": edited}, "audit", "report", "--year", str(year),
                  "--operator", op)
    assert bad.returncode == 1 and "report_mismatch at operating.revenue.excess_fen" in bad.stdout, bad.stdout
    assert "report_hash" in bad.stdout

    rehashed = _copy(server, tmp_path / "rehashed.db",
                     f"UPDATE published_reports SET report_hash = '{'0' * 64}' WHERE id = '{pub_id}'")
    with Session(sa.create_engine(rehashed)) as s:
        result = audit_database(s, server.ledger, year, op)
    assert not result["ok"]
    [d] = result["report"]["divergences"]
    assert (d["kind"], d["field"]) == ("report_hash", "published_reports.report_hash")
