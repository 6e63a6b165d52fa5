"""Portal messages about whom a product's noise protects (its privacy unit)."""

from __future__ import annotations

PRIVACY_UNIT_MESSAGES: dict[str, dict[str, str]] = {
    "privacy_unit": {"zh": "隐私保护单位", "en": "Privacy unit"},
    "privacy_unit_id": {
        "zh": "按 {column} 保护:每个节点对每个 {column} 最多取 {groups} 个分组、每组最多 {rows} 行(随机选取),"
              "同一 {column} 最多出现在 {providers} 个节点;噪声按此上限校准,隐藏的是一个 {column} 的全部数据。",
        "en": "Per {column}: each node keeps at most {groups} groups per {column} and at most {rows} rows per group "
              "(chosen at random), one {column} may appear at up to {providers} nodes; the noise is calibrated to "
              "that bound and hides everything about one {column}."},
    "privacy_unit_row": {"zh": "按行保护:噪声隐藏的是一行数据;同一个人、牲畜或电表的多行数据不另行限制。",
                         "en": "Row-level: the noise hides one row; several rows of the same person, animal or "
                               "meter are not bounded together."},
    "privacy_id_column": {"zh": "隐私标识(不可查询)", "en": "privacy ID (never queried)"},
}
