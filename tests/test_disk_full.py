"""A lake on a full disk: `gridlake run` names the cause on its summary line, and once space is
back the next run lands the file whole. The lake lives on a tmpfs of 64 MiB filled to its last
16 KiB (mounting one needs root, which CI has)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestration.cli import main
from tests.builders import ts, usage_csv
from warehouse import delta
from warehouse.lake import Lake
from warehouse.registry import table

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root"), pytest.mark.e2e]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_named_on_the_summary_line_and_the_rerun_lands_whole(
    small_disk: Path, dagster_home: Path
) -> None:
    lake = Lake.from_env(str(small_disk / "lake"))
    landing = Path(lake.root) / "landing" / "customer_usage"
    landing.mkdir(parents=True)
    rows = [(c, ts(m), ts(m + 5), float(c % 7)) for c in range(40) for m in range(0, 600, 5)]
    (landing / "u.csv").write_bytes(usage_csv(rows))
    filler = small_disk / "filler"
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    filler.write_bytes(b"\0" * max(free - 16 * 1024, 0))

    out = CliRunner().invoke(main, ["run", "--lake", lake.root])
    assert out.exit_code == 1, out.output
    failed = [line for line in out.output.splitlines() if line.startswith("FAILED")]
    assert failed, out.output
    for line in failed:
        assert "No space left on device" in line or "os error 28" in line, line

    filler.unlink()
    again = CliRunner().invoke(main, ["run", "--lake", lake.root])
    assert again.exit_code == 0, again.output
    assert delta.scan(lake, table("bronze.customer_usage")).collect().height == len(rows)
