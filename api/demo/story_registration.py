"""The demo story's registration procedure: a public notice with an objection, and a revision review.

Steps of the `Story` (api/demo/story.py), which plays them in order with its ids (`state.ids`): the livestock
product's approval starts a short notice during which the auditor objects and the exchange dismisses the
objection, then the listing; after its offer its operator proposes a revision (pending while the buyer buys
the listed version), which the exchange approves and the operator publishes.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Protocol

from api.client import ProvexClient


class Plays(Protocol):
    """What these steps need of the story: each participant's client, and the summary's log."""

    def as_(self, who: str) -> ProvexClient: ...

    def step(self, who: str, action: str, outcome: str, ref: str = "") -> None: ...

NOTICE_SECONDS = 4.0  # the story's public notice (公示): days in production, seconds here
# The exchange's compliance checklist, all items checked, and its reasons for approving (the whole story's).
CHECKLIST_OK = {"lawful_source": True, "valid_authorization": True, "classification_consistent": True,
                "personal_information_removed": True, "sample_synthetic": True}
APPROVAL = ("来源合法、授权有效、分级一致、样例为合成数据。Lawful source, valid authorization, consistent "
            "classification, synthetic sample.")


def notice_with_objection(self: Plays, ids: dict[str, str]) -> float:
    """Approval starts the public notice (公示); the auditor objects, the exchange dismisses the objection
    with reasons. Returns when the notice ends (unix seconds)."""
    ex = self.as_("exchange")
    out = ex.review(ids["product_livestock"], "approve", CHECKLIST_OK, APPROVAL,
                    notice_days=NOTICE_SECONDS / 86400)
    ends = datetime.fromisoformat(out["product"]["notice_ends_at"])
    self.step("exchange", "approves the livestock product: public notice (公示) before listing",
              f"in notice until {ends.isoformat(timespec='seconds')}", ids["code_livestock"])
    objection = self.as_("auditor").object_to(
        ids["product_livestock"], "样例中的体重是否可识别到单户牧民？ Could the sample's weights identify a "
                                  "single herder?")
    self.step("auditor", "objects during the notice, with reasons", "objection open: listing waits",
              objection["id"][:8])
    ex.resolve_objection(ids["product_livestock"], objection["id"], "dismissed",
                         "样例为合成数据，统计结果经安全聚合与差分隐私处理。 The sample is synthetic; results are "
                         "securely aggregated and noised.")
    self.step("exchange", "dismisses the objection with reasons", "objection dismissed", objection["id"][:8])
    return ends.timestamp()


def list_after_notice(self: Plays, ids: dict[str, str], ends: float) -> None:
    """Once the notice has ended (its one objection dismissed), the exchange lists the product."""
    time.sleep(max(0.0, ends - time.time()) + 0.1)
    out = self.as_("exchange").complete_listing(ids["product_livestock"])
    ids["cert_livestock"] = out["certificate"]["code"]
    self.step("exchange", "lists the livestock product after its notice, issuing its registration certificate",
              "listed; certificate anchored", out["certificate"]["code"])


def propose_revision(self: Plays, ids: dict[str, str]) -> None:
    """The operator changes its listed product's description: a revision, pending the exchange's review;
    the listed version stays on sale."""
    product = self.as_("operator_xlg").product(ids["product_livestock"])
    rev = self.as_("operator_xlg").propose_revision(ids["product_livestock"], {
        "description": product["description"] + "\n2025 年起按月更新。 Updated monthly from 2025."})
    ids["revision_livestock"] = rev["id"]
    self.step("operator_xlg", "proposes a revision of the listed livestock product (description)",
              "pending review; the listed version stays on sale", rev["id"][:8])


def review_revision(self: Plays, ids: dict[str, str]) -> None:
    """The exchange approves the revision; the operator publishes it: new version and hash on chain, a new
    certificate."""
    self.as_("exchange").decide_revision(ids["product_livestock"], ids["revision_livestock"], "approve",
                                         CHECKLIST_OK, APPROVAL)
    out = self.as_("operator_xlg").publish_revision(ids["product_livestock"], ids["revision_livestock"])
    ids["cert_livestock"] = out["certificate"]["code"]
    self.step("exchange", "approves the revision; the operator publishes it",
              f"version {out['product']['version']} on chain; new certificate", out["certificate"]["code"])
