"""The portal's messages for the operator's data-asset page (数据资产入表), merged into `api.portal.i18n.MESSAGES`."""

from __future__ import annotations

ASSET_MESSAGES: dict[str, dict[str, str]] = {
    "assets": {"zh": "数据资产入表", "en": "Data assets"},
    "asset_ledger": {"zh": "成本与收入台账", "en": "Cost and revenue ledger"},
    "month": {"zh": "月份", "en": "Month"},
    "costs": {"zh": "成本", "en": "Costs"},
    "revenue_gross": {"zh": "结算收入", "en": "Revenue"},
    "refunds": {"zh": "退款", "en": "Refunds"},
    "net_revenue": {"zh": "净收入", "en": "Net revenue"},
    "public_welfare_forgone": {"zh": "公益使用(减免金额)", "en": "Public welfare (list price forgone)"},
    "cumulative_costs": {"zh": "累计成本", "en": "Cumulative costs"},
    "cumulative_net_revenue": {"zh": "累计净收入", "en": "Cumulative net revenue"},
    "total": {"zh": "合计", "en": "Total"},
    "cost_entries": {"zh": "成本申报记录", "en": "Declared cost entries"},
    "incurred_on": {"zh": "发生日期", "en": "Incurred on"},
    "category": {"zh": "类别", "en": "Category"},
    "corrects": {"zh": "更正条目", "en": "Corrects"},
    "corrected_by": {"zh": "已被更正", "en": "Corrected by"},
    "declare_cost": {"zh": "申报成本", "en": "Declare a cost"},
    "evidence_hash": {"zh": "发票文件 SHA-256(可选)", "en": "Invoice file SHA-256 (optional)"},
    "corrects_help": {"zh": "更正:填写被更正条目的 id,本条将替代它(金额 0 即撤销)。记录只增不改。",
                      "en": "To correct: give the id of the entry; this one then counts instead (amount 0 withdraws "
                            "it). Entries are never edited."},
    "evidence_export": {"zh": "会计入表佐证材料(ZIP)", "en": "Accountant's evidence export (ZIP)"},
    "evidence_help": {"zh": "含台账 CSV、登记证书及链上核验、产品元数据、每行对应的账本记录与最新检查点;"
                            "README.txt 说明核验方法。",
                      "en": "Ledger CSV, the registration certificate with its chain check, the product's metadata, "
                            "the records behind each line and the latest checkpoint; README.txt says how to verify."},
    "no_products": {"zh": "尚无产品。", "en": "No products yet."},
    "done_cost_declared": {"zh": "成本已申报并存证。", "en": "The cost is declared and recorded."},
    "cat_collection": {"zh": "采集", "en": "Collection"},
    "cat_processing": {"zh": "加工治理", "en": "Processing"},
    "cat_storage": {"zh": "存储", "en": "Storage"},
    "cat_computing": {"zh": "计算", "en": "Computing"},
    "cat_personnel": {"zh": "人工", "en": "Personnel"},
    "cat_compliance": {"zh": "合规", "en": "Compliance"},
    "cat_other": {"zh": "其他", "en": "Other"},
}
