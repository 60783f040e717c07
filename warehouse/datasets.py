"""What each landing source needs to go from raw file to silver: its tables, the fields a file
must carry, how to date a raw record, how to type it, the suite that checks it, and the keys
that deduplicate it. Adding a dataset is adding an entry here (plus its transform and suite).

Two optional hooks serve datasets that depend on others. `reference` names a silver table that
`prepare` receives as a second argument (the park register for park readings); rows the dataset
flags in its `waiting` column wait in bronze until that table changes. `refine_scope="all"` marks
a small register refined whole, and `history=True` keeps every version of a key in silver
(valid_from / valid_to / is_current) instead of only the latest."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from expectations import customer_usage as usage_suite
from expectations import energy_prices as prices_suite
from expectations import park_readings as park_readings_suite
from expectations import parks as parks_suite
from expectations.spec import Suite
from transforms import parks as parks_transforms
from transforms import usage as usage_transforms
from warehouse.registry import Table, table


@dataclass(frozen=True)
class Reference:
    """A silver table `prepare` needs: `select` turns its scan into the frame prepare receives."""

    table: str
    select: Callable[[pl.LazyFrame], pl.LazyFrame]


@dataclass(frozen=True)
class Dataset:
    source: str
    required_fields: tuple[str, ...]
    # Raw bronze columns -> event date (the bronze and silver partition).
    event_date: Callable[[], pl.Expr]
    # Bronze -> typed frame with the helper columns the suite checks; with a `reference`, the
    # reference frame is the second argument.
    prepare: Callable[..., pl.LazyFrame]
    suite: Suite
    keys: tuple[str, ...]
    values: tuple[str, ...]
    reference: Reference | None = None
    # Boolean column of the prepared frame: true for rows that wait for reference data.
    waiting: str | None = None
    # "date": each event date is rebuilt on its own; "all": the whole table is rebuilt at once.
    refine_scope: Literal["date", "all"] = "date"
    history: bool = False
    # Dates validated and written together: fewer, larger commits for many small partitions.
    refine_batch_dates: int = 1
    # Raw source column -> prepared column that keeps its text, where prepare renames it.
    raw_columns: Mapping[str, str] = field(default_factory=dict)

    @property
    def bronze(self) -> Table:
        return table(f"bronze.{self.source}")

    @property
    def quarantine(self) -> Table:
        return table(f"quarantine.{self.source}")

    @property
    def silver(self) -> Table:
        return table(f"silver.{self.source}")


def _local_date() -> pl.Expr:
    """The naive local date of a reading: the date part of its text (no timezone needed)."""
    return pl.col("datetime").str.strip_chars().str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False)


def _current_parks(register: pl.LazyFrame) -> pl.LazyFrame:
    return register.filter(pl.col("is_current")).select(parks_transforms.PARK_SOURCE_COLUMNS)


# Order matters: a reference table's dataset comes before the datasets that read it.
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
        Dataset(
            source="parks",
            required_fields=parks_transforms.PARK_SOURCE_COLUMNS,
            # The register has no event time: its rows live in the null partition.
            event_date=lambda: pl.lit(None, dtype=pl.Date),
            prepare=parks_transforms.prepare_parks,
            suite=parks_suite.SUITE,
            keys=("park_name",),
            values=("timezone", "energy_type"),
            refine_scope="all",
            history=True,
        ),
        Dataset(
            source="park_readings",
            required_fields=parks_transforms.READING_SOURCE_COLUMNS,
            event_date=_local_date,
            prepare=parks_transforms.prepare_park_readings,
            suite=park_readings_suite.SUITE,
            keys=("park_name", "ts_utc"),
            values=("ts_local", "mw", "interval_minutes", "energy_type"),
            reference=Reference("silver.parks", _current_parks),
            waiting="awaits_park",
            raw_columns=parks_transforms.RAW_READING_COLUMNS,
            # A park-day is ~96 rows: a month of days per validation keeps a year's file quick.
            refine_batch_dates=31,
        ),
    )
}


def dataset(source: str) -> Dataset:
    try:
        return DATASETS[source]
    except KeyError:
        raise KeyError(f"unknown source {source!r}; known: {sorted(DATASETS)}") from None
