"""Gold-layer cost transforms: price usage intervals and roll them up to hours.

Both functions are pure Polars (LazyFrame in, LazyFrame out) and work in UTC.
"""

from __future__ import annotations

import polars as pl

_START = "interval_start"
_END = "interval_end"
_US_PER_HOUR = 3_600_000_000
_TS = pl.Datetime("us", "UTC")


def _clean_prices(prices: pl.LazyFrame) -> pl.LazyFrame:
    """Valid, mutually non-overlapping price intervals with a known price.

    A price interval that overlaps any other price interval is ambiguous (two
    prices for the same instant), so it is dropped and its time counts as a
    gap. Dropping instead of picking a winner keeps the outcome independent of
    row order and makes the bad data visible downstream as null costs.
    """
    start, end = pl.col(_START), pl.col(_END)
    # After sorting by start, interval i overlaps an earlier one iff it starts
    # before the running max of earlier ends, and a later one iff the next
    # start falls before its own end.
    overlaps_earlier = start < end.cum_max().shift(1)
    overlaps_later = start.shift(-1) < end
    return (
        prices.select(
            start.cast(_TS),
            end.cast(_TS),
            pl.col("price_per_kwh").cast(pl.Float64),
        )
        .filter(end > start)
        .sort(_START)
        .filter(~(overlaps_earlier.fill_null(False) | overlaps_later.fill_null(False)))
        .filter(pl.col("price_per_kwh").is_not_null())
    )


def _interval_prices(intervals: pl.LazyFrame, prices: pl.LazyFrame) -> pl.LazyFrame:
    """Time-weighted mean price for each distinct (interval_start, interval_end).

    Returns the intervals that are fully priced, with column price_per_kwh.
    Intervals with any unpriced part are absent (callers left-join, so they
    end up null). Each stage only sees what the cheaper stages before it could
    not settle.
    """
    # 1. The interval is exactly one price interval: equi-join.
    exact = intervals.join(prices, on=[_START, _END], how="inner", validate="1:1")
    rest = intervals.join(prices, on=[_START, _END], how="anti")

    p = prices.select(
        pl.col(_START).alias("_p_start"),
        pl.col(_END).alias("_p_end"),
        pl.col("price_per_kwh").alias("_p_price"),
    )
    # 2. The interval lies inside one price interval (usage finer than
    # prices): the last price starting at or before it must also cover its
    # end. Prices do not overlap after cleaning, so no other price can touch
    # it. An as-of join is a linear merge, far cheaper than a range join.
    located = rest.sort(_START).join_asof(p, left_on=_START, right_on="_p_start", strategy="backward")
    inside = located.filter(pl.col("_p_end") >= pl.col(_END)).select(_START, _END, price_per_kwh="_p_price")
    # An interval whose start is not priced can never be fully priced.
    spanning = located.filter((pl.col("_p_end") > pl.col(_START)) & (pl.col("_p_end") < pl.col(_END))).select(
        _START, _END
    )

    # 3. Everything else spans several price intervals: range join.
    overlap_us = (pl.min_horizontal(_END, "_p_end") - pl.max_horizontal(_START, "_p_start")).dt.total_microseconds()
    length_us = (pl.col(_END) - pl.col(_START)).dt.total_microseconds()
    spread = (
        spanning.join_where(
            p,
            pl.col(_START) < pl.col("_p_end"),
            pl.col(_END) > pl.col("_p_start"),
        )
        .with_columns(_overlap_us=overlap_us)
        .group_by(_START, _END)
        .agg(
            _covered_us=pl.col("_overlap_us").sum(),
            _weighted=(pl.col("_overlap_us").cast(pl.Float64) * pl.col("_p_price")).sum(),
        )
        # Prices never overlap after cleaning, so covered == length means
        # "no gap" exactly (integer microseconds, no rounding).
        .filter(pl.col("_covered_us") == length_us)
        .select(
            _START,
            _END,
            price_per_kwh=pl.col("_weighted") / length_us.cast(pl.Float64),
        )
    )
    return pl.concat([exact, inside, spread], how="vertical")


def cost_per_interval(usage: pl.LazyFrame, prices: pl.LazyFrame) -> pl.LazyFrame:
    """Price every usage interval: one output row per usage row.

    Output columns: customer_id, interval_start, interval_end, usage_kwh,
    price_per_kwh, cost.

    Rules:

    * Usage is spread evenly over its interval and priced piece by piece
      against every overlapping price interval, so
      ``cost = usage_kwh * sum(overlap_s / usage_s * price)``.
      ``price_per_kwh`` is the time-weighted mean price over the usage
      interval, ``sum(overlap_s / usage_s * price)``, and
      ``cost = usage_kwh * price_per_kwh``; for usage_kwh > 0 this equals
      ``cost / usage_kwh`` (up to float rounding).
    * If any part of the usage interval has no price (a gap, a null price,
      or an ambiguous price, see below), both cost and price_per_kwh are null.
    * usage_kwh == 0 on a fully priced interval gives cost 0 and
      price_per_kwh = the time-weighted mean price defined above (so zero
      usage still shows what the energy would have cost).
    * Price intervals that overlap another price interval (should not exist
      after dedup) are treated as unknown: usage touching them gets null cost
      and price. Price intervals with interval_end <= interval_start are
      ignored.

    The weighting depends only on (interval_start, interval_end), never on the
    customer, so prices are resolved once per distinct usage interval (an
    equi-join for intervals that coincide with a price interval, an as-of
    join for intervals inside one price interval, a range join for the rest)
    and then attached to the usage rows with an equi-join on
    (interval_start, interval_end). Row order is not preserved. Extra input
    columns are ignored.
    """
    u = usage.select(
        pl.col("customer_id"),
        pl.col(_START).cast(_TS),
        pl.col(_END).cast(_TS),
        pl.col("usage_kwh").cast(pl.Float64),
    )
    intervals = u.select(_START, _END).unique()
    per_interval = _interval_prices(intervals, _clean_prices(prices))
    return u.join(
        per_interval,
        on=[_START, _END],
        how="left",
        validate="m:1",
        # Keeping input order forces a re-sort that dominates the run time on
        # unsorted input, and row order carries no meaning in gold tables.
        maintain_order="none",
    ).select(
        "customer_id",
        _START,
        _END,
        "usage_kwh",
        "price_per_kwh",
        cost=pl.col("usage_kwh") * pl.col("price_per_kwh"),
    )


def hourly_usage(cost_per_interval: pl.LazyFrame, partial: bool = False) -> pl.LazyFrame:
    """Roll priced usage intervals up to UTC hours per customer.

    Output columns: customer_id, hour_start (Datetime UTC), usage_kwh, cost,
    intervals (Int64), is_complete. Row order is unspecified: sorting on the
    string customer id would add a large share of the run time, and writers
    can sort or cluster as they need.

    * An interval that crosses an hour boundary is split between the hours it
      touches in proportion to the time it spends in each (usage evenly spread
      over the interval); its cost is split with the same fractions, because
      only the interval's total cost is known here. The split cost therefore
      matches piece-by-piece pricing of the sub-intervals only when the price
      is constant across the interval; the total over hours is always exact.
    * usage_kwh and cost are sums of the pieces in the hour. cost is null if
      any contributing piece has a null cost (an unpriced interval that is
      split makes every hour it touches null).
    * intervals counts the usage intervals touching the hour; a split interval
      counts once in each hour it touches.
    * is_complete is true when the covered time inside the hour sums to at
      least 3600 s. Overlapping usage intervals are not detected: two
      intervals covering the same minutes both count toward the 3600 s. For
      one customer this cannot happen after dedup on (customer_id,
      interval_start) unless interval lengths differ.
    """
    start, end = pl.col(_START), pl.col(_END)
    first_hour, last_hour = pl.col("_first_hour"), pl.col("_last_hour")
    # The hour columns are materialised here, not inlined into the filters
    # below: filters on computed columns cannot be pushed into the upstream
    # plan, so the branches share one evaluation of it instead of each
    # re-running a differently filtered copy.
    df = cost_per_interval.select(
        "customer_id",
        start.cast(_TS),
        end.cast(_TS),
        pl.col("usage_kwh").cast(pl.Float64),
        pl.col("cost").cast(pl.Float64),
    ).with_columns(
        _first_hour=start.dt.truncate("1h"),
        # End is exclusive: an interval ending exactly on the hour does not
        # touch the next hour.
        _last_hour=(end - pl.duration(microseconds=1)).dt.truncate("1h"),
    )

    one_hour = pl.duration(hours=1)
    hour = pl.col("hour_start")
    piece_us = (pl.min_horizontal(end, hour + one_hour) - pl.max_horizontal(start, hour)).dt.total_microseconds()
    length_us = (end - start).dt.total_microseconds()
    fraction = pl.col("_covered_us").cast(pl.Float64) / length_us.cast(pl.Float64)

    def pieces(frame: pl.LazyFrame) -> pl.LazyFrame:
        return frame.with_columns(_covered_us=piece_us).select(
            "customer_id",
            "hour_start",
            usage_kwh=pl.col("usage_kwh") * fraction,
            cost=pl.col("cost") * fraction,
            _covered_us="_covered_us",
        )

    # Most intervals sit inside one hour and pass through as they are. A
    # crossing interval has a piece in its first and next hour, and only
    # those longer than that pay for building and exploding hour lists. Each
    # branch reads df directly, so the upstream plan is evaluated once.
    kept = ["customer_id", _START, _END, "usage_kwh", "cost"]
    parts = [
        df.filter(last_hour == first_hour).select(
            "customer_id",
            hour_start=first_hour,
            usage_kwh="usage_kwh",
            cost="cost",
            _covered_us=length_us,
        ),
        pieces(
            df.filter(last_hour > first_hour)
            .select(*kept, _h0=first_hour, _h1=first_hour + one_hour)
            .unpivot(on=["_h0", "_h1"], index=kept, value_name="hour_start")
        ),
        pieces(
            df.filter(last_hour > first_hour + one_hour)
            .with_columns(hour_start=pl.datetime_ranges(first_hour + 2 * one_hour, last_hour, "1h"))
            .explode("hour_start")
        ),
    ]
    partials = _partials(pl.concat(parts, how="vertical"))
    return partials if partial else hourly_from_partials(partials)


def _partials(pieces: pl.LazyFrame) -> pl.LazyFrame:
    return pieces.group_by("customer_id", "hour_start").agg(
        usage_kwh=pl.col("usage_kwh").sum(),
        cost=pl.col("cost").sum(),
        _unpriced=pl.col("cost").null_count().cast(pl.Int64),
        intervals=pl.len().cast(pl.Int64),
        _covered_us=pl.col("_covered_us").sum(),
    )


def hourly_partials(cost_per_interval: pl.LazyFrame) -> pl.LazyFrame:
    """What `hourly_usage` sums, per customer and hour, over some of the intervals: partials of
    several pieces of a day add up (`hourly_from_partials`) to the hourly usage of all of them."""
    return hourly_usage(cost_per_interval, partial=True)


def hourly_from_partials(partials: pl.LazyFrame) -> pl.LazyFrame:
    """Hourly usage from partial sums (one or many per customer and hour)."""
    return partials.group_by("customer_id", "hour_start").agg(
        usage_kwh=pl.col("usage_kwh").sum(),
        cost=pl.when(pl.col("_unpriced").sum() == 0).then(pl.col("cost").sum()),
        intervals=pl.col("intervals").sum(),
        is_complete=pl.col("_covered_us").sum() >= _US_PER_HOUR,
    )
