"""The portal's messages for verification calls (核验) on the buyer's licenses page, merged into
`api.portal.i18n.MESSAGES`."""

from __future__ import annotations

VERIFY_MESSAGES: dict[str, dict[str, str]] = {
    "verify": {"zh": "核验", "en": "Verify"},
    "ver_calls": {"zh": "核验调用记录", "en": "Verification calls"},
    "ver_help": {"zh": "每次核验只返回一个比特(符合 / 不符合),由各提供方节点签名并以您的密钥加密,交易所看不到结果。"
                       "请在本机用命令行发起并解密:",
                 "en": "Each verification returns one bit (match / no match), signed by every provider node and "
                       "sealed to your own key: the exchange never sees the result. Make the call and open it on "
                       "your own machine with the CLI:"},
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
