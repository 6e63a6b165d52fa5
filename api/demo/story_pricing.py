"""The demo story's regulated pricing (价格形成机制): a price cap set after the offer, the operator's maximum
allowed revenue (最高准许收入), free public-welfare use, and the operator's annual operating report.

Steps of the `Story` (api/demo/story.py), played in order with its ids (`state.ids`): before the sale the
authority caps the livestock product's unit price (binding the offer already published) and sets the league
operator's maximum allowed revenue for the year below what the sale brings, so the settlement is flagged and
the excess carried into next year; after the queries the authority names the league's emergency bureau for
public-governance use and the bureau takes a license free of charge; the operator declares a processing cost
and publishes its annual report, which `provex audit report` recomputes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from api.client import ProvexClient
from registry.reports.period import year_of

CAP_FEN = 250_000  # ¥2,500 a license: above the ¥2,000 offer, so the story's sale goes through under it
ALLOWED_FEN = 150_000  # ¥1,500 for the year: the ¥2,000 sale takes the operator above it


class Plays(Protocol):
    """What these steps need of the story: clients, account ids, ids so far and the summary's log."""

    def as_(self, who: str) -> ProvexClient: ...

    def id_of(self, who: str) -> str: ...

    def step(self, who: str, action: str, outcome: str, ref: str = "") -> None: ...


def this_year() -> int:
    return year_of(datetime.now().astimezone())


def regulate(story: Plays, ids: dict[str, Any]) -> None:
    """The authority's price cap (after the offer: it binds it on chain) and the operator's maximum revenue."""
    a = story.as_("authority")
    a.set_price_cap(ids["product_livestock"], CAP_FEN)
    story.step("authority", "caps the livestock product's unit price at ¥2,500 (after the offer was published)",
               "on chain: PriceCapSet; it binds every purchase, the published offer's too", ids["code_livestock"])
    a.set_allowed_revenue(story.id_of("operator_xlg"), this_year(), ALLOWED_FEN)
    story.step("authority", f"sets the league operator's maximum allowed revenue for {this_year()}: ¥1,500",
               "a signed record; settlements above it are flagged and the excess carried into next year")


def public_welfare(story: Plays, ids: dict[str, Any]) -> None:
    """Public-governance use is free: the authority names the bureau, which takes a license at 0."""
    story.as_("authority").set_public_welfare_user(
        story.id_of("bureau"), True, "盟应急管理局：草原灾害应急统计，公共治理用途 (public-governance use)")
    story.step("authority", "names the league's emergency bureau for public-welfare use (公共治理、公益事业)",
               "on chain: PublicWelfareUserSet", story.id_of("bureau")[:8])
    order = story.as_("bureau").order(ids["offer_livestock"], 1, use="public_welfare",
                                      idempotency_key="demo-order-welfare")["order"]
    ids["license_welfare"] = order["license_id"]
    story.step("bureau", "takes a livestock license free of charge for public-governance use",
               f"order {order['state']}: ¥{(order['amount_fen'] or 0) / 100:,.0f} paid, the use recorded on chain",
               order["license_id"][:8])


def annual_report(story: Plays, ids: dict[str, Any]) -> None:
    """The league operator publishes its operating report for the year (anchored by its signed record)."""
    op = story.as_("operator_xlg")
    year = this_year()
    op.declare_cost(ids["product_livestock"], datetime.now(UTC).date().isoformat(), "processing", 80_000,
                    "耳标数据清洗与去标识化 (cleaning and de-identification of the ear-tag data)")
    story.step("operator_xlg", "declares ¥800 of processing cost for the livestock product (数据资产入表)",
               "a signed record: its cost and revenue ledger and the accountant's evidence export count it")
    revenue = op.revenue(year)[0]
    published = op.publish_report(year)
    ids["report"] = published["id"]
    story.step("operator_xlg", f"publishes its {year} annual disclosure and operating report",
               f"revenue ¥{revenue['revenue_fen'] / 100:,.0f} against ¥{ALLOWED_FEN / 100:,.0f} allowed: "
               f"¥{revenue['excess_fen'] / 100:,.0f} over, flagged and carried into {year + 1}; "
               f"`provex audit report --year {year} --operator {story.id_of('operator_xlg')}` recomputes it",
               f"record #{published['record_seq']}")
