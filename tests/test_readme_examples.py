"""Every read command the README shows (`gridlake sql`, `gaps`, `explain`, `tables`, in code blocks
and in backticks) runs against the lake `make demo` builds and answers with rows. Commands with a
placeholder (QUERY, TABLE, …) are syntax, not examples; `--as-of` examples name a fixed time, which
a lake made today did not exist at (that error is tested in test_cli_errors)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestration.cli import main
from orchestration.demo import drop_sample
from warehouse.lake import Lake
from warehouse.stages.pipeline import process_pending

README = (Path(__file__).parents[1] / "README.md").read_text()
READS = r"gridlake (?:sql|gaps|explain|tables)\b"
PLACEHOLDERS = ("…", "QUERY", "TABLE", "SOURCE", "COLUMN=", "--as-of", "<")


def examples() -> list[str]:
    found = re.findall(rf"`({READS}[^`]*)`", README)
    for line in README.splitlines():
        line = line.removeprefix("$ ").strip()
        if re.match(READS, line):
            found.append(line)
    # A bare `gridlake sql` in prose names the command; an example has arguments.
    runnable = {c for c in found if len(shlex.split(c)) > 2 or c == "gridlake tables"}
    return sorted(c for c in runnable if not any(p in c for p in PLACEHOLDERS))


def test_the_readme_has_read_examples_of_every_kind() -> None:
    kinds = {shlex.split(c)[1] for c in examples()}
    assert kinds == {"sql", "gaps", "explain", "tables"}
    assert len(examples()) >= 15


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake.from_env(str(tmp_path_factory.mktemp("readme") / "lake"))
    drop_sample(lake)
    process_pending(lake, publish=True)
    return lake


@pytest.mark.e2e
@pytest.mark.parametrize("command", examples())
def test_a_readme_example_answers_with_rows(demo: Lake, command: str) -> None:
    args = shlex.split(command)[1:]
    if args[0] == "sql" and "--format" not in args:
        args += ["--format", "csv"]
    out = CliRunner().invoke(main, [*args, "--lake", demo.root], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    if args[0] == "sql":
        assert len(out.output.strip().splitlines()) >= 2, out.output  # a header and at least one row
    elif args[0] == "gaps":
        assert "with gaps" in out.output.splitlines()[0] and "no readings" not in out.output
    elif args[0] == "tables":
        assert "gold.hourly_usage" in out.output
    else:
        assert "built by gold" in out.output or '"build"' in out.output
