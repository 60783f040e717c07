"""The README's table reference is the registry's: generated from it, checked here."""

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
    assert README.count("gridlake sql \"SELECT") >= 8  # four park and four site endpoints
