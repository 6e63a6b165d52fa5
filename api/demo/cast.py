"""Who plays the demo: each participant's key name, role and name."""

from __future__ import annotations

from api.demo.datasets import LIVESTOCK_NODES, REGISTRY_NODE

# Participants: key -> (role, name). Authority and exchange are bootstrapped outside the API.
PEOPLE: dict[str, tuple[str, str]] = {
    "authority": ("authority", "内蒙古自治区政务服务与数据管理局"),
    "exchange": ("exchange", "内蒙古数据交易中心"),
    "operator_xlg": ("operator", "锡林郭勒盟数据运营有限公司"),
    "operator_hhht": ("operator", "呼和浩特市公共数据运营有限公司"),
    **{f"provider_{node}": ("provider", zh) for node, zh, _en, _b in LIVESTOCK_NODES},
    "buyer": ("buyer", "草原畜牧业研究院"),
    f"provider_{REGISTRY_NODE[0]}": ("provider", REGISTRY_NODE[1]),
    "bureau": ("buyer", "锡林郭勒盟应急管理局"),  # takes free public-welfare licenses
    "bank": ("buyer", "内蒙古农村信用社联合社"),  # licenses the health model and verifies herders' holdings
    "auditor": ("auditor", "自治区数据要素审计中心"),
}
BOOTSTRAP = ("authority", "exchange")
