"""The portal's messages for privacy budgets (gauges with their history, budget windows) and the query preview,
merged into `api.portal.i18n.MESSAGES`."""

from __future__ import annotations

BUDGET_MESSAGES: dict[str, dict[str, str]] = {
    "budget_license": {"zh": "本许可(当前周期)", "en": "This license (current window)"},
    "budget_mine": {"zh": "我在该产品上的总预算(所有许可)", "en": "My budget on this product (all my licenses)"},
    "budget_product_total": {"zh": "产品总预算(全部买方)", "en": "Product-wide budget (all buyers)"},
    "budget_spent": {"zh": "已用", "en": "spent"},
    "budget_cap": {"zh": "上限", "en": "cap"},
    "budget_no_cap": {"zh": "未设上限(仍计量)", "en": "no cap (still counted)"},
    "budget_window_day": {"zh": "按日刷新(UTC)", "en": "refreshes daily (UTC)"},
    "budget_window_week": {"zh": "按周刷新(UTC,周一起)", "en": "refreshes weekly (UTC, from Monday)"},
    "budget_window_month": {"zh": "按月刷新(UTC)", "en": "refreshes monthly (UTC)"},
    "budget_refreshes_at": {"zh": "下次刷新", "en": "next refresh"},
    "budget_never_refreshes": {"zh": "终身预算,不刷新", "en": "lifetime budget, never refreshes"},
    "budget_history": {"zh": "支出记录", "en": "Spend over time"},
    "budget_charges": {"zh": "次扣减", "en": "charges"},
    "budget_no_history": {"zh": "尚无支出。", "en": "Nothing spent yet."},
    "preview_query": {"zh": "预览费用", "en": "Preview"},
    "preview_help": {"zh": "预览:显示费用、剩余预算与每个发布单元格的预期误差,不运行、不扣减。",
                     "en": "Preview shows the cost, the budget left and the expected error of each released cell; "
                           "nothing is run or spent."},
    "preview_title": {"zh": "查询预览", "en": "Query preview"},
    "preview_refused": {"zh": "该查询将被拒绝", "en": "The license would refuse it"},
    "preview_cost": {"zh": "费用", "en": "Cost"},
    "preview_left_license": {"zh": "运行后本许可剩余", "en": "Left on the license after it"},
    "preview_left_mine": {"zh": "运行后我在该产品上剩余", "en": "Left on my product budget after it"},
    "preview_left_total": {"zh": "运行后产品总预算剩余", "en": "Left product-wide after it"},
    "preview_cell": {"zh": "发布单元格", "en": "Released cell"},
    "preview_nothing_spent": {"zh": "仅为预览:未运行,未扣减任何预算。",
                              "en": "A preview: nothing was run, nothing spent."},
}
