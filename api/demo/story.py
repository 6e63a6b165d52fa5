"""The demo story, played through the API client exactly as participants would.

The authority registers four public data resources and authorizes two operators; they register
products; the exchange reviews them: it approves the livestock product (served by three provider nodes) into a
short public notice, during which the auditor objects and the exchange dismisses the objection, then lists it;
it is refused listing the electricity product (no provider node serves it: NoServingNode), rejects the clinic
product with reasons and leaves the quarterly data-centre product in its queue; the authority caps the
livestock price and sets the operator's maximum allowed revenue; the livestock operator proposes
a revision of its listed product; the buyer gets a voucher, buys a license (the listed version, the revision
still pending) and runs federated queries until the privacy budget runs low; the exchange approves the revision
and the operator publishes it; the authority names the league's emergency bureau for public-welfare use, which
takes a license free of charge; the operator publishes its annual report (its sale flagged above the maximum);
the auditor traces the product and verifies the database against the chain.
Every listed product answers queries.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from eth_account.signers.local import LocalAccount

from api.client import ApiError, Json, ProvexClient
from api.client.signer import make_binding
from api.demo import story_products
from api.demo.cast import BOOTSTRAP, PEOPLE
from api.demo.datasets import LIVESTOCK_NODES, Dataset
from api.demo.story_pricing import annual_report, public_welfare, regulate
from api.demo.story_registration import (
    APPROVAL,
    CHECKLIST_OK,
    list_after_notice,
    notice_with_objection,
    propose_revision,
    review_revision,
)
from ledger.statements import StatementDomain

LICENSE_EPSILON = 3.0
QUERY_EPSILON = 0.5
LOW_BUDGET = 1.0  # the buyer stops when less than this is left (the rest is for the portal)
QUERIES = [
    "SELECT COUNT(*), AVG(daily_distance_km) FROM data GROUP BY banner",
    "SELECT AVG(body_temp_c), SUM(health_alerts) FROM data GROUP BY month",
    "SELECT COUNT(*), AVG(weight_kg) FROM data WHERE species = '牛' GROUP BY banner",
    "SELECT AVG(grazing_hours) FROM data GROUP BY month",
    "SELECT COUNT(*) FROM data GROUP BY species",
]


class NodeInfo(NamedTuple):
    """A started provider node: where it listens, its identity key and the hash of its signed policy."""

    url: str
    public_key: str
    policy_hash: str


@dataclass
class Step:
    """One line of the summary."""

    actor: str
    action: str
    outcome: str
    ref: str = ""


@dataclass
class StoryState:
    """What a rerun needs: the accounts (with API keys), the objects' ids and what happened."""

    accounts: dict[str, Json] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    played_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoryState:
        return cls(accounts=dict(data.get("accounts", {})), ids=dict(data.get("ids", {})),
                   steps=[Step(**s) for s in data.get("steps", [])], played_at=data.get("played_at"))


class Story:
    """Plays the story against `base_url`; `log(step)` is called after every step."""

    def __init__(self, base_url: str, state: StoryState, data: dict[str, Dataset],
                 nodes: dict[str, NodeInfo], keys: dict[str, LocalAccount], domain: StatementDomain,
                 log: Callable[[Step], None] = lambda _s: None) -> None:
        """`keys`: each participant's own key (the story signs as each of them, on their side)."""
        self.base_url = base_url
        self.keys = keys
        self.domain = domain
        self.nodes = nodes
        self.state = state
        self.data = data
        self.log = log
        self._clients: dict[str, ProvexClient] = {}

    # -- helpers -------------------------------------------------------------------------------
    def as_(self, who: str) -> ProvexClient:
        if who not in self._clients:
            self._clients[who] = ProvexClient(self.base_url, self.state.accounts[who]["api_key"],
                                              signer=self.keys[who])
        return self._clients[who]

    def close(self) -> None:
        for c in self._clients.values():
            c.close()
        self._clients.clear()

    def step(self, who: str, action: str, outcome: str, ref: str = "") -> None:
        s = Step(who, action, outcome, ref)
        self.state.steps.append(s)
        self.log(s)

    def id_of(self, who: str) -> str:
        return str(self.state.accounts[who]["id"])

    def wait_confirmed(self, who: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.as_(who).me()["chain_state"] != "confirmed":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{who}'s chain setup is not confirmed after {timeout}s")
            time.sleep(0.2)

    # -- the story -----------------------------------------------------------------------------
    def play(self) -> StoryState:
        for who in BOOTSTRAP:
            self.wait_confirmed(who)
        self.govern()
        self.onboard()
        self.register_nodes()
        self.authorize()
        self.register_products()
        self.review()
        notice_ends = story_products.register(self, self.state.ids)
        self.sell()
        regulate(self, self.state.ids)
        propose_revision(self, self.state.ids)
        self.buy_and_query()
        review_revision(self, self.state.ids)
        public_welfare(self, self.state.ids)
        annual_report(self, self.state.ids)
        story_products.sell(self, self.state.ids, notice_ends)
        self.audit()
        self.state.played_at = datetime.now(UTC).isoformat(timespec="seconds")
        return self.state

    def govern(self) -> None:
        """Governance (the authority, in the embedded setup) grants the admin roles by its own signed acts."""
        out = self.as_("authority").grant_chain_roles([self.id_of(w) for w in BOOTSTRAP], house=True)
        self.step("authority", "as governance, grants the authority and exchange their chain roles",
                  f"{len(out['granted'])} role grants signed by the authority")

    def onboard(self) -> None:
        ex = self.as_("exchange")
        for who, (role, name) in PEOPLE.items():
            if who in self.state.accounts:
                continue
            acct = ex.create_account(role, name, make_binding(self.keys[who], self.domain, role, name))
            self.state.accounts[who] = {k: acct[k] for k in ("id", "role", "name", "address", "api_key")}
        counts = Counter(role for who, (role, _) in PEOPLE.items() if who not in BOOTSTRAP)
        self.step("exchange", f"onboards {counts['operator']} operators, {counts['provider']} providers, "
                              f"{counts['buyer']} buyers and an auditor",
                  f"{len(PEOPLE)} accounts, each bound to its holder's own key by the holder's signature")

    def register_nodes(self, nodes: dict[str, NodeInfo] | None = None) -> None:
        """Each provider registers its node with the hash of the policy it signed; also used on reruns."""
        for node_id, node in (nodes or self.nodes).items():
            self.as_(f"provider_{node_id}").register_node(node_id, node.url, node.public_key, node.policy_hash)
        if nodes is None:
            self.step("providers", "register their nodes and signed policies with the exchange",
                      f"{len(self.nodes)} nodes trust the exchange's coordinator key; each enforces its own "
                      "policy", ", ".join(self.nodes))

    def _resource(self, ds: Dataset, name: str, department: str, sector: str, region: str,
                  tags: list[str], frequency: str) -> Json:
        body = {"name": name, "department": department, "sector": sector, "region_code": region,
                "classification": "general", "sensitivity_tags": tags, "content_hash": ds.sha256,
                "column_schema": [{"name": c["name"], "type": c["type"]} for c in ds.columns],
                "update_frequency": frequency, "volume": ds.rows}
        return self.as_("authority").register_resource(body, idempotency_key=f"demo-resource-{ds.key}")

    def authorize(self) -> None:
        d = self.data
        res = {
            "livestock": self._resource(d["livestock"], "锡林郭勒盟牲畜耳标监测数据", "锡林郭勒盟农牧局",
                                        "agriculture", "152500", ["location"], "monthly"),
            "electricity": self._resource(d["electricity"], "呼和浩特市分区用电与绿电消纳数据", "呼和浩特市能源局",
                                          "energy", "150100", ["commercial_secret"], "monthly"),
            "clinics": self._resource(d["clinics"], "锡林郭勒盟旗县卫生院门诊数据", "锡林郭勒盟卫生健康委员会",
                                      "health", "152500", ["health"], "monthly"),
            "datacenters": self._resource(d["datacenters"], "和林格尔新区数据中心集群能耗监测数据", "呼和浩特市能源局",
                                          "energy", "150123", ["commercial_secret"], "quarterly"),
        }
        for key, row in res.items():
            self.state.ids[f"resource_{key}"] = row["id"]
        self.step("authority", f"registers {len(res)} public data resources (general classification)",
                  "on chain: ResourceRegistered", ", ".join(r["code"] for r in res.values()))
        now = datetime.now(UTC)
        window = {"valid_from": (now - timedelta(hours=1)).isoformat(),
                  "valid_until": (now + timedelta(days=3 * 365)).isoformat(), "max_classification": "general"}
        a = self.as_("authority")
        xlg = a.grant_authorization({"operator_id": self.id_of("operator_xlg"),
                                     "resource_ids": [res["livestock"]["id"]],
                                     "purposes": ["畜牧业统计分析产品", "草原生态保护研究"], **window},
                                    idempotency_key="demo-authz-xlg")
        hhht = a.grant_authorization({"operator_id": self.id_of("operator_hhht"),
                                      "resource_ids": [res["electricity"]["id"], res["clinics"]["id"],
                                                       res["datacenters"]["id"]],
                                      "purposes": ["能源消费统计产品", "公共卫生统计产品"], **window},
                                     idempotency_key="demo-authz-hhht")
        self.state.ids.update(authz_xlg=xlg["id"], authz_hhht=hhht["id"])
        self.step("authority", "authorizes 2 operators (授权运营), 3 years", "on chain: AuthorizationGranted",
                  f"{xlg['code']}, {hhht['code']}")

    def register_product(self, who: str, ds: Dataset, authz: str, resource: str, providers: list[str],
                         key: str | None = None, **fields: Any) -> Json:
        """`who` drafts a product over `ds` (once: `key`, default the dataset's, names it for a rerun)."""
        body = {"sector": "agriculture", "region_code": "152500", "temporal_start": "2024-01-01",
                "temporal_end": "2024-12-31", "update_frequency": "monthly", "classification": "general",
                "columns": ds.columns, "sample": ds.sample,
                "authorization_id": self.state.ids[authz], "resource_ids": [self.state.ids[resource]],
                "provider_ids": providers, **fields}
        return self.as_(who).create_product(body, idempotency_key=f"demo-product-{key or ds.key}")

    def register_products(self) -> None:
        d = self.data
        providers = [self.id_of(f"provider_{n}") for n, *_ in LIVESTOCK_NODES]
        livestock = self.register_product(
            "operator_xlg", d["livestock"], "authz_xlg", "resource_livestock", providers,
            title="锡林郭勒盟牲畜耳标监测月度统计 (Xilingol livestock ear-tag telemetry)",
            description="12 个旗县市 2024 年逐月牲畜耳标监测：日均移动距离、放牧时长、体温、体重与健康预警。"
                        "原始数据留在三个牧区畜牧工作站，只以安全聚合加差分隐私噪声的统计结果对外提供。\n"
                        "Monthly ear-tag telemetry of 12 Xilingol banners; raw rows stay at three pastoral "
                        "stations and only noised, securely aggregated statistics leave them.",
            keywords=["畜牧", "耳标", "锡林郭勒", "livestock", "telemetry", "grassland"],
            source_statement="锡林郭勒盟农牧局牲畜耳标监测数据，经授权运营加工。",
            scale=f"{d['livestock'].rows} 条记录，12 旗县 × 12 月 × 5 畜种", license="Provex 标准数据许可 v1",
            quality={"completeness": 0.97, "timeliness": 0.92, "accuracy": 0.95})
        electricity = self.register_product(
            "operator_hhht", d["electricity"], "authz_hhht", "resource_electricity", [],
            title="呼和浩特市分区用电与绿电消纳月报 (Hohhot district electricity and renewables)",
            description="9 个旗县区按行业的逐月用电量、绿电消纳量与峰值负荷，服务算电协同与绿色算力规划。\n"
                        "Monthly consumption, renewable consumption and peak load by district and sector.",
            sector="energy", region_code="150100", keywords=["用电", "绿电", "算电协同", "electricity", "renewable"],
            source_statement="呼和浩特市能源局分区用电统计，经授权运营加工。",
            scale=f"{d['electricity'].rows} 条记录，9 区县 × 12 月 × 4 行业",
            quality={"completeness": 0.99, "timeliness": 0.95, "accuracy": 0.97})
        clinics = self.register_product(
            "operator_hhht", d["clinics"], "authz_hhht", "resource_clinics", [],
            title="旗县卫生院分年龄段门诊量 (County clinic visits by age band)",
            description="锡林郭勒盟 12 个旗县卫生院逐月分年龄段门诊量与慢病就诊量。\n"
                        "Monthly clinic visits by county and age band.",
            sector="health", keywords=["门诊", "卫生院", "clinic", "health"],
            source_statement="锡林郭勒盟卫生健康委员会门诊统计，经授权运营加工。",
            scale=f"{d['clinics'].rows} 条记录，12 旗县 × 12 月 × 4 年龄段",
            sample=[{"county": "多伦县", "month": "2024-01", "age_band": "0-14", "visits": 3, "chronic_visits": 1}],
            quality={"completeness": 0.9, "timeliness": 0.8, "accuracy": 0.9})
        datacenters = self.register_product(
            "operator_hhht", d["datacenters"], "authz_hhht", "resource_datacenters", [],
            title="和林格尔新区数据中心绿电消纳季报 (Horinger data-centre renewable share)",
            description="和林格尔数据中心集群 6 个园区逐季度、逐机房楼的 IT 负载、PUE、用电量与绿电消纳量，"
                        "支撑绿色算力评价（待交易所审核）。\n"
                        "Quarterly IT load, PUE, consumption and renewable consumption of the Horinger "
                        "data-centre cluster by campus and building.",
            sector="energy", region_code="150123", keywords=["数据中心", "绿色算力", "PUE", "data centre", "renewable"],
            source_statement="呼和浩特市能源局和林格尔新区数据中心能耗监测，经授权运营加工。",
            update_frequency="quarterly",
            scale=f"{d['datacenters'].rows} 条记录，6 园区 × 4 季度 × 6 机房楼",
            quality={"completeness": 0.95, "timeliness": 0.85, "accuracy": 0.96})
        for key, p in (("livestock", livestock), ("electricity", electricity), ("clinics", clinics),
                       ("datacenters", datacenters)):
            self.state.ids[f"product_{key}"] = p["id"]
            self.state.ids[f"code_{key}"] = p["code"]
            self.as_("operator_xlg" if key == "livestock" else "operator_hhht").submit_product(p["id"])
        self.step("operators", "register 4 products and submit them for review", "on chain: ProductRegistered",
                  ", ".join(p["code"] for p in (livestock, electricity, clinics, datacenters)))

    def review(self) -> None:
        ex = self.as_("exchange")
        ids = self.state.ids
        for key in ("livestock", "electricity", "clinics"):
            ex.start_review(ids[f"product_{key}"])
        ends = notice_with_objection(self, ids)
        self.refused_listing("electricity")
        reasons = ("样例含有少于 10 人次的年龄段单元格（多伦县 0-14 岁 3 人次），存在再识别风险；"
                   "请做小单元格抑制后重新提交。"
                   " The sample holds an age-band cell of 3 visits (re-identification risk); suppress small "
                   "cells and resubmit.")
        ex.review(ids["product_clinics"], "reject", {**CHECKLIST_OK, "personal_information_removed": False},
                  reasons)
        self.step("exchange", "rejects the clinic-visits product with reasons", "rejected: small cells in sample",
                  ids["code_clinics"])
        self.step("exchange", "leaves the data-centre product in its review queue", "submitted: awaiting review",
                  ids["code_datacenters"])
        list_after_notice(self, ids, ends)

    def refused_listing(self, key: str) -> None:
        """The exchange approves a product no provider node serves: the API refuses to list it (NoServingNode),
        and it stays in the review queue until one of its providers runs a node."""
        try:
            self.as_("exchange").review(self.state.ids[f"product_{key}"], "approve", CHECKLIST_OK, APPROVAL)
        except ApiError as e:
            if e.code != "NoServingNode":
                raise
            self.step("exchange", f"is refused listing the {key} product: no provider node serves it",
                      "NoServingNode: stays under review until a node answers", self.state.ids[f"code_{key}"])
            return
        raise RuntimeError(f"the {key} product was listed without a serving node")

    def sell(self) -> None:
        ids = self.state.ids
        terms = {"purposes": ["畜牧业统计分析产品"], "query_kinds": ["count", "sum", "avg", "histogram"],
                 "columns": [c["name"] for c in self.data["livestock"].columns], "max_queries": 100,
                 "epsilon": LICENSE_EPSILON, "delta": 1e-5, "validity_days": 365}
        split = {"providers": [{"account_id": self.id_of(f"provider_{n}"), "bps": 1500} for n, *_ in LIVESTOCK_NODES],
                 "operator": 3500, "authority": 1000, "exchange": 1000}
        offer = self.as_("operator_xlg").create_offer(ids["product_livestock"], {
            "kind": "one_off", "basis": "revenue", "tiers": [{"min_quantity": 1, "unit_price_fen": 200_000}],
            "split": split, "terms": terms})
        ids["offer_livestock"] = offer["id"]
        self.step("operator_xlg", "publishes a one-off offer: ¥2,000 (revenue split 45/35/10/10)",
                  "on chain: OfferPublished", offer["id"][:8])

    def buy_and_query(self) -> None:
        ids = self.state.ids
        a, buyer = self.as_("authority"), self.as_("buyer")
        ex = self.as_("exchange")
        ex.mint(self.id_of("authority"), 1_000_000)
        start = datetime.now(UTC) - timedelta(minutes=1)
        programme = a.create_voucher_programme({
            "name": "呼和浩特市数据券 2026", "annual_budget_fen": 5_000_000_000, "max_share_bps": 7_500,
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(days=365)).isoformat(),
            "sectors": ["agriculture"], "holder_ids": [self.id_of("buyer")]})
        ids["voucher_programme"] = programme["id"]
        self.step("authority", "creates a voucher programme: ¥50 million a year, a voucher pays at most 75 % of a "
                               "price, agriculture, for the allow-listed buyer", "on chain: ProgrammeCreated",
                  programme["id"][:8])
        voucher = a.issue_voucher({"programme_id": programme["id"], "holder_id": self.id_of("buyer"),
                                   "amount_fen": 150_000, "sectors": ["agriculture"],
                                   "expires_at": (datetime.now(UTC) + timedelta(days=180)).isoformat()})
        ids["voucher"] = voucher["id"]
        self.step("authority", "issues a ¥1,500 data voucher (数据券) to the buyer, for agriculture",
                  "funded on chain", voucher["id"][:8])
        ex.mint(self.id_of("buyer"), 1_000_000)  # ¥10,000: the story's purchase, and a few more in the portal
        quote = buyer.quote(ids["product_livestock"], ids["offer_livestock"], 1, voucher["id"])
        order = buyer.order(ids["offer_livestock"], 1, voucher["id"], idempotency_key="demo-order-1")["order"]
        ids["license"] = order["license_id"]
        self.step("buyer", f"buys a license: ¥{quote['amount_fen'] / 100:,.0f}, voucher pays "
                           f"¥{quote['voucher_fen'] / 100:,.0f}", f"order {order['state']}; ε budget {LICENSE_EPSILON}",
                  order["license_id"][:8])
        left, runs = LICENSE_EPSILON, 0
        for sql in QUERIES:
            if left - QUERY_EPSILON < LOW_BUDGET - 1e-9:
                break
            out = buyer.query(ids["license"], sql, epsilon=QUERY_EPSILON)
            runs += 1
            left = float(out["budget_left"]["epsilon"])
            ids["last_query_record"] = str(out["receipt"].get("seq", ""))
        self.step("buyer", f"runs {runs} federated queries over 3 provider nodes (ε {QUERY_EPSILON} each)",
                  f"budget runs low: ε {left:.2f} left", f"record #{ids.get('last_query_record', '')}")

    def audit(self) -> None:
        ids = self.state.ids
        auditor = self.as_("auditor")
        trace = auditor.trace(ids["product_livestock"])
        self.step("auditor", "traces the livestock product from the chain",
                  f"{len(trace['steps'])} steps: resource → authorization → product → listing → license → queries",
                  ids["code_livestock"])
        report = self.verify(auditor)
        outcome = "database matches the chain" if report["ok"] else f"DIVERGENCE: {report['divergence']}"
        self.step("auditor", "verifies the database against the chain",
                  f"{outcome} ({report['records']} records, {report['checkpoints']} checkpoints)")

    @staticmethod
    def verify(auditor: ProvexClient, timeout: float = 30) -> Json:
        """Verify once everything is anchored (the anchoring worker batches every few seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            report = auditor.verify()
            if not report["ok"] or report["unanchored"] == 0 or time.monotonic() > deadline:
                return report
            time.sleep(0.5)


__all__ = ["BOOTSTRAP", "PEOPLE", "ApiError", "Step", "Story", "StoryState"]
