"""The selector query language: text -> AST -> Elasticsearch query DSL (DESIGN §5).

    >>> selector = parse('{action="login", actor.id!="svc-backup"}')
    >>> compile_selector(selector, catalogue)        # doctest: +SKIP
    {'bool': {'filter': [{'term': {'action': 'login'}}],
              'must_not': [{'term': {'actor.id': 'svc-backup'}}]}}

``parse`` checks the syntax (and string escapes); ``compile_selector`` checks
fields, types, values and regexes against a ``FieldCatalogue``. Every error is
a ``QueryError`` with a line, a column and ``as_dict()`` for a JSON body. This
package imports neither Flask, nor the Elasticsearch client, nor ``app``.

LogQL, the query language of the Loki-compatible read API, reuses the
selector's matchers, strings and regex translation::

    >>> expr = parse_logql('sum by (action) (count_over_time({actor_id="u1"} |= "x" [5m]))')
    >>> compile_logql(expr, catalogue, line_field="line")   # doctest: +SKIP
    MetricPlan(query={...}, function=<RangeFunction.COUNT_OVER_TIME ...>, range_ms=300000, ...)
"""

from __future__ import annotations

from query_language.ast import Matcher, Op, Selector
from query_language.catalogue import FieldCatalogue, FieldInfo
from query_language.compiler import MAX_REGEX_LENGTH, compile_selector
from query_language.errors import (
    FieldTypeError,
    InvalidRegexError,
    InvalidValueError,
    QueryError,
    QuerySyntaxError,
    RegexError,
    RegexTooComplexError,
    RegexTooLongError,
    UnknownFieldError,
    UnsupportedLogQLError,
    UnsupportedRegexError,
)
from query_language.logql_compiler import (
    LiteralValue,
    LogSelection,
    MetricPlan,
    ResolvedGrouping,
    VectorStep,
    compile_logql,
    label_field,
    label_name,
)
from query_language.logql_parser import parse_logql
from query_language.parser import parse

__all__ = [
    "MAX_REGEX_LENGTH",
    "FieldCatalogue",
    "FieldInfo",
    "FieldTypeError",
    "InvalidRegexError",
    "InvalidValueError",
    "LiteralValue",
    "LogSelection",
    "Matcher",
    "MetricPlan",
    "Op",
    "QueryError",
    "QuerySyntaxError",
    "RegexError",
    "RegexTooComplexError",
    "RegexTooLongError",
    "ResolvedGrouping",
    "Selector",
    "UnknownFieldError",
    "UnsupportedLogQLError",
    "UnsupportedRegexError",
    "VectorStep",
    "compile_logql",
    "compile_selector",
    "label_field",
    "label_name",
    "parse",
    "parse_logql",
]
