"""The query language's errors: one family, no HTTP knowledge.

Exception tree::

    QueryError                  anything wrong with a query: message, line, column, text
    ├── QuerySyntaxError        the text is not a selector (adds ``expected``)
    │   └── UnsupportedLogQLError   LogQL that the Loki-compatible subset lacks (adds ``construct``)
    ├── UnknownFieldError       a field the catalogue does not know (adds ``suggestions``)
    ├── FieldTypeError          an operator the field's type does not allow (regex on ip, date)
    ├── InvalidValueError       a value the field's type cannot hold (not an ip or CIDR)
    └── RegexError              base of the regex errors (adds ``regex``)
        ├── InvalidRegexError       not valid RE2 syntax (unbalanced paren, bad escape, ...)
        ├── UnsupportedRegexError   valid RE2 that Lucene cannot express (adds ``construct``)
        ├── RegexTooLongError       longer than the limit, before or after translation (``limit``)
        └── RegexTooComplexError    nesting or repetition beyond the bounds

``line`` and ``column`` are 1-based and count characters (code points), not
bytes. ``text`` is the offending piece of the query. Lark's own exceptions are
translated into these in ``parser.py`` only.
"""

from __future__ import annotations

from typing import Any


class QueryError(Exception):
    """A query that cannot be run; ``as_dict()`` is its JSON-able description."""

    kind = "query_error"

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        text: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.text = text

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return f"{self.message} (line {self.line}, column {self.column})"

    def details(self) -> dict[str, Any]:
        """Fields a subclass adds to ``as_dict()``."""
        return {}

    def as_dict(self) -> dict[str, Any]:
        """The error as a JSON body fragment: kind, message, position, text and details."""
        body: dict[str, Any] = {"kind": self.kind, "message": str(self)}
        if self.line is not None:
            body["line"] = self.line
            body["column"] = self.column
        if self.text is not None:
            body["text"] = self.text
        body.update(self.details())
        return body


class QuerySyntaxError(QueryError):
    """The text is not a selector; ``expected`` names what could have come instead."""

    kind = "syntax_error"

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        text: str | None = None,
        expected: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, line=line, column=column, text=text)
        self.expected = expected

    def details(self) -> dict[str, Any]:
        return {"expected": list(self.expected)} if self.expected else {}


class UnknownFieldError(QueryError):
    """A field name the catalogue does not know; ``suggestions`` are the closest known names."""

    kind = "unknown_field"

    def __init__(
        self,
        message: str,
        *,
        field: str,
        suggestions: tuple[str, ...] = (),
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message, line=line, column=column, text=field)
        self.field = field
        self.suggestions = suggestions

    def details(self) -> dict[str, Any]:
        return {"field": self.field, "suggestions": list(self.suggestions)}


class FieldTypeError(QueryError):
    """An operator the field's type does not allow (regex on a non-keyword field, a date)."""

    kind = "field_type_error"

    def __init__(
        self,
        message: str,
        *,
        field: str,
        field_type: str,
        line: int | None = None,
        column: int | None = None,
        text: str | None = None,
    ) -> None:
        super().__init__(message, line=line, column=column, text=text)
        self.field = field
        self.field_type = field_type

    def details(self) -> dict[str, Any]:
        return {"field": self.field, "field_type": self.field_type}


class InvalidValueError(QueryError):
    """A value the field cannot hold, e.g. something that is neither an ip nor a CIDR."""

    kind = "invalid_value"

    def __init__(
        self,
        message: str,
        *,
        field: str,
        line: int | None = None,
        column: int | None = None,
        text: str | None = None,
    ) -> None:
        super().__init__(message, line=line, column=column, text=text)
        self.field = field

    def details(self) -> dict[str, Any]:
        return {"field": self.field}


class RegexError(QueryError):
    """Base of the regex errors; ``regex`` is the whole pattern, ``offset`` where in it."""

    kind = "regex_error"

    def __init__(
        self,
        message: str,
        *,
        regex: str,
        offset: int | None = None,
        line: int | None = None,
        column: int | None = None,
        text: str | None = None,
    ) -> None:
        super().__init__(message, line=line, column=column, text=text)
        self.regex = regex
        self.offset = offset

    def details(self) -> dict[str, Any]:
        body: dict[str, Any] = {"regex": self.regex}
        if self.offset is not None:
            body["offset"] = self.offset
        return body

    def at(self, line: int | None, column: int | None) -> RegexError:
        """This error placed at the position of the regex's string in the query."""
        self.line = line
        self.column = column
        return self


class InvalidRegexError(RegexError):
    """Not valid RE2 syntax."""

    kind = "invalid_regex"


class UnsupportedRegexError(RegexError):
    """Valid RE2 that Lucene's regexp cannot express; ``construct`` names it."""

    kind = "unsupported_regex"

    def __init__(
        self,
        message: str,
        *,
        regex: str,
        construct: str,
        offset: int | None = None,
        line: int | None = None,
        column: int | None = None,
        text: str | None = None,
    ) -> None:
        super().__init__(message, regex=regex, offset=offset, line=line, column=column, text=text)
        self.construct = construct

    def details(self) -> dict[str, Any]:
        return {**super().details(), "construct": self.construct}


class RegexTooLongError(RegexError):
    """Longer than ``limit`` characters, as written or once translated to Lucene syntax."""

    kind = "regex_too_long"

    def __init__(
        self,
        message: str,
        *,
        regex: str,
        limit: int,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message, regex=regex, line=line, column=column)
        self.limit = limit

    def details(self) -> dict[str, Any]:
        return {**super().details(), "limit": self.limit}


class RegexTooComplexError(RegexError):
    """Nesting or repetition beyond the bounds this package accepts."""

    kind = "regex_too_complex"


class UnsupportedLogQLError(QuerySyntaxError):
    """Valid LogQL outside the supported subset; ``construct`` names what is missing."""

    kind = "unsupported_logql"

    def __init__(
        self,
        message: str,
        *,
        construct: str,
        line: int | None = None,
        column: int | None = None,
        text: str | None = None,
    ) -> None:
        super().__init__(message, line=line, column=column, text=text)
        self.construct = construct

    def details(self) -> dict[str, Any]:
        return {"construct": self.construct}
