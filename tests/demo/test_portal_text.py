"""Every portal page each demo participant can reach, in Chinese and in English: no raw JSON, no Python/JS value
leaking through, no untranslated message key; in Chinese no English status, role or type word, in English no Chinese
text (the participants' own data — product, column, resource and organisation names — and code elements — hashes,
ids, SQL — excepted)."""

from __future__ import annotations

import ast
import re
from typing import Any

import httpx

from tests.demo.test_portal import as_role
from tests.utils.common import repo_root
from tests.utils.demo import LiveDemo

__all__ = ["as_role"]
WHO = ("buyer", "exchange", "authority", "auditor", "operator_xlg", "provider_xlg-east")
RAW_JSON = re.compile(r'\{"|":\s|\[\{')
LEAKS = re.compile(r"\b(None|undefined|NaN|null|True|False)\b")
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")
KEY = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
ENGLISH = re.compile(r"\b(buyer|operator|exchange|authority|auditor|provider|listed|approved|rejected|pending|"
                     r"confirmed|draft|submitted|suspended|delisted|escrowed|refunded|active|revoked|expired|noise|"
                     r"plan|one-off|metered|subscription|negotiable|general|important|core|requested|offered|"
                     r"agreed|terminated|cancelled)\b", re.I)
VISIBLE_TEXT = """() => { const m = document.querySelector('main').cloneNode(true);
  m.querySelectorAll('code, pre, textarea, script, [data-raw]').forEach(e => e.remove());
  m.querySelectorAll('th, td, li, dt, dd, option').forEach(e => e.append(' '));
  return m.innerText; }"""


def column_names(live_demo: LiveDemo) -> set[str]:
    with httpx.Client(base_url=live_demo.url, headers={"Authorization": f"Bearer {live_demo.key('buyer')}"}) as c:
        items = c.get("/catalog", params={"limit": 100}).json()["items"]
    return {col["name"] for p in items for col in p["columns"]} | {p["code"] for p in items}


def story_strings() -> list[str]:
    """Every Chinese string the demo's participants write (the story's names, descriptions, reasons, objections…,
    and what the other demo tests have them write), read from the source: theirs, in their language, on an English
    page too."""
    found: list[str] = []
    for path in [*(repo_root() / "api" / "demo").glob("*.py"), *(repo_root() / "tests" / "demo").glob("*.py")]:
        found += [n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                  if isinstance(n, ast.Constant) and isinstance(n.value, str) and CJK.search(n.value)]
    return found


def pages_of(page: Any, live_demo: LiveDemo, who: str) -> list[str]:
    """The role's nav pages, and the detail pages one click away that every role has (a product page)."""
    nav = page.locator("header nav a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    extra = {"buyer": ["/portal/buyer/licenses", "/portal/buy"], "auditor": ["/portal/auditor/records/1"]}
    return [*nav, *extra.get(who, []), "/portal/products/PX-2026-000001"]


def problems(text: str, allowed: set[str]) -> list[str]:
    found = [f"raw JSON {m.group(0)!r}" for m in RAW_JSON.finditer(text)]
    found += [f"leak {m.group(0)!r}" for m in LEAKS.finditer(text)]
    found += [f"key {m.group(0)!r}" for m in KEY.finditer(text) if m.group(0) not in allowed]
    found += [f"English {m.group(0)!r}" for m in ENGLISH.finditer(text) if m.group(0) not in allowed]
    return found


def crawl(as_role: Any, live_demo: LiveDemo, lang: str, check: Any) -> dict[str, list[str]]:
    report: dict[str, list[str]] = {}
    for who in WHO:
        page = as_role(who, lang=lang, key=False)
        for path in dict.fromkeys(pages_of(page, live_demo, who)):
            page.goto(f"{live_demo.url}{path}")
            found = check(page.evaluate(VISIBLE_TEXT))
            if found:
                report[f"{who} {path}"] = sorted(set(found))
    return report


def test_no_page_shows_raw_json_or_untranslated_text(as_role: Any, live_demo: LiveDemo) -> None:
    allowed = column_names(live_demo)
    report = crawl(as_role, live_demo, "zh", lambda text: problems(text, allowed))
    assert not report, "\n".join(f"{k}: {v}" for k, v in report.items())


def test_no_english_page_shows_raw_json_or_chinese_text(as_role: Any, live_demo: LiveDemo) -> None:
    allowed, own = column_names(live_demo), story_strings()

    def check(text: str) -> list[str]:
        found = [f for f in problems(text, allowed) if not f.startswith("English")]
        return found + [f"Chinese {m.group(0)!r}" for m in CJK.finditer(text) if not any(m.group(0) in s for s in own)]

    report = crawl(as_role, live_demo, "en", check)
    assert not report, "\n".join(f"{k}: {v}" for k, v in report.items())
