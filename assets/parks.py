"""Gold parks assets: daily partitions by park-local date. Gold date D reads silver readings of
partition D only (silver readings are partitioned by park-local date too), plus the current
park register for each park's timezone and energy type."""

from assets.daily_gold import daily_gold_asset
from warehouse.stages import gold_parks

PARKS_GOLD_ASSETS = [
    daily_gold_asset(gold_parks.PARK_DAILY, gold_parks.build_park_daily, [(gold_parks.READINGS, None)]),
    daily_gold_asset(gold_parks.TYPE_DAILY, gold_parks.build_energy_type_daily, [(gold_parks.PARK_DAILY, None)]),
]
