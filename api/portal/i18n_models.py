"""The portal's messages for model products (a product whose deliverable is a fitted model), merged into
`api.portal.i18n.MESSAGES`."""

from __future__ import annotations

MODEL_MESSAGES: dict[str, dict[str, str]] = {
    "model_product": {"zh": "模型产品", "en": "Model product"},
    "model_product_note": {"zh": "购买许可获得运营单位拟合的模型(系数及标准误),不提供数据查询。",
                           "en": "A license delivers the model its operator fits (coefficients with standard "
                                 "errors), not queries on the data."},
    "model_linear": {"zh": "线性回归", "en": "Linear regression"},
    "model_target": {"zh": "因变量", "en": "Target"},
    "model_features": {"zh": "自变量", "en": "Features"},
    "model_fitted": {"zh": "已拟合模型", "en": "Fitted model"},
    "model_not_fitted": {"zh": "运营单位尚未拟合该模型。", "en": "The operator has not fitted this model yet."},
    "model_term": {"zh": "项", "en": "Term"},
    "model_coef": {"zh": "系数 ± 95% 区间半宽", "en": "Coefficient ± 95 % half-width"},
    "model_se": {"zh": "标准误", "en": "Standard error"},
    "model_se_noise": {"zh": "其中噪声部分", "en": "of which noise"},
    "model_n": {"zh": "样本数(完整观测)", "en": "Rows (complete cases)"},
    "model_r2": {"zh": "决定系数 R²", "en": "R²"},
    "model_fitted_at": {"zh": "拟合时间", "en": "Fitted at"},
    "model_se_note": {"zh": "标准误包含抽样误差与差分隐私噪声两部分;系数由带噪声的矩阵求解,"
                            "数据本身从不离开数据提供方。",
                      "en": "Standard errors include both sampling error and the differential-privacy noise; the "
                            "coefficients are solved from noised moments, and the data never leaves its providers."},
}
