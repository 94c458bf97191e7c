"""Query-string parameters of the compatibility surfaces (no Elasticsearch)."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import fields
from werkzeug.datastructures import MultiDict

from app.api.query_params import (
    Filter,
    Instant,
    NamespaceParams,
    Repeated,
    described,
    exclusive_window,
    filters_of,
    load_args,
    parse_instant,
)
from app.errors import InvalidInput
from app.model.time_window import TimeWindow
from app.model.timestamps import NS_PER_S, TimestampError

DAY_S = 1_654_560_000  # 2022-06-07T00:00:00Z


@pytest.mark.parametrize(("text", "end", "expected_ns"), [
    ("2022-06-07", False, DAY_S * NS_PER_S),
    ("2022-06-07", True, (DAY_S + 86_400) * NS_PER_S - 1),
    ("2022-06-07T09:01:02", False, (DAY_S + 32_462) * NS_PER_S),
    ("2022-06-07T09:01:02", True, (DAY_S + 32_462) * NS_PER_S),
    ("2022-06-07 09:01:02.5", False, (DAY_S + 32_462) * NS_PER_S + 500_000_000),
    ("2022-06-07T11:01:02+02:00", False, (DAY_S + 32_462) * NS_PER_S),
    ("2022-06-07T09:01:02.123456789Z", False, (DAY_S + 32_462) * NS_PER_S + 123_456_789),
    ("1654560000", False, DAY_S * NS_PER_S),
    ("1654560000.25", False, DAY_S * NS_PER_S + 250_000_000),
    ("1654560000123", False, DAY_S * NS_PER_S + 123_000_000),
    ("1654560000123.5", False, DAY_S * NS_PER_S + 123_500_000),
    (" 2022-06-07 ", False, DAY_S * NS_PER_S),
])
def test_parse_instant(text: str, end: bool, expected_ns: int) -> None:
    assert parse_instant(text, end=end) == expected_ns


@pytest.mark.parametrize("text", ["", "yesterday", "2022-02-30", "2022-06-07T25:00:00",
                                  "07/06/2022", "2022-06-07T09:01", "-1654560000123", "1e400"])
def test_parse_instant_refuses(text: str) -> None:
    with pytest.raises(TimestampError):
        parse_instant(text)


class Params(NamespaceParams):
    ids = Repeated("ids")
    kind = Filter("a kind")
    since = Instant()
    limit = fields.Integer(load_default=5)


SCHEMA = Params()


@pytest.mark.parametrize(("pairs", "expected"), [
    ([], {"ids": [], "kind": None, "since": None, "limit": 5, "namespace": None}),
    ([("ids", "1"), ("ids", "2")], {"ids": ["1", "2"]}),
    ([("ids", "1, 2,,3")], {"ids": ["1", "2", "3"]}),
    ([("ids[]", "1"), ("ids", "2")], {"ids": ["1", "2"]}),
    ([("ids", ""), ("kind", ""), ("limit", " ")], {"ids": [], "kind": None, "limit": 5}),
    ([("kind", "x"), ("limit", "7")], {"kind": "x", "limit": 7}),
    ([("since", "2022-06-07")], {"since": DAY_S * NS_PER_S}),
    ([("namespace", "ns1")], {"namespace": "ns1"}),
])
def test_load_args(pairs: list[tuple[str, str]], expected: dict[str, Any]) -> None:
    loaded = load_args(SCHEMA, MultiDict(pairs))
    assert {name: loaded[name] for name in expected} == expected


@pytest.mark.parametrize(("pairs", "field"), [
    ([("kind", "a"), ("kind", "b")], "kind"),
    ([("kinds", "a")], "kinds"),
    ([("kind[]", "a")], "kind[]"),
    ([("limit", "x")], "limit"),
    ([("since", "soon")], "since"),
])
def test_load_args_names_the_bad_parameter(pairs: list[tuple[str, str]], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_args(SCHEMA, MultiDict(pairs))
    assert caught.value.details["field"] == field


def test_filters_of_takes_filter_parameters_only() -> None:
    loaded = load_args(SCHEMA, MultiDict([("ids", "1"), ("kind", "k"), ("limit", "2")]))
    assert filters_of(SCHEMA, loaded) == {"ids": ["1"], "kind": "k"}


def test_described_lists_the_given_parameters_but_the_namespace() -> None:
    args = MultiDict([("ids", "1"), ("ids", "2"), ("namespace", "n"), ("kind", "")])
    assert described(args) == "ids=1 ids=2"


@pytest.mark.parametrize(("after", "before", "expected"), [
    (None, None, TimeWindow(None, None)),
    (10, None, TimeWindow(11, None)),
    (None, 10, TimeWindow(None, 9)),
    (10, 11, TimeWindow(11, 10)),  # nothing lies strictly between
    (10, 20, TimeWindow(11, 19)),
])
def test_exclusive_window(after: int | None, before: int | None, expected: TimeWindow) -> None:
    assert exclusive_window(after, before, "from", "to") == expected


@pytest.mark.parametrize(("after", "before"), [(10, 10), (11, 10)])
def test_exclusive_window_refuses_reversed_bounds(after: int, before: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        exclusive_window(after, before, "from", "to")
    assert caught.value.details["field"] == "from"
