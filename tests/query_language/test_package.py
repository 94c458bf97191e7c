"""The package's boundaries: its public API, and what it must not import."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

import query_language


def test_all_is_the_public_api() -> None:
    assert sorted(query_language.__all__) == sorted(set(query_language.__all__))
    for name in query_language.__all__:
        assert getattr(query_language, name) is not None
    assert {"parse", "compile_selector", "QueryError", "Selector", "Matcher", "Op"} <= set(
        query_language.__all__
    )


def test_every_error_is_a_query_error() -> None:
    errors = [getattr(query_language, n) for n in query_language.__all__ if n.endswith("Error")]
    assert len(errors) >= 8
    assert all(issubclass(e, query_language.QueryError) for e in errors)


def test_grammar_is_package_data() -> None:
    assert "start:" in resources.files("query_language").joinpath("grammar.lark").read_text()
    assert "%import .grammar" in resources.files("query_language").joinpath(
        "logql.lark").read_text()


def test_imports_neither_flask_nor_elasticsearch_nor_app() -> None:
    code = (
        "import sys, query_language\n"
        "query_language.parse('a=\"b\"')\n"
        "query_language.parse_logql('sum(rate({a=\"b\"} |= \"x\" [1m]))')\n"
        "bad = [m for m in ('flask', 'elasticsearch', 'app') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    root = Path(query_language.__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert result.stdout.strip() == ""
