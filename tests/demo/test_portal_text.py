"""Every portal page each demo participant can reach, in Chinese: no raw JSON, no Python/JS value leaking through,
no untranslated message key and no English status, role or type word (the product's own column names and code
elements — hashes, ids, SQL — excepted)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.demo.test_portal import as_role
from tests.utils.demo import LiveDemo

__all__ = ["as_role"]
WHO = ("buyer", "exchange", "authority", "auditor", "operator_xlg", "provider_xlg-east")
RAW_JSON = re.compile(r'\{"|":\s|\[\{')
LEAKS = re.compile(r"\b(None|undefined|NaN|null|True|False)\b")
KEY = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
ENGLISH = re.compile(r"\b(buyer|operator|exchange|authority|auditor|provider|listed|approved|rejected|pending|"
                     r"confirmed|draft|submitted|suspended|delisted|escrowed|refunded|active|revoked|expired|noise|"
                     r"plan|one-off|metered|subscription|negotiable|general|important|core|requested|offered|"
                     r"agreed|terminated|cancelled)\b", re.I)
VISIBLE_TEXT = """() => { const m = document.querySelector('main').cloneNode(true);
  m.querySelectorAll('code, pre, textarea, script, [data-raw]').forEach(e => e.remove());
  m.querySelectorAll('th, td, li, dt, dd').forEach(e => e.append(' '));
  return m.innerText; }"""


def column_names(live_demo: LiveDemo) -> set[str]:
    with httpx.Client(base_url=live_demo.url, headers={"Authorization": f"Bearer {live_demo.key('buyer')}"}) as c:
        items = c.get("/catalog", params={"limit": 100}).json()["items"]
    return {col["name"] for p in items for col in p["columns"]} | {p["code"] for p in items}


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


def test_no_page_shows_raw_json_or_untranslated_text(as_role: Any, live_demo: LiveDemo) -> None:
    allowed = column_names(live_demo)
    report: dict[str, list[str]] = {}
    for who in WHO:
        page = as_role(who, lang="zh", key=False)
        for path in dict.fromkeys(pages_of(page, live_demo, who)):
            page.goto(f"{live_demo.url}{path}")
            found = problems(page.evaluate(VISIBLE_TEXT), allowed)
            if found:
                report[f"{who} {path}"] = sorted(set(found))
    assert not report, "\n".join(f"{k}: {v}" for k, v in report.items())
