"""The fast event loader equals marshmallow's ``EventSchema.load`` wherever it answers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, post_load

from app.model.event import EventSchema, load_event
from app.model.schema_loader import FastLoader

SCHEMA = EventSchema()
FAST = FastLoader.for_schema(SCHEMA)

VALID = [
    {"time": "2024-05-01T12:00:00.123456Z", "action": "login"},
    {"id": "59de4bb09221034b071d83db64950d34", "time": 1714564800.5, "action": "enable",
     "outcome": "success", "actor": {"id": "u1", "name": "alice", "type": "User",
                                     "group_id": "g"},
     "target": {"kind": "feature", "id": "f-1", "name": "Feature", "additional_id": "x"},
     "labels": {"env": "prod", "team": "ops"}, "source_ip": "10.0.0.1",
     "user_agent": "curl/8", "message": "hi", "error": "no", "query": "SELECT 1",
     "context": {"a": [1, 2]}, "body": {"b": None}, "tenant_id": 1001, "version": "1",
     "blob_id": "b" * 8192},
    # keys in another order than declared: the answer is in declared order anyway
    {"labels": {"b": "2", "a": "1"}, "action": "x", "time": "2024-05-01T12:00:00+02:00",
     "namespace": "ns", "actor": {"group_id": "g", "id": "u"}, "source_ip": "::1"},
]
INVALID = [
    {"action": "login"},  # time missing
    {"time": "2024-05-01T12:00:00Z", "action": ""},
    {"time": "2024-05-01T12:00:00Z", "action": "a", "unknown": 1},
    {"time": "2024-05-01T12:00:00Z", "action": "a", "actor": {"id": "u", "phone": "e"}},
    {"time": "2024-05-01T12:00:00Z", "action": "a", "actor": None},
    {"time": "2024-05-01T12:00:00Z", "action": True},
    {"time": "2024-05-01T12:00:00Z", "action": "a", "outcome": "maybe"},
    {"time": "2024-05-01T12:00:00Z", "action": "a", "source_ip": "999.1.1.1"},
    {"time": "2024-05-01T12:00:00Z", "action": "a", "labels": {"bad key": "v"}},
    {"time": "2024-05-01T12:00:00Z", "action": "a", "labels": {"k": 1}},
    {"time": "2024-05-01T12:00:00Z", "action": "a", "id": "has space"},
    {"time": "yesterday", "action": "a"},
    {"time": "2024-05-01T12:00:00Z", "action": "a", "context": []},
    {"time": "2024-05-01T12:00:00Z", "action": "a" * 8193},  # over MAX_VALUE_CHARS
]


def _ordered(value: Any) -> Any:
    """Nested items as lists, so equality also checks key order."""
    if isinstance(value, dict):
        return [(k, _ordered(v)) for k, v in value.items()]
    return value


def test_the_event_schema_has_a_fast_path() -> None:
    assert FAST is not None


@pytest.mark.parametrize("raw", VALID)
def test_valid_events_load_the_same_in_the_same_order(raw: dict[str, Any]) -> None:
    assert FAST is not None
    fast = FAST.load(raw)
    assert fast is not None
    assert _ordered(fast) == _ordered(SCHEMA.load(raw))


@pytest.mark.parametrize("raw", INVALID)
def test_invalid_events_are_left_to_the_schema(raw: dict[str, Any]) -> None:
    assert FAST is not None
    assert FAST.load(raw) is None
    with pytest.raises(ValidationError):
        load_event(raw, "ns")


_KEYS = [*SCHEMA.load_fields, "unknown"]
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**12), st.floats(allow_nan=False),
    st.sampled_from(["", "x", "prod", "10.1.2.3", "::1", "not-an-ip", "a b", "success",
                     "2024-05-01T12:00:00.5Z", "1714564800", "u-1", "x" * 9000]),
    st.text(max_size=12),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["id", "name", "kind", "type", "env", "bad key",
                                         "group_id", "additional_id", "x"]), inner,
                        max_size=4),
    ),
    max_leaves=6,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=8),
       st.sampled_from(["2024-05-01T12:00:00Z", 1714564800, None]),
       st.sampled_from(["login", 7, None]))
def test_fast_answers_always_equal_the_schema(raw: dict[str, Any], time: Any,
                                              action: Any) -> None:
    for key, value in (("time", time), ("action", action)):
        if value is not None:
            raw.setdefault(key, value)
    assert FAST is not None
    fast = FAST.load(raw)
    try:
        expected = SCHEMA.load(raw)
    except ValidationError:
        assert fast is None
        return
    if fast is not None:
        assert _ordered(fast) == _ordered(expected)


def test_schemas_with_unmodelled_features_get_no_fast_path() -> None:
    class WithHook(Schema):
        class Meta:
            unknown = RAISE

        name = fields.String()

        @post_load
        def shout(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            return {k: v.upper() for k, v in data.items()}

    class WithDataKey(Schema):
        class Meta:
            unknown = RAISE

        name = fields.String(data_key="Name")

    class Excluding(Schema):
        class Meta:
            unknown = EXCLUDE

        name = fields.String()

    for schema in (WithHook(), WithDataKey(), Excluding()):
        assert FastLoader.for_schema(schema) is None


def test_defaults_are_filled_in_declared_order() -> None:
    class WithDefaults(Schema):
        class Meta:
            unknown = RAISE

        first = fields.String(load_default="a")
        second = fields.String(required=True)
        third = fields.List(fields.Integer(), load_default=list)

    schema = WithDefaults()
    loader = FastLoader.for_schema(schema)
    assert loader is not None
    for raw in ({"second": "b"}, {"third": [1, "2"], "second": "b", "first": "z"}):
        assert _ordered(loader.load(raw)) == _ordered(schema.load(raw))
    assert loader.load({"first": "a"}) is None  # required field missing


_KEYWORD = st.one_of(st.text(min_size=1, max_size=20), st.integers(0, 10**6))
_MOSTLY_VALID = st.fixed_dictionaries(
    {"time": st.sampled_from(["2024-05-01T12:00:00.123Z", "2024-05-01t12:00:00+05:30",
                              1714564800, 1714564800.25, "1714564800"]),
     "action": _KEYWORD},
    optional={
        "id": st.from_regex(r"[A-Za-z0-9._:-]{1,20}", fullmatch=True),
        "outcome": st.sampled_from(["success", "failure", "unknown"]),
        "actor": st.dictionaries(st.sampled_from(["id", "name", "type", "group_id"]),
                                 _KEYWORD, max_size=4),
        "target": st.dictionaries(st.sampled_from(["kind", "id", "name", "additional_id"]),
                                  _KEYWORD, max_size=4),
        "labels": st.dictionaries(st.from_regex(r"[a-z_-]{1,8}", fullmatch=True),
                                  st.text(max_size=10), max_size=3),
        "source_ip": st.ip_addresses().map(str),
        "tenant_id": _KEYWORD, "user_agent": _KEYWORD, "message": st.text(max_size=20),
        "context": st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    },
)


@settings(max_examples=300, deadline=None)
@given(_MOSTLY_VALID)
def test_valid_generated_events_take_the_fast_path(raw: dict[str, Any]) -> None:
    assert FAST is not None
    fast = FAST.load(raw)
    assert fast is not None
    assert _ordered(fast) == _ordered(SCHEMA.load(raw))
