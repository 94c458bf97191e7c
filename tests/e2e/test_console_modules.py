"""The console's pure modules (query text, time inputs, the URL) run in Chromium, as tables."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.conftest import Site


@pytest.fixture(scope="module")
def page(driver: WebDriver, site: Site) -> WebDriver:
    driver.get(f"{site.url}/console/static/favicon.svg")  # same origin, no console code run
    return driver


def call(page: WebDriver, module: str, function: str, *args: Any) -> Any:
    """The result of ``function(*args)`` exported by ``js/<module>.js``."""
    return page.execute_async_script(
        "const [module, name, args, done] = arguments;"
        "import(`/console/static/js/${module}.js`)"
        ".then((m) => done({value: m[name](...args)}), (e) => done({error: String(e)}));",
        module, function, list(args))["value"]


@pytest.mark.parametrize(("query", "field", "op", "value", "expected"), [
    ("", "action", "=", "login", '{action="login"}'),
    ("{}", "action", "=", "login", '{action="login"}'),
    ('{outcome="failure"}', "action", "!=", "login", '{outcome="failure", action!="login"}'),
    ('{outcome="failure",}', "action", "=", "x", '{outcome="failure", action="x"}'),
    ('outcome="failure"', "action", "=", "x", 'outcome="failure", action="x"'),
    ('{action="login"}', "action", "=", "login", '{action="login"}'),
    ("", "labels.team", "=", 'a"b\\c\nd', '{labels.team="a\\"b\\\\c\\nd"}'),
    ("", "odd name", "=", "v", '{"odd name"="v"}'),
])
def test_add_matcher(page: WebDriver, query, field, op, value, expected) -> None:
    assert call(page, "query", "addMatcher", query, field, op, value) == expected


@pytest.mark.parametrize(("text", "caret", "expected"), [
    ("", 0, {"kind": "field", "prefix": "", "from": 0, "to": 0}),
    ("{act", 4, {"kind": "field", "prefix": "act", "from": 1, "to": 4}),
    ('{action="login", ac', 19, {"kind": "field", "prefix": "ac", "from": 17, "to": 19}),
    ('{action="lo', 11, {"kind": "value", "field": "action", "op": "=", "prefix": "lo",
                         "from": 8, "to": 11, "quote": '"'}),
    ('{action!~"a\\"b"}', 14, {"kind": "value", "field": "action", "op": "!~", "prefix": 'a"b',
                               "from": 9, "to": 15, "quote": '"'}),
    ("{action=", 8, {"kind": "value", "field": "action", "op": "=", "prefix": "", "from": 8,
                     "to": 8, "quote": None}),
    ('{action="login"}', 15, None),
    ('{action="login"}', 16, None),
    ('{action="login" x', 17, None),
])
def test_completion_context(page: WebDriver, text, caret, expected) -> None:
    assert call(page, "query", "completionContext", text, caret) == expected


@pytest.mark.parametrize(("text", "line", "column", "offset"), [
    ("abc", 1, 1, 0),
    ("abc", 1, 3, 2),
    ("ab\ncd", 2, 2, 4),
    ("\U0001f600x", 1, 2, 2),  # columns count code points; offsets count UTF-16 units
    ("ab", 1, 9, 2),
    ("ab", 5, 1, 2),
])
def test_offset_of_line_and_column(page: WebDriver, text, line, column, offset) -> None:
    assert call(page, "query", "offsetOf", text, line, column) == offset


@pytest.mark.parametrize(("text", "zone", "expected"), [
    ("2024-05-01 12:00:00", "utc", "2024-05-01T12:00:00Z"),
    ("2024-05-01 12:00", "utc", "2024-05-01T12:00:00Z"),
    ("2024-05-01", "utc", "2024-05-01T00:00:00Z"),
    ("2024-05-01 12:00:00.123456789", "utc", "2024-05-01T12:00:00.123456789Z"),
    ("2024-05-01T14:00:00+02:00", "utc", "2024-05-01T14:00:00+02:00"),
    ("1714564800", "utc", "2024-05-01T12:00:00.000Z"),
])
def test_time_inputs_as_the_api_is_sent_them(page: WebDriver, text, zone, expected) -> None:
    assert call(page, "time", "apiTime", text, zone)["text"] == expected


def test_a_bad_time_input_says_what_is_accepted(page: WebDriver) -> None:
    error = page.execute_async_script(
        "const done = arguments[0];"
        "import('/console/static/js/time.js').then((m) => {"
        "  try { m.resolveTime('yesterday', 'utc'); done(''); }"
        "  catch (e) { done(e.message); } });")
    assert "now-15m" in error and "RFC 3339" in error


@pytest.mark.parametrize("view", [
    {"ns": "demo", "q": '{action="login", actor.id!="a b"}', "from": "now-15m", "to": "now",
     "tz": "utc", "cols": ["time", "actor", "labels.team"], "event": ""},
    {"ns": "acme", "q": "", "from": "2024-05-01 00:00:00", "to": "2024-05-02 00:00:00",
     "tz": "local", "cols": ["time"], "event": "e-1"},
])
def test_the_view_round_trips_through_the_url(page: WebDriver, view) -> None:
    search = call(page, "state", "searchOfView", view)
    assert "%" in search or view["q"] == ""
    assert call(page, "state", "viewFromSearch", search) == view
