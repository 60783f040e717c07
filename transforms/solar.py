"""Solar generation batches: typing raw readings, anomaly flags, and the daily figures per site.

Anomalies are data, not quarantine. Two kinds:

* row anomalies, known from the reading alone and kept in silver: `negative_generation`,
  `negative_consumption` (a meter reporting negative energy is a fault);
* `generation_above_site_range`, known only against the site's own history and added in gold:
  generated energy above RANGE_FACTOR x the 99.9th percentile (linear interpolation) of the site's
  generation on the RANGE_DAYS full UTC days before the reading's day, counting readings without a
  row anomaly, when those days hold at least RANGE_MIN_READINGS readings. A day is judged against
  earlier days only, so the rule is deterministic and a day's result never depends on later data.

Daily sums are over readings with no anomaly of either kind; `readings` counts all of them."""

from __future__ import annotations

import datetime as dt

import polars as pl

from transforms.ids import normalise_id
from transforms.timestamps import parse_utc_naive_is_utc, within_microseconds

SOURCE_COLUMNS = ("site_id", "timestamp", "energy_generated_kwh", "energy_consumed_kwh")
VALUES = ("generated_kwh", "consumed_kwh")
RANGE_DAYS = 7
RANGE_QUANTILE = 0.999
RANGE_FACTOR = 1.2
RANGE_MIN_READINGS = 100
ROW_REASONS = {"negative_generation": "generated_kwh", "negative_consumption": "consumed_kwh"}
RANGE_REASON = "generation_above_site_range"


def _text(name: str, schema: pl.Schema) -> pl.Expr:
    if name not in schema:
        return pl.lit(None, dtype=pl.String)
    stripped = pl.col(name).cast(pl.String).str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


def event_date() -> pl.Expr:
    """Bronze partition: the UTC date of the reading (a naive timestamp is UTC)."""
    return parse_utc_naive_is_utc(pl.col("timestamp")).dt.date()


def _reasons(names: dict[str, str]) -> pl.Expr:
    parts = [pl.when(pl.col(c) < 0).then(pl.lit(reason)) for reason, c in names.items()]
    return pl.concat_list(parts).list.drop_nulls()


def prepare_solar(bronze: pl.LazyFrame) -> pl.LazyFrame:
    """Typed readings, net energy, row anomalies and the helper columns of the suite."""
    schema = bronze.collect_schema()
    typed = bronze.with_columns(
        site_id=normalise_id(_text("site_id", schema)),
        ts=parse_utc_naive_is_utc(_text("timestamp", schema)),
        within_microseconds=within_microseconds(_text("timestamp", schema)),
        generated_kwh=_text("energy_generated_kwh", schema).cast(pl.Float64, strict=False),
        consumed_kwh=_text("energy_consumed_kwh", schema).cast(pl.Float64, strict=False),
    ).with_columns(
        net_kwh=pl.col("generated_kwh") - pl.col("consumed_kwh"),
        anomaly_reasons=_reasons(ROW_REASONS),
    )
    typed = typed.with_columns(is_anomaly=pl.col("anomaly_reasons").list.len() > 0)
    return typed


def with_range_anomalies(day: pl.LazyFrame, history: pl.LazyFrame) -> pl.LazyFrame:
    """Silver readings of some dates with `generation_above_site_range` added to their reasons.
    `history`: silver readings of at least the RANGE_DAYS days before each of those dates."""
    dates = day.select(pl.col("ts").dt.date().alias("date")).unique()
    window = (
        dates.join(history.filter(~pl.col("is_anomaly")), how="cross")
        .filter(
            (pl.col("ts").dt.date() < pl.col("date"))
            & (pl.col("ts").dt.date() >= pl.col("date") - pl.duration(days=RANGE_DAYS))
        )
        .group_by("site_id", "date")
        .agg(
            n=pl.len(),
            threshold=pl.col("generated_kwh").quantile(RANGE_QUANTILE, interpolation="linear") * RANGE_FACTOR,
        )
        .filter(pl.col("n") >= RANGE_MIN_READINGS)
        .select("site_id", "date", "threshold")
    )
    above = pl.col("threshold").is_not_null() & (pl.col("generated_kwh") > pl.col("threshold"))
    return (
        day.with_columns(date=pl.col("ts").dt.date())
        .join(window, on=["site_id", "date"], how="left")
        .with_columns(
            anomaly_reasons=pl.when(above)
            .then(pl.col("anomaly_reasons").list.concat(pl.lit([RANGE_REASON])))
            .otherwise(pl.col("anomaly_reasons"))
        )
        .with_columns(is_anomaly=pl.col("anomaly_reasons").list.len() > 0)
        .drop("threshold")
    )


def site_daily(readings: pl.LazyFrame) -> pl.LazyFrame:
    """One row per site and UTC date from readings carrying all their anomaly reasons."""
    normal = ~pl.col("is_anomaly")
    return (
        readings.with_columns(date=pl.col("ts").dt.date())
        .group_by("site_id", "date")
        .agg(
            readings=pl.len(),
            generated_kwh=pl.col("generated_kwh").filter(normal).sum(),
            consumed_kwh=pl.col("consumed_kwh").filter(normal).sum(),
            net_kwh=pl.col("net_kwh").filter(normal).sum(),
            anomalies=pl.col("is_anomaly").sum().cast(pl.Int64),
            first_ts=pl.col("ts").min(),
            last_ts=pl.col("ts").max(),
        )
        .sort("site_id", "date")
    )


def anomalies(readings: pl.LazyFrame, previous: pl.LazyFrame, now: dt.datetime) -> pl.LazyFrame:
    """Anomalous readings with `detected_at`: kept from `previous` (the table as it was) for a
    reading already detected with the same values and reasons, else `now`."""
    current = readings.filter(pl.col("is_anomaly")).select(
        "site_id", "ts", "generated_kwh", "consumed_kwh", "anomaly_reasons", date=pl.col("ts").dt.date()
    )
    same = ["site_id", "ts", "generated_kwh", "consumed_kwh", "anomaly_reasons"]
    known = previous.select(*same, "detected_at")
    return (
        current.join(known, on=same, how="left", nulls_equal=True)
        .with_columns(pl.col("detected_at").fill_null(pl.lit(now).dt.cast_time_unit("us")))
        .sort("site_id", "ts")
    )
