"""What each landing source needs to go from raw file to silver: its tables, the fields a file
must carry, how to date a raw record, how to type it, the suite that checks it, and the keys
that deduplicate it. Adding a dataset is adding an entry here (plus its transform and suite)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from expectations import customer_usage as usage_suite
from expectations import energy_prices as prices_suite
from expectations.spec import Suite
from transforms import usage as usage_transforms
from warehouse.registry import Table, table


@dataclass(frozen=True)
class Dataset:
    source: str
    required_fields: tuple[str, ...]
    # Raw bronze columns -> event date (the bronze and silver partition).
    event_date: Callable[[], pl.Expr]
    prepare: Callable[[pl.LazyFrame], pl.LazyFrame]
    suite: Suite
    keys: tuple[str, ...]
    values: tuple[str, ...]

    @property
    def bronze(self) -> Table:
        return table(f"bronze.{self.source}")

    @property
    def quarantine(self) -> Table:
        return table(f"quarantine.{self.source}")

    @property
    def silver(self) -> Table:
        return table(f"silver.{self.source}")


DATASETS: dict[str, Dataset] = {
    d.source: d
    for d in (
        Dataset(
            source="customer_usage",
            required_fields=("customerId", "intervalStart", "usage"),
            event_date=usage_transforms.event_date,
            prepare=usage_transforms.prepare_usage,
            suite=usage_suite.SUITE,
            keys=("customer_id", "interval_start"),
            values=("interval_end", "usage_kwh"),
        ),
        Dataset(
            source="energy_prices",
            required_fields=("intervalStart", "price"),
            event_date=usage_transforms.event_date,
            prepare=usage_transforms.prepare_prices,
            suite=prices_suite.SUITE,
            keys=("interval_start",),
            values=("interval_end", "price_per_kwh"),
        ),
    )
}


def dataset(source: str) -> Dataset:
    try:
        return DATASETS[source]
    except KeyError:
        raise KeyError(f"unknown source {source!r}; known: {sorted(DATASETS)}") from None
