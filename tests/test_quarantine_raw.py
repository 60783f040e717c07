"""Quarantine keeps the text that was sent. Every dataset's prepare either leaves a raw column's
text as it was (it may fill in a field the file left out) or keeps a copy that quarantine reads
(`Dataset.raw_columns`): checked on generated files of every source, and on a coin sample whose
millisecond epoch time is quarantined."""

from __future__ import annotations

import polars as pl
import pytest

from tests.builders import every_source
from tests.conftest import Drop
from warehouse import delta
from warehouse.datasets import DATASETS, Dataset
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages import fates, refine
from warehouse.stages.pipeline import process_pending

ROW = ["_file_hash", "_row_number"]


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake.from_env(str(tmp_path_factory.mktemp("raw") / "lake"))
    every_source(lake)
    process_pending(lake)
    return lake


@pytest.mark.parametrize("ds", DATASETS.values(), ids=list(DATASETS))
def test_prepare_keeps_every_raw_column_or_a_copy_of_it(everything: Lake, ds: Dataset) -> None:
    raw = delta.scan(everything, ds.bronze).collect()
    assert raw.height, ds.source
    reference, _ = refine.reference_of(everything, ds)
    prepared, _ = fates.prepare(ds, raw, reference)
    sent = [c for c in raw.columns if not c.startswith("_") and c not in ds.raw_columns and c in prepared.columns]
    joined = prepared.select(*ROW, *sent).join(raw.select(*ROW, *sent), on=ROW, suffix="_sent")
    for c in sent:
        # A field the file left out may be filled in (a park's name from its file name).
        sent_text = pl.col(f"{c}_sent")
        changed = joined.filter(sent_text.is_not_null() & ~pl.col(c).cast(pl.String).eq_missing(sent_text))
        assert changed.is_empty(), f"{ds.source}.{c}: prepare replaced the text as sent: {changed.head(3)}"


def test_a_quarantined_coin_sample_keeps_its_time_as_sent(lake: Lake, drop: Drop) -> None:
    drop("coin_prices", "ms.json", b'[{"pair": "BTC/usd", "time": 1733270400000, "value": " 12.5"}]')
    process_pending(lake)
    [row] = delta.scan(lake, table("quarantine.coin_prices")).collect().iter_rows(named=True)
    assert (row["pair"], row["time"], row["value"]) == ("BTC/usd", "1733270400000", " 12.5")
    assert "time_parseable" in row["failed_rules"]
