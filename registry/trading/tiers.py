"""Tiered unit prices: an offer's tiers are [min quantity, unit fen] pairs, ascending; a quantity pays the unit price
of the highest tier it reaches (the contract's `priceOf` decides the charge; `registry.trading.pricing` keeps them
equal). Pure, so the reports and the asset ledger price a record's quantity without the trading code."""

from __future__ import annotations

from collections.abc import Sequence


def tier_unit_price(tiers: Sequence[Sequence[int]], quantity: int) -> int:
    """The unit price of the highest of `tiers` that `quantity` reaches."""
    unit = int(tiers[0][1])
    for min_q, price in tiers[1:]:
        if quantity >= min_q:
            unit = int(price)
    return unit
