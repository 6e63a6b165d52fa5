"""An API refusal in the page's language. The API answers `{"error": code, "detail": text}` in English; a form
with a message of its own for the code shows that (`data-errors`), any other refusal shows what `refusal_text`
makes of it: the rule's meaning in the page's language (`i18n_rules.RULES`), with the API's detail kept beside it
(it names the amounts, fields and ids the sentence cannot)."""

from __future__ import annotations

import json
from typing import Any

from api.portal.i18n_rules import RULES

UNKNOWN = ("The exchange refused the request", "交易所拒绝了该请求")


def refusal_text(code: str, detail: str, lang: str) -> str:
    """One line for a refusal: in English the API's own detail (a rule's name gets its meaning first), in Chinese
    the rule's meaning with the detail in brackets."""
    en, zh = RULES.get(code, UNKNOWN)
    if lang == "en":
        return f"{en.rstrip('.')} ({detail})." if code[:1].isupper() or code not in RULES else detail
    return f"{zh.rstrip('。')}（{detail or code}）。"


def translated_refusal(content: bytes, lang: str) -> bytes | None:
    """An API error body with `message` (and each field's message) in the page's language; None when the body
    is no API error."""
    try:
        body = json.loads(content)
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return None
    code, detail = body["error"], str(body.get("detail") or "")
    body["message"] = refusal_text(code, detail, lang)
    fields: Any = body.get("fields")
    if lang != "en" and isinstance(fields, list):
        for f in fields:
            if isinstance(f, dict):
                f["message"] = refusal_text(code, str(f.get("message") or ""), lang)
    return json.dumps(body, ensure_ascii=False).encode()
