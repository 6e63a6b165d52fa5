"""The portal's messages for verification calls (核验) on the buyer's licenses page, merged into
`api.portal.i18n.MESSAGES`."""

from __future__ import annotations

VERIFY_MESSAGES: dict[str, dict[str, str]] = {
    "verify": {"zh": "核验", "en": "Verify"},
    "ver_calls": {"zh": "核验调用记录", "en": "Verification calls"},
    "ver_browser_help": {"zh": "每次核验只返回一个比特(符合 / 不符合),由各提供方节点签名并以本页生成的密钥加密,"
                               "在本浏览器中解密与验签,交易所看不到结果。需先打开您的密钥。每次调用计费一次。",
                         "en": "Each verification returns one bit (match / no match), signed by every provider node "
                               "and sealed to a key this page generates: it is opened and checked in this browser, "
                               "the exchange never sees the result. Open your key first. Each call is charged once."},
    "ver_cli_help": {"zh": "也可在本机用命令行发起并解密:", "en": "Or make the call and open it with the CLI:"},
    "ver_key": {"zh": "键", "en": "Key"},
    "ver_column": {"zh": "列", "en": "Column"},
    "ver_op": {"zh": "运算", "en": "Operator"},
    "ver_value": {"zh": "值(between:下限;within_pct:目标值)", "en": "Value (between: low; within_pct: target)"},
    "ver_value2": {"zh": "第二个值(between:上限;within_pct:百分比)",
                   "en": "Second value (between: high; within_pct: percent)"},
    "ver_need_key": {"zh": "请先打开您的密钥(密钥页)。", "en": "Open your key first (the key page)."},
    "ver_working": {"zh": "正在签名、发送并解密……", "en": "Signing, sending and opening…"},
    "ver_match": {"zh": "符合", "en": "match"},
    "ver_no_match": {"zh": "不符合", "en": "no match"},
    "ver_checked": {"zh": "已验证 {n} 个节点的签名", "en": "{n} node signatures checked"},
    "ver_bad_number": {"zh": "值须为十进制数。", "en": "A value must be a decimal number."},
    "ver_none": {"zh": "尚无核验调用。", "en": "No verification calls yet."},
    "ver_time": {"zh": "时间(UTC)", "en": "Time (UTC)"},
    "ver_claim": {"zh": "声明(列与运算)", "en": "Claim (column and operator)"},
    "ver_status": {"zh": "状态", "en": "Status"},
    "ver_result_hash": {"zh": "结果密文哈希", "en": "Sealed result hash"},
    "ver_receipt": {"zh": "账本记录", "en": "Ledger record"},
    "ver_done": {"zh": "已答复", "en": "answered"},
    "ver_failed": {"zh": "失败(已退款)", "en": "failed (refunded)"},
    "ver_pending": {"zh": "处理中", "en": "pending"},
    "ver_product": {"zh": "本产品提供核验:键列", "en": "This product offers verification: key column"},
}
