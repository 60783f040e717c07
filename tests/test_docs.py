"""The README's table reference is the registry's: generated from it, checked here."""

import re
from pathlib import Path

from warehouse.registry import TABLES
from warehouse.registry_docs import REFERENCE, reference_markdown, summary_markdown

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_table_reference_matches_the_registry() -> None:
    fix = "regenerate with: python -m warehouse.registry_docs"
    assert REFERENCE.read_text() == reference_markdown(), fix
    assert summary_markdown() in README, fix
    for name in TABLES:
        assert f"`{name}`" in README


def test_readme_shows_the_two_commands_and_the_endpoint_queries() -> None:
    assert "make demo" in README and "make test" in README
    assert README.count('gridlake sql "SELECT') >= 8  # four park and four site endpoints


PACKAGES = ("orchestration", "assets", "transforms", "expectations", "warehouse", "benchmarks", "api")


def test_architecture_module_map_lists_every_module_and_only_those() -> None:
    root = Path(__file__).parents[1]
    modules = {
        p.relative_to(root).as_posix()
        for package in PACKAGES
        for p in (root / package).rglob("*.py")
        if p.name != "__init__.py"
    }
    text = (root / "docs" / "architecture.md").read_text()
    mapped = set(re.findall(r"^\| `([\w/]+\.py)` \|", text, flags=re.MULTILINE))
    assert sorted(modules - mapped) == [], "modules missing from docs/architecture.md"
    assert sorted(mapped - modules) == [], "docs/architecture.md lists modules that do not exist"
