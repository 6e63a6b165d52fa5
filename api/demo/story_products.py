"""The demo story's model and verification products (模型、核验等产品和服务), played after the livestock sales.

* A **model product**: the Xilingol operator offers a livestock health model (body temperature from health alerts,
  daily distance and grazing hours; an insurer's or a lender's herd-risk input) fitted over the three pastoral
  stations' ear-tag data by federated regression; it caps the product-wide privacy budget, fits the model (ε
  charged, `model.fit` on the ledger), and a bank licenses the fitted model, not the data.
* A **verification product**: the authority registers the league's herder registry (a node of its own) and
  authorizes the operator to offer verification calls on it; the bank, before a herder's loan (seed 002: data
  pledging and financial services), checks "herder H holds at least 200 head" and a claim that fails, one bit
  each, paid per call from a metered license.
Both go through review, a short public notice and listing like any product.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from api.client import Json, ProvexClient
from api.demo.datasets import LIVESTOCK_NODES, REGISTRY_NODE, VERIFICATION_TERMS, Dataset, herder_id
from api.demo.story_registration import APPROVAL, CHECKLIST_OK, NOTICE_SECONDS

MODEL: dict[str, Any] = {"kind": "linear", "target": "body_temp_c",
                         "features": ["health_alerts", "daily_distance_km", "grazing_hours"]}
MODEL_COLUMNS = ["health_alerts", "daily_distance_km", "grazing_hours", "body_temp_c"]
MODEL_EPSILON = 1.0  # the product-wide budget, spent on its one fit (the nodes allow at most ε 2 a query)
HERDER = herder_id(0, 1)  # a household of 锡林浩特市 (the registry holds 382 head for it)


class Plays(Protocol):
    """What these steps need of the story."""

    data: dict[str, Dataset]

    def as_(self, who: str) -> ProvexClient: ...

    def step(self, who: str, action: str, outcome: str, ref: str = "") -> None: ...

    def id_of(self, who: str) -> str: ...

    def register_product(self, who: str, ds: Dataset, authz: str, resource: str, providers: list[str],
                         key: str | None = None, **fields: Any) -> Json: ...


def _product(self: Plays, ids: dict[str, str], key: str, ds: Dataset, authz: str, resource: str,
             providers: list[str], **fields: Any) -> Json:
    """The operator drafts and submits a product; its id and code go into `ids` under `key`."""
    p = self.register_product("operator_xlg", ds, authz, resource, providers, key=key,
                              license="Provex 标准数据许可 v1", **fields)
    ids[f"product_{key}"], ids[f"code_{key}"] = p["id"], p["code"]
    self.as_("operator_xlg").submit_product(p["id"])
    return p


def register(self: Plays, ids: dict[str, str]) -> float:
    """The registry's resource and authorization, both products registered, reviewed and approved into their public
    notice; returns when the notices end."""
    registry = self.data["herders"]
    res = self.as_("authority").register_resource({
        "name": "锡林郭勒盟牧户牲畜存栏登记", "department": "锡林郭勒盟农牧局", "sector": "agriculture",
        "region_code": "152500", "classification": "general",
        "sensitivity_tags": ["personal_information", "financial"], "content_hash": registry.sha256,
        "column_schema": [{"name": c["name"], "type": c["type"]} for c in registry.columns],
        "update_frequency": "monthly", "volume": registry.rows}, idempotency_key="demo-resource-herders")
    now = datetime.now(UTC)
    authz = self.as_("authority").grant_authorization({
        "operator_id": self.id_of("operator_xlg"), "resource_ids": [res["id"]], "purposes": ["牧户存栏核验服务"],
        "valid_from": (now - timedelta(hours=1)).isoformat(),
        "valid_until": (now + timedelta(days=3 * 365)).isoformat(), "max_classification": "general"},
        idempotency_key="demo-authz-registry")
    ids.update(resource_herders=res["id"], authz_registry=authz["id"])
    self.step("authority", "registers the herder registry and authorizes verification calls on it (核验)",
              "on chain: ResourceRegistered, AuthorizationGranted", f"{res['code']}, {authz['code']}")
    stations = [self.id_of(f"provider_{n}") for n, *_ in LIVESTOCK_NODES]
    model = _product(
        self, ids, "model", self.data["livestock"], "authz_xlg", "resource_livestock", stations,
        title="牲畜体温健康模型 (Livestock body-temperature health model)", deliverable="model", model=MODEL,
        description="由三个牧区工作站的耳标监测数据联邦回归拟合：体温 ~ 健康预警次数 + 日均移动距离 + 放牧时长，"
                    "供保险与信贷评估牧群健康风险。交付的是拟合好的模型（系数与标准误），不是数据。\n"
                    "A herd-health model fitted by federated regression over the three stations' ear-tag data; "
                    "buyers license the model, not the data.",
        keywords=["模型", "体温", "健康", "回归", "model", "regression"],
        source_statement="锡林郭勒盟农牧局耳标监测，联邦建模。",
        scale="1 个线性模型，3 个特征", quality={"completeness": 0.97, "timeliness": 0.92, "accuracy": 0.95})
    check = _product(
        self, ids, "herders", registry, "authz_registry", "resource_herders",
        [self.id_of(f"provider_{REGISTRY_NODE[0]}")],
        title="牧户牲畜存栏核验 (Herder holding verification)", verification=VERIFICATION_TERMS,
        description="按牧户编号核验存栏声明（如“存栏不少于 200 头只”），每次只返回“符合/不符合”，按次计费。\n"
                    "Checks a herder's declared holding; each call answers match or no match, paid per call.",
        keywords=["核验", "存栏", "牧户", "verification", "loan"], source_statement="锡林郭勒盟农牧局牲畜存栏登记。",
        scale=f"{registry.rows} 户牧户", sample=[{"herder_id": "XL99-0000", "banner": "锡林浩特市", "sheep": 300,
                                                "cattle": 20, "head_count": 350}],
        quality={"completeness": 0.99, "timeliness": 0.9, "accuracy": 0.98})
    ex = self.as_("exchange")
    ends = 0.0
    for p in (model, check):
        ex.start_review(p["id"])
        out = ex.review(p["id"], "approve", CHECKLIST_OK, APPROVAL, notice_days=NOTICE_SECONDS / 86400)
        ends = max(ends, datetime.fromisoformat(out["product"]["notice_ends_at"]).timestamp())
    self.step("exchange", "approves a model product and a verification product into their public notice",
              "in notice", f"{model['code']}, {check['code']}")
    return ends


def sell(self: Plays, ids: dict[str, str], ends: float) -> None:
    """Listing after the notice, the offers, the fit, and the bank's purchases, model and verification calls."""
    time.sleep(max(0.0, ends - time.time()) + 0.1)
    ex, op, bank = self.as_("exchange"), self.as_("operator_xlg"), self.as_("bank")
    for key in ("model", "herders"):
        ex.complete_listing(ids[f"product_{key}"])
    op.set_total_budget(ids["product_model"], MODEL_EPSILON, 1e-4)
    fitted = op.fit_model(ids["product_model"], MODEL_EPSILON)
    lo, hi = fitted["ci95"][1]
    self.step("operator_xlg", "lists and fits the health model by federated regression over 3 nodes",
              f"ε {fitted['epsilon']:.2f} (the product's whole budget); health_alerts {fitted['coef'][1]:+.2f} °C, "
              f"95 % [{lo:.2f}, {hi:.2f}]: the stated error of ε {MODEL_EPSILON:g} over {fitted['n']:,} rows",
              f"record #{fitted['receipt']['seq']}")
    split = {"operator": 8000, "authority": 1000, "exchange": 1000}
    model_offer = op.create_offer(ids["product_model"], {
        "kind": "one_off", "basis": "cost", "tiers": [{"min_quantity": 1, "unit_price_fen": 80_000}], "split": split,
        "terms": {"purposes": ["牧区信贷风险评估"], "query_kinds": ["linreg"], "columns": MODEL_COLUMNS,
                  "max_queries": 1, "epsilon": 0.1, "delta": 1e-6, "validity_days": 365}})
    calls = op.create_offer(ids["product_herders"], {
        "kind": "metered", "basis": "cost", "tiers": [{"min_quantity": 1, "unit_price_fen": 200}], "split": split,
        "terms": {"purposes": ["牧户贷款尽职调查"], "query_kinds": ["verify"], "columns": ["herder_id", "head_count",
                                                                                         "cattle"]}})
    ex.mint(self.id_of("bank"), 200_000)
    model_license = bank.order(model_offer["id"], 1, idempotency_key="demo-order-model")["order"]["license_id"]
    coef = bank.license_model(model_license)
    ids.update(license_model=model_license)
    self.step("bank", "licenses the health model (¥800) and reads it: the model, not the data",
              f"{len(coef['coef'])} coefficients with standard errors, n = {coef['n']:,}", model_license[:8])
    call_license = bank.order(calls["id"], 20, idempotency_key="demo-order-verify")["order"]["license_id"]
    yes = bank.verify_claim(call_license, HERDER, "head_count >= 200")
    no = bank.verify_claim(call_license, HERDER, "head_count >= 5000")
    ids.update(license_verify=call_license)
    self.step("bank", f"verifies herder {HERDER} before a loan: two claims, one bit each (¥2 a call)",
              f"≥ 200 head: {'match' if yes['match'] else 'no match'}; ≥ 5,000 head: "
              f"{'match' if no['match'] else 'no match'}; the exchange saw sealed answers only",
              f"record #{no['receipt']['seq']}")
