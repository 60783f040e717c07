"""Gold usage assets. Cost for date D reads usage and prices from the day before to the day after
(intervals may cross midnight); hourly usage for D reads cost of D-1 and D."""

from assets.daily_gold import daily_gold_asset, window
from warehouse.stages import gold

GOLD_ASSETS = [
    daily_gold_asset(gold.COST, gold.build_cost, [(gold.USAGE, window(1, 1)), (gold.PRICES, window(1, 1))]),
    daily_gold_asset(gold.HOURLY, gold.build_hourly, [(gold.COST, window(1, 0))]),
]
