"""The portal's messages for the maximum allowed revenue and the annual reports page, merged into
`api.portal.i18n.MESSAGES`."""

from __future__ import annotations

REPORT_MESSAGES: dict[str, dict[str, str]] = {
    "reports": {"zh": "收入与年报", "en": "Revenue & reports"},
    "allowed_revenue": {"zh": "最高准许收入", "en": "Maximum allowed revenue"},
    "year": {"zh": "年度", "en": "Year"},
    "allowed": {"zh": "准许收入", "en": "Allowed"},
    "carried": {"zh": "上年超收扣减", "en": "Carried deduction"},
    "effective": {"zh": "本年有效上限", "en": "Effective maximum"},
    "revenue_actual": {"zh": "实际收入", "en": "Revenue"},
    "excess": {"zh": "超收", "en": "Excess"},
    "flags": {"zh": "超收记录", "en": "Flag records"},
    "no_allowances": {"zh": "本年度尚未设定最高准许收入。", "en": "No maximum allowed revenue is set for this year."},
    "carry_rule": {"zh": "超出有效上限的收入在结算时即记录(不拒绝交易),并从下一年度的准许收入中扣减。",
                   "en": "Revenue above the effective maximum is flagged as it settles (the sale stands) and deducted "
                         "from next year's maximum."},
    "set_allowance": {"zh": "设定最高准许收入", "en": "Set the maximum allowed revenue"},
    "allowed_yuan": {"zh": "准许收入(元)", "en": "Allowed (yuan)"},
    "published_reports": {"zh": "已公开的年度披露与经营报告", "en": "Published disclosures and operating reports"},
    "report_scope": {"zh": "披露主体", "en": "Discloser"},
    "report_hash": {"zh": "报告哈希", "en": "Report hash"},
    "download": {"zh": "下载", "en": "Download"},
    "reports_public": {"zh": "公开披露:无需登录即可下载;`provex audit report` 可按账本与链上数据重新计算核对。",
                       "en": "Public: downloadable without an account; `provex audit report` recomputes each from the "
                             "ledger and the chain."},
    "publish_report": {"zh": "发布本年度报告", "en": "Publish the year's report"},
    "done_allowance_set": {"zh": "最高准许收入已设定。", "en": "The maximum allowed revenue is set."},
    "done_report_published": {"zh": "报告已发布并存证。", "en": "The report is published and anchored."},
}
