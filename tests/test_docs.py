"""The README's table reference is the registry's: generated from it, checked here."""

from pathlib import Path

from warehouse.registry import TABLES
from warehouse.registry_docs import tables_markdown

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_readme_table_reference_matches_the_registry() -> None:
    assert tables_markdown() in README, "regenerate with: python -m warehouse.registry_docs"
    for name in TABLES:
        assert f"`{name}`" in README


def test_readme_shows_the_two_commands_and_the_endpoint_queries() -> None:
    assert "make demo" in README and "make test" in README
    assert README.count("gridlake sql \"SELECT") >= 8  # four park and four site endpoints
