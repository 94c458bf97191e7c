"""AST to Elasticsearch query DSL: ``compile_selector(selector, catalogue) -> dict``.

A pure function. Every matcher becomes clauses of one ``bool`` query, in
``filter`` (no scoring) or ``must_not``; only ``term``, ``terms``, ``regexp``,
``exists``, ``bool`` (and ``match_phrase`` for text-only fields) are used, so
user text never reaches ``query_string``. The empty selector is ``match_all``.

Prometheus semantics: a missing field behaves as the empty string.

======================  ==============================================================
matcher                 query
======================  ==============================================================
``f=""``                f missing, or ``term f ""``
``f!=""``               ``exists f`` and not ``term f ""``
``f="x"``               ``term f "x"``
``f!="x"``              not ``term f "x"`` (so a missing f matches)
``f=~"re"``             ``regexp f``; or f missing too when re matches ""
``f!~"re"``             not ``regexp f``; and ``exists f`` when re matches ""
======================  ==============================================================

A regex that is a small set of strings (``feature|group``) becomes ``terms``;
``.*`` and ``.+`` become the matching existence tests. Text-only fields take
``=``/``!=`` as a phrase (``match_phrase``) and ``=""``/``!=""`` as existence;
ip fields take an address or a CIDR block (and ``""`` is a missing field); regexes
need a keyword field.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from typing import Any

from query_language.ast import Matcher, Op, Selector
from query_language.catalogue import DATE, IP, OBJECT, FieldCatalogue, FieldInfo
from query_language.errors import (
    FieldTypeError,
    InvalidValueError,
    RegexError,
    RegexTooLongError,
    UnknownFieldError,
)
from query_language.lucene_regex import LuceneRegex, translate

# Elasticsearch's default index.max_regex_length; it applies to the translated
# pattern, so the limit is checked on both the written and the translated form.
MAX_REGEX_LENGTH = 1000
REGEXP_FLAGS = "NONE"  # only Lucene's standard operators
_SURROGATE = re.compile("[\ud800-\udfff]")

Query = dict[str, Any]


def compile_selector(
    selector: Selector,
    catalogue: FieldCatalogue,
    *,
    max_regex_length: int = MAX_REGEX_LENGTH,
) -> Query:
    """Compile a selector to an Elasticsearch query (a fresh dict on every call).

    Raises UnknownFieldError (with the closest known names), FieldTypeError,
    InvalidValueError and the RegexError family (InvalidRegexError,
    UnsupportedRegexError, RegexTooLongError, RegexTooComplexError), each placed
    at the matcher's field or value in the query text.
    """
    filters: list[Query] = []
    must_not: list[Query] = []
    for matcher in selector.matchers:
        if _SURROGATE.search(matcher.field) or _SURROGATE.search(matcher.value):
            # parse() never makes one; a hand-built AST could, and JSON cannot carry it.
            raise InvalidValueError(
                "matcher is not valid Unicode (lone surrogate code point)",
                field=ascii(matcher.field),
                line=_line(matcher.value_at),
                column=_column(matcher.value_at),
            )
        info = catalogue.lookup(matcher.field)
        if info is None:
            raise _unknown_field(matcher, catalogue)
        _compile_matcher(matcher, info, max_regex_length, filters, must_not)
    clauses: Query = {}
    if filters:
        clauses["filter"] = filters
    if must_not:
        clauses["must_not"] = must_not
    return {"bool": clauses} if clauses else {"match_all": {}}


def _compile_matcher(
    m: Matcher, info: FieldInfo, max_regex_length: int, filters: list[Query], must_not: list[Query]
) -> None:
    if info.type == DATE:
        raise _type_error(
            m, info, f"{m.field} is a date: filter it with start_time/end_time, not a matcher"
        )
    if info.type == OBJECT:
        raise _type_error(m, info, f"{m.field} is stored but not indexed, so it cannot be queried")
    exact = info.exact_field
    if m.op.is_regex:
        if info.regex_field is None or exact is None:
            raise _type_error(
                m,
                info,
                f"regex matchers need a keyword field; {m.field} is of type {info.type}"
                + (" (use = for a phrase match)" if exact is None else ""),
            )
        _compile_regex(m, info.regex_field, exact, max_regex_length, filters, must_not)
        return
    if exact is None:
        _compile_phrase(m, info.name, filters, must_not)
        return
    if info.type == IP:
        if m.value:
            _check_ip(m)
        else:  # an ip field cannot hold "" (a term "" is a 400): only presence counts
            (filters if m.op is Op.NE else must_not).append(_exists(exact))
            return
    if m.value == "":
        if m.op is Op.EQ:
            filters.append(_empty_or_missing(exact))
        else:
            filters.append(_exists(exact))
            must_not.append(_term(exact, ""))
    elif m.op is Op.EQ:
        filters.append(_term(exact, m.value))
    else:
        must_not.append(_term(exact, m.value))


def _compile_regex(
    m: Matcher,
    regex_field: str,
    exact: str,
    max_regex_length: int,
    filters: list[Query],
    must_not: list[Query],
) -> None:
    regex = _translation(m, max_regex_length)
    positive = m.op is Op.RE
    if regex.matches_everything:
        if not positive:
            must_not.append({"match_all": {}})
        return
    if regex.matches_nonempty:
        if positive:
            filters.append(_exists(exact))
            must_not.append(_term(exact, ""))
        else:
            filters.append(_empty_or_missing(exact))
        return
    if regex.literals is not None:
        values = list(regex.literals)
        query = _term(exact, values[0]) if len(values) == 1 else {"terms": {exact: values}}
    else:
        if len(regex.value) > max_regex_length:
            raise RegexTooLongError(
                f"regex is {len(regex.value)} characters long once translated to Lucene "
                f"syntax; the limit is {max_regex_length}",
                regex=m.value,
                limit=max_regex_length,
                line=_line(m.value_at),
                column=_column(m.value_at),
            )
        body: Query = {"value": regex.value, "flags": REGEXP_FLAGS}
        if regex.case_insensitive:
            body["case_insensitive"] = True
        query = {"regexp": {regex_field: body}}
    if positive:
        filters.append(_either(query, _missing(exact)) if regex.matches_empty else query)
    else:
        must_not.append(query)
        if regex.matches_empty:
            filters.append(_exists(exact))


def _translation(m: Matcher, max_regex_length: int) -> LuceneRegex:
    if len(m.value) > max_regex_length:
        raise RegexTooLongError(
            f"regex is {len(m.value)} characters long; the limit is {max_regex_length}",
            regex=m.value,
            limit=max_regex_length,
            line=_line(m.value_at),
            column=_column(m.value_at),
        )
    try:
        return translate(m.value)
    except RegexError as exc:
        raise exc.at(_line(m.value_at), _column(m.value_at)) from None


def _compile_phrase(m: Matcher, field: str, filters: list[Query], must_not: list[Query]) -> None:
    """A text-only field: equality is a phrase match, "" is a missing field."""
    if m.value == "":
        (filters if m.op is Op.NE else must_not).append(_exists(field))
    elif m.op is Op.EQ:
        filters.append({"match_phrase": {field: m.value}})
    else:
        must_not.append({"match_phrase": {field: m.value}})


def _check_ip(m: Matcher) -> None:
    """An address or a CIDR block, in the forms Elasticsearch's ip field accepts."""
    value = m.value
    address, slash, prefix = value.partition("/")
    try:
        # Elasticsearch takes neither a scoped address (fe80::1%eth0) nor a netmask.
        if "%" in value or (slash and not prefix.isdigit()):
            raise ValueError(value)
        written = ipaddress.ip_address(address)
        if slash:
            ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise _invalid_value(m, f"{m.field} holds ip addresses: {value!r} is neither an "
                                "IPv4/IPv6 address nor a CIDR block such as 10.0.0.0/8") from None
    if slash and isinstance(written, ipaddress.IPv6Address) and written.ipv4_mapped is not None:
        raise _invalid_value(m, f"{m.field}: a CIDR block on an IPv4-mapped IPv6 address "
                                f"({value!r}) is ambiguous and Elasticsearch refuses it; "
                                "write the IPv4 block instead")


def _invalid_value(m: Matcher, message: str) -> InvalidValueError:
    """An InvalidValueError placed at the matcher's value."""
    return InvalidValueError(message, field=m.field, line=_line(m.value_at),
                             column=_column(m.value_at), text=m.value)


def _term(field: str, value: str) -> Query:
    return {"term": {field: value}}


def _exists(field: str) -> Query:
    return {"exists": {"field": field}}


def _missing(field: str) -> Query:
    return {"bool": {"must_not": [_exists(field)]}}


def _either(*queries: Query) -> Query:
    return {"bool": {"should": list(queries), "minimum_should_match": 1}}


def _empty_or_missing(field: str) -> Query:
    return _either(_term(field, ""), _missing(field))


def _line(at: tuple[int, int] | None) -> int | None:
    return at[0] if at else None


def _column(at: tuple[int, int] | None) -> int | None:
    return at[1] if at else None


def _type_error(m: Matcher, info: FieldInfo, message: str) -> FieldTypeError:
    return FieldTypeError(
        message,
        field=m.field,
        field_type=info.type,
        line=_line(m.field_at),
        column=_column(m.field_at),
        text=m.field,
    )


def _unknown_field(m: Matcher, catalogue: FieldCatalogue) -> UnknownFieldError:
    suggestions = tuple(difflib.get_close_matches(m.field, list(catalogue.names()), n=3))
    message = f"unknown field {m.field!r}"
    if suggestions:
        names = [repr(s) for s in suggestions]
        choice = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        message += f"; did you mean {choice}?"
    return UnknownFieldError(
        message,
        field=m.field,
        suggestions=suggestions,
        line=_line(m.field_at),
        column=_column(m.field_at),
    )
