"""Messages of the change, correction and cancellation registrations (变更、更正、注销登记), for `api.portal.i18n`."""

from __future__ import annotations

REGISTRATION_APPLICATIONS: dict[str, dict[str, str]] = {
    "kind_change": {"zh": "变更登记", "en": "Change"},
    "kind_correction": {"zh": "更正登记", "en": "Correction"},
    "kind_cancellation": {"zh": "注销登记", "en": "Cancellation"},
    "rev_approved_cancellation": {"zh": "已注销", "en": "approved: cancelled"},
    "applications": {"zh": "变更、更正与注销登记", "en": "Changes, corrections and cancellations"},
    "grounds": {"zh": "申请理由", "en": "Grounds"},
    "decision_reasons": {"zh": "审核意见", "en": "Decision"},
    "file_correction": {"zh": "申请更正登记", "en": "File a correction"},
    "correction_help": {"zh": "登记事项有误(非产品变更)时申请更正:填写更正后的字段(JSON)和证明材料;"
                              "审核通过后由运营单位发布。",
                        "en": "For registered facts that were wrong (not a change of the product): the corrected "
                              "fields (JSON) and the evidence; once approved, the operator publishes it."},
    "corrected_fields": {"zh": "更正字段(JSON)", "en": "Corrected fields (JSON)"},
    "field_missing": {"zh": "请填写此项。", "en": "Please fill this in."},
    "apply_cancellation": {"zh": "申请注销登记", "en": "Apply to cancel the registration"},
    "cancellation_help": {"zh": "注销经交易所审核通过后产品下架(链上同步),登记证书显示已注销;"
                                "已售许可的条款不变,但下架产品不再受理新订单和查询。",
                          "en": "Once the exchange approves, the product is delisted (on chain too) and its "
                                "certificate reads cancelled; existing licenses keep their terms, but a delisted "
                                "product takes no new order or query."},
    "cancellations_to_decide": {"zh": "待审核的注销申请", "en": "Cancellations to decide"},
    "approve_cancellation": {"zh": "同意注销(下架)", "en": "Approve (delists the product)"},
    "cert_cancelled": {"zh": "登记已注销", "en": "Registration cancelled"},
    "cert_corrected": {"zh": "本版本系更正登记", "en": "This version applies correction"},
    "done_correction": {"zh": "更正申请已提交,待交易所审核。",
                        "en": "The correction is filed; the exchange reviews it."},
    "done_cancellation": {"zh": "注销申请已提交,待交易所审核;产品仍在售。",
                          "en": "The cancellation is applied for; the product stays as it is until the exchange "
                                "decides."},
    "done_cancellation_decided": {"zh": "注销申请已审核。", "en": "The cancellation is decided."},
}
