"""The operator's and the provider's pages: every message they draw exists in both languages (literal keys in the
templates, and the keys made from API values), every refusal they map has its message, and the revenue chart's
geometry."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from api.portal.i18n import LANGS, MESSAGES
from api.portal.i18n_operator import OPERATOR_ERRORS
from api.portal.operating import BASES, COLUMN_TYPES, FREQUENCIES, OFFER_KINDS, QUERY_KINDS
from api.portal.revenue_chart import revenue_chart
from privacy.provider.policy import TYPES, USES
from registry.catalog import CatalogQuery
from registry.models import Role

TEMPLATES = Path(__file__).parents[2] / "api" / "portal" / "templates"
PAGES = ("operator.html", "operator_product.html", "operator_offer_form.html", "operator_register.html",
         "provider.html", "base.html")
NODE_STATES = ("serving", "unreachable", "mismatch", "uncovered", "no_node")


def _made_keys() -> set[str]:
    statuses = get_args(get_args(CatalogQuery.model_fields["status"].annotation)[0])
    return ({f"node_{s}" for s in NODE_STATES} | {f"stage_{s}" for s in statuses} | set(statuses)
            | {f"ctype_{t}" for t in COLUMN_TYPES} | {f"freq_{f}" for f in FREQUENCIES} | set(OFFER_KINDS)
            | {f"basis_{b}" for b in BASES} | {f"qk_{k}" for k in QUERY_KINDS} | {f"ptype_{t}" for t in TYPES}
            | {f"use_{u}" for u in USES} | {f"role_{r.value}" for r in Role} | {"nav_operator", "nav_provider"}
            | {f"op_decision_{d}" for d in ("approve", "reject")}
            | {f"revkind_{k}" for k in ("change", "correction", "cancellation")}
            | {f"payee_{r}" for r in ("provider", "operator", "authority", "exchange")}
            | {message for _field, message in OPERATOR_ERRORS.values()})


def test_every_message_of_the_pages_is_in_both_languages() -> None:
    literal = {k for name in PAGES for k in re.findall(r"t\('([a-z0-9_]+)'\)", (TEMPLATES / name).read_text())}
    missing = sorted(k for k in literal | _made_keys() if not all(MESSAGES.get(k, {}).get(lang) for lang in LANGS))
    assert missing == []


def test_revenue_columns_per_month_settled_under_escrowed() -> None:
    chart = revenue_chart([{"period": "2026-02", "amount_fen": 100, "escrowed_fen": 0},
                           {"period": "2026-01", "amount_fen": 300, "escrowed_fen": 100},
                           {"period": "2026-02", "amount_fen": 100, "escrowed_fen": 0}])
    assert chart is not None and chart.top_fen == 400
    first, second = chart.columns
    assert (first.label, first.settled_fen, first.escrowed_fen) == ("2026-01", 300, 100)
    assert (second.label, second.settled_fen) == ("2026-02", 200)
    assert first.settled_h == 3 * first.escrowed_h and first.escrowed_y + first.escrowed_h == first.settled_y
    assert second.settled_h == first.settled_h * 2 / 3 and first.x < second.x
    assert revenue_chart([]) is None
