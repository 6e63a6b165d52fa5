"""Every refusal the API can give has a meaning in both languages, and the portal's proxy says it in the page's
language: the rule's sentence with the API's detail beside it (the amounts and ids the sentence cannot name)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from api.portal.i18n_rules import RULES
from api.portal.refusals import refusal_text
from tests.api.test_portal_security import Browser, signed_act
from tests.utils.builders import authorized
from tests.utils.common import repo_root
from tests.utils.server import Server

CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
ACRONYMS = {"ID", "SQL", "API", "ETH", "EVM", "IP", "URL", "JSON", "CSV", "HTTP", "CSRF"}


def raised_codes() -> set[str]:
    """Rule names raised in Python (`RuleViolation("Name", …)`), error classes' `code`s, Solidity custom errors."""
    codes: set[str] = set()
    root = repo_root()
    for package in ("api", "registry", "privacy", "ledger"):
        for path in (root / package).rglob("*.py"):
            for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(n, ast.Call) and getattr(n.func, "id", None) == "RuleViolation" and n.args
                        and isinstance(n.args[0], ast.Constant)):
                    codes.add(str(n.args[0].value))
                elif isinstance(n, ast.ClassDef):
                    codes |= {str(b.value.value) for b in n.body if isinstance(b, ast.Assign)
                              and any(getattr(t, "id", None) == "code" for t in b.targets)
                              and isinstance(b.value, ast.Constant)}
    for sol in Path(root / "contracts").glob("*.sol"):
        codes |= set(re.findall(r"^\s*error (\w+)\(", sol.read_text(encoding="utf-8"), re.M))
    return codes


def test_every_refusal_has_a_meaning_in_both_languages() -> None:
    missing = sorted(raised_codes() - RULES.keys())
    assert not missing, f"no sentence in api/portal/i18n_rules.py for {missing}"
    for code, (en, zh) in RULES.items():
        assert en.strip() and not CJK.search(en), (code, en)
        assert CJK.search(zh), (code, zh)
        assert set(LATIN_WORD.findall(zh)) <= ACRONYMS, (code, zh)


def test_a_rule_reads_as_its_sentence_with_the_detail_beside_it() -> None:
    en, zh = RULES["PriceAboveCap"]
    detail = "PriceAboveCap(priceFen=900, capFen=500)"
    assert refusal_text("PriceAboveCap", detail, "en") == f"{en.rstrip('.')} ({detail})."
    assert refusal_text("PriceAboveCap", detail, "zh") == f"{zh.rstrip('。')}（{detail}）。"
    assert refusal_text("not_found", "product PX-1 not found", "en") == "product PX-1 not found"
    assert refusal_text("no_such_code", "odd", "zh") == "交易所拒绝了该请求（odd）。"


def test_the_proxy_says_a_refusal_in_the_pages_language(server: Server) -> None:
    authz = authorized(server)
    path = f"/authorizations/{authz['code']}/revoke"
    with Browser(server) as b:
        b.sign_in(server.keys["authority"])
        assert signed_act(b, "authority", path, {"reason": "the term ended"}).status_code == 200
        for lang, sentence in (("zh", RULES["AuthorizationAlreadyRevoked"][1]),
                               ("en", RULES["AuthorizationAlreadyRevoked"][0])):
            assert b.http.get(f"/portal/authority?lang={lang}").status_code == 200  # the page's language, kept
            again = signed_act(b, "authority", path, {"reason": "again"})
            body = again.json()
            assert again.status_code == 409 and body["error"] == "AuthorizationAlreadyRevoked", again.text
            assert body["message"].startswith(sentence.rstrip("。.")) and body["detail"] in body["message"]
        assert b.http.get("/portal/authority?lang=zh").status_code == 200
        bad = signed_act(b, "authority", "/resources", {"name": ""}).json()  # schema: fields in Chinese
        assert bad["error"] == "invalid_input" and bad["fields"]
        said = RULES["invalid_input"][1].rstrip("。")
        assert all(f["message"].startswith(said) for f in bad["fields"]), bad["fields"]
