"""The selector query language: text -> AST -> Elasticsearch query DSL (DESIGN §5).

    >>> selector = parse('{action="login", actor.id!="svc-backup"}')
    >>> compile_selector(selector, catalogue)        # doctest: +SKIP
    {'bool': {'filter': [{'term': {'action': 'login'}}],
              'must_not': [{'term': {'actor.id': 'svc-backup'}}]}}

``parse`` checks the syntax (and string escapes); ``compile_selector`` checks
fields, types, values and regexes against a ``FieldCatalogue``. Every error is
a ``QueryError`` with a line, a column and ``as_dict()`` for a JSON body. This
package imports neither Flask, nor the Elasticsearch client, nor ``app``.
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
    UnsupportedRegexError,
)
from query_language.parser import parse

__all__ = [
    "MAX_REGEX_LENGTH",
    "FieldCatalogue",
    "FieldInfo",
    "FieldTypeError",
    "InvalidRegexError",
    "InvalidValueError",
    "Matcher",
    "Op",
    "QueryError",
    "QuerySyntaxError",
    "RegexError",
    "RegexTooComplexError",
    "RegexTooLongError",
    "Selector",
    "UnknownFieldError",
    "UnsupportedRegexError",
    "compile_selector",
    "parse",
]
