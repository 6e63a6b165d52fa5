"""Post/redirect/get in the portal over real HTTP: every form's POST answers 303 with the GET page that shows the
outcome; a query's result page reloads without running the query (or spending ε) again; the language switch
keeps the page it is on, also after a form; the exchange's checklist starts unchecked with no decision, and a
rejection's reasons reach the operator's product page."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api.test_portal_security import TOKEN, Browser, signed_act
from tests.utils.builders import CHECKLIST, authorized, make_product
from tests.utils.queries import (
    QueryEnv,
    buy_license,
    license_state,
    listed_product,
    register_nodes,
    start_nodes,
    write_data,
)
from tests.utils.server import Server

LANG_LINK = re.compile(r'<a href="([^"]+)" hreflang="(zh|en)"')


def lang_links(html: str) -> dict[str, str]:
    return {lang: href.replace("&amp;", "&") for href, lang in LANG_LINK.findall(html)}


def form_post(b: Browser, path: str, data: dict[str, str]) -> httpx.Response:
    """A plain form POST as signer.js makes it after an act (or a person submits it): 303 and where to."""
    r = b.post(path, data)
    assert r.status_code == 303, (path, r.status_code, r.text)
    assert r.headers["location"].startswith("/portal/"), r.headers["location"]
    return r


def switch_language(b: Browser, html: str, lang: str) -> httpx.Response:
    """Follow the page's language link: the same page, in `lang`, as HTML (never a JSON error)."""
    target = lang_links(html)[lang]
    assert target.startswith("/"), target  # absolute: it names the page, not whatever URL the browser is at
    r = b.http.get(target)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), (target, r.text[:300])
    assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in r.text
    return r


def test_sign_in_and_out_answer_303_and_a_refused_key_is_said_on_the_page(server: Server) -> None:
    with Browser(server) as b:
        form = b.http.get("/portal/signin?lang=en&next=/portal/auditor")
        token = TOKEN.search(form.text)
        assert token
        r = b.http.post("/portal/signin", data={"api_key": "pxk_wrong", "csrf_token": token.group(1),
                                                "next": "/portal/auditor"}, headers={"Origin": server.url})
        assert r.status_code == 303 and r.headers["location"].startswith("/portal/signin?failed=1")
        page = b.http.get(r.headers["location"])
        assert page.status_code == 200 and "The API key was not accepted" in page.text
        assert 'name="next" value="/portal/auditor"' in page.text  # the page asked for is kept
        zh = switch_language(b, page.text, "zh")
        assert "API 密钥未被接受" in zh.text
        r = b.http.post("/portal/signin", data={"api_key": server.keys["auditor"], "csrf_token": token.group(1),
                                                "next": "/portal/api/audit/verify"}, headers={"Origin": server.url})
        assert r.status_code == 303 and r.headers["location"] == "/portal/auditor"  # never to the proxy
        b.csrf = TOKEN.search(b.http.get("/portal/auditor").text).group(1)  # type: ignore[union-attr]
        r = form_post(b, "/portal/signout", {})
        assert r.headers["location"] == "/portal/signin"


def test_an_act_leaves_its_outcome_and_the_language_switch_keeps_the_page(server: Server) -> None:
    authz = authorized(server)
    with Browser(server) as b:
        b.sign_in(server.keys["authority"])
        assert signed_act(b, "authority", f"/authorizations/{authz['code']}/revoke",
                          {"reason": "withdrawn"}).status_code == 200
        r = form_post(b, "/portal/done", {"next": "/portal/authority?lang=en", "done": "done_revoked"})
        assert r.headers["location"] == "/portal/authority?lang=en"
        page = b.http.get(r.headers["location"])
        assert 'data-testid="flash"' in page.text and "The authorization is revoked." in page.text
        zh = switch_language(b, page.text, "zh")  # after the form, the switch gives the same page in Chinese
        assert "授权已撤销" not in zh.text  # the message was shown once
        assert lang_links(zh.text)["en"] == "/portal/authority?lang=en"
        assert "主管部门" in zh.text and authz["code"] in zh.text
        for unsafe in ("/portal/api/vouchers", "//evil.example/x", "https://evil.example/"):
            r = form_post(b, "/portal/done", {"next": unsafe, "done": "not-a-message"})
            assert r.headers["location"] == "/portal/catalog", unsafe
        page = b.http.get("/portal/catalog?lang=en&sector=energy")
        assert "Signed and done." in page.text  # an unknown message key falls back to the generic one
        assert lang_links(page.text) == {"zh": "/portal/catalog?sector=energy&lang=zh",
                                         "en": "/portal/catalog?sector=energy&lang=en"}
        page = b.http.get("/portal/catalog?lang=en&sort=price_desc")  # the catalog's order is kept in the form
        assert '<option value="price_desc" selected>Price, highest first</option>' in page.text


def test_a_query_result_page_reloads_without_spending_again(server: Server, tmp_path: Path) -> None:
    env = QueryEnv(server)
    nodes = start_nodes(server, {"forms-node": write_data(tmp_path / "f.csv", 90, seed=11)}, tmp_path)
    try:
        register_nodes(env, nodes)
        with server.client("exchange") as ex:
            assert ex.post("/dev/mint", json={"account_id": server.ids["buyer"], "amount_fen": 10**6}).is_success
        lic = buy_license(env, listed_product(env, ["forms-node"]), epsilon=2.0)
        sql = "SELECT COUNT(*) FROM data GROUP BY region"
        with Browser(server) as b:
            b.sign_in(server.keys["buyer"])
            answer = signed_act(b, "buyer", "/queries", {"license_id": lic["id"], "sql": sql, "epsilon": 0.5})
            assert answer.status_code == 200, answer.text
            spent = license_state(env, lic["id"])["epsilon_left"]
            assert spent == pytest.approx(1.5, abs=0.01)
            r = form_post(b, "/portal/buyer/result", {"form": json.dumps({"sql": sql, "epsilon": "0.5"}),
                                                      "response": answer.text})
            result_page = r.headers["location"]
            assert re.fullmatch(r"/portal/buyer/results/[\w-]+", result_page), result_page
            for _ in range(3):  # reloads: the same result, nothing run, nothing spent
                page = b.http.get(result_page + "?lang=en")
                assert page.status_code == 200 and 'id="result"' in page.text
                assert answer.json()["plan_hash"][:12] in page.text and sql in page.text
            assert license_state(env, lic["id"])["epsilon_left"] == spent
            zh = switch_language(b, page.text, "zh")
            assert 'id="result"' in zh.text and "<h1>我的许可与查询</h1>" in zh.text
            assert lang_links(zh.text)["en"] == result_page + "?lang=en"
            assert license_state(env, lic["id"])["epsilon_left"] == spent
            r = b.post("/portal/buyer/result", {"form": "{}", "response": json.dumps({"not": "a result"})})
            assert r.status_code == 422
        with Browser(server) as other:  # another session cannot open it
            other.sign_in(server.keys["buyer"])
            gone = other.http.get(result_page + "?lang=en")
            assert gone.status_code == 404 and "no longer kept" in gone.text and 'id="result"' not in gone.text
    finally:
        for node in nodes.values():
            node.kill()


def test_a_verification_report_is_kept_and_shown_by_id(server: Server) -> None:
    with Browser(server) as b:
        b.sign_in(server.keys["auditor"])
        report = signed_act(b, "auditor", "/audit/verify", {})
        assert report.status_code == 200, report.text
        r = form_post(b, "/portal/auditor/report", {"form": json.dumps({"product": ""}), "response": report.text})
        assert re.fullmatch(r"/portal/auditor/reports/[\w-]+", urlsplit(r.headers["location"]).path)
        page = b.http.get(r.headers["location"] + "?lang=en")
        assert page.status_code == 200 and 'data-testid="verdict"' in page.text
        assert f"{report.json()['records']} records" in page.text
        zh = switch_language(b, page.text, "zh")
        assert 'data-testid="verdict"' in zh.text


def test_the_checklist_starts_unchecked_and_a_rejection_reaches_the_operator(server: Server) -> None:
    product = make_product(server, stage="submitted")
    code = product["code"]
    with Browser(server) as b:
        b.sign_in(server.keys["exchange"])
        assert signed_act(b, "exchange", f"/products/{code}/review/start", {}).status_code == 200
        for lang, decide, reasons in (("en", "Choose approve or reject.", "Write the reasons"),
                                      ("zh", "请选择“通过”或“驳回”。", "请填写理由")):
            page = b.http.get(f"/portal/exchange?lang={lang}").text
            form = re.search(rf'<form class="checklist" data-api-path="/products/{code}/review".*?</form>', page,
                             re.DOTALL)
            assert form, page
            inputs = re.findall(r"<input[^>]*>", form.group(0))
            assert len([i for i in inputs if 'type="checkbox"' in i]) == 5
            assert len([i for i in inputs if 'type="radio"' in i]) == 2
            assert not any(re.search(r"\schecked\b", i) for i in inputs), inputs  # nothing ticked, no decision
            assert f'data-message="{decide}"' in form.group(0)
            assert re.search(rf'<textarea name="reasons"[^>]*data-required data-message="{reasons}', form.group(0))
        refused = signed_act(b, "exchange", f"/products/{code}/review",
                             {"decision": "reject", "checklist": CHECKLIST, "reasons": ""})
        assert refused.status_code == 422 and refused.json()["field"].endswith("reasons")  # the API holds it too
        why = "The sample contains a column of national ID numbers."
        decided = signed_act(b, "exchange", f"/products/{code}/review",
                             {"decision": "reject", "checklist": {**CHECKLIST, "personal_information_removed": False},
                              "reasons": why})
        assert decided.status_code == 200, decided.text
        r = form_post(b, "/portal/done", {"next": "/portal/exchange?lang=en", "done": "done_reviewed"})
        page = b.http.get(r.headers["location"]).text
        assert "The review decision is recorded." in page and "Rejected products" in page
        assert f'href="/portal/products/{code}#reviews"' in page
    with Browser(server) as op:
        op.sign_in(server.keys["operator"])
        for lang, heading in (("en", "Reasons for the rejection"), ("zh", "驳回理由")):
            page = op.http.get(f"/portal/products/{code}?lang={lang}")
            assert page.status_code == 200
            assert 'id="reviews"' in page.text and why in page.text and heading in page.text


def test_notices_are_public_and_the_exchange_and_operator_see_objections_and_revisions(server: Server) -> None:
    """Anyone sees the notices; the exchange's page resolves objections and reviews revisions; the operator's
    product page shows its revision and its review."""
    noticed = make_product(server, stage="under_review", title="Portal notice: hay yields")
    listed = make_product(server, stage="listed", title="Portal revision: rainfall")
    with server.client("exchange") as ex, server.client("buyer") as buyer, server.client("operator") as op:
        r = ex.post(f"/products/{noticed['id']}/review", json={"decision": "approve", "checklist": CHECKLIST,
                                                                "reasons": "ok", "notice_days": 1})
        assert r.status_code == 200, r.text
        objection = buyer.post(f"/products/{noticed['id']}/objections", json={"reasons": "doubtful source"}).json()
        rev = op.post(f"/products/{listed['id']}/revisions", json={"title": "Portal revision: rainfall v2"}).json()
    with httpx.Client(base_url=server.url) as anon:  # no sign-in
        page = anon.get("/portal/notices?lang=en")
        assert page.status_code == 200 and noticed["code"] in page.text and "Public notices" in page.text
    with Browser(server) as b:
        b.sign_in(server.keys["exchange"])
        page = b.http.get("/portal/exchange?lang=en").text
        assert f'data-api-path="/products/{noticed["code"]}/objections/{objection["id"]}/resolution"' in page
        assert "doubtful source" in page
        assert f'data-api-path="/products/{listed["code"]}/revisions/{rev["id"]}/decision"' in page
    with Browser(server) as o:
        o.sign_in(server.keys["operator"])
        page = o.http.get(f"/portal/products/{listed['code']}?lang=en").text
        assert f'data-revision="{rev["id"]}" data-status="pending"' in page and "Portal revision: rainfall v2" in page
        assert "<h1>Portal revision: rainfall " in page  # the listed version's title
