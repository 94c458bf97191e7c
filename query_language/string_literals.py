"""String literals as Prometheus reads and writes them (Go's rules).

``"..."`` and ``'...'`` take the escapes ``\\a \\b \\f \\n \\r \\t \\v \\\\``, the
string's own quote (``\\"`` in double quotes, ``\\'`` in single quotes; the other
quote needs no escape and escaping it is an error, as in Go), ``\\xNN`` and
octal ``\\NNN`` (one byte each), ``\\uNNNN`` and ``\\UNNNNNNNN`` (one code point,
surrogates excluded). As in Go, the bytes of a string must form valid UTF-8:
``"\\xc3\\xa9"`` is ``é``, a lone ``"\\xff"`` is an error. A quoted string cannot
span lines; a backtick raw string can and takes no escapes at all.
"""

from __future__ import annotations

import re

from query_language.errors import QuerySyntaxError

_SIMPLE = {
    "a": b"\a",
    "b": b"\b",
    "f": b"\f",
    "n": b"\n",
    "r": b"\r",
    "t": b"\t",
    "v": b"\v",
    "\\": b"\\",
}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_OCT_DIGITS = frozenset("01234567")
_ESCAPE_WIDTH = {"x": 2, "u": 4, "U": 8}

_QUOTE_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}
_NEEDS_ESCAPE = re.compile(r'["\\]')


def _describe(ch: str) -> str:
    return f"U+{ord(ch):04X} {ch!r}"


def unquote(token: str, line: int, column: int) -> str:
    """The value of a string literal token (quotes included) that starts at line/column.

    Raises QuerySyntaxError, placed at the offending escape, for an unknown or
    malformed escape, an invalid code point, or bytes that are not valid UTF-8.
    """
    quote = token[0]
    body = token[1:-1]
    if quote == "`" or "\\" not in body:
        # The lexer already refused newlines and unescaped quotes in quoted strings.
        return body
    out = bytearray()
    i = 0
    n = len(body)
    while i < n:
        j = body.find("\\", i)
        if j < 0:
            out += body[i:].encode()
            break
        out += body[i:j].encode()
        # The lexer guarantees a character after every backslash.
        c = body[j + 1]
        at = column + 1 + j  # the backslash
        if c in _SIMPLE:
            out += _SIMPLE[c]
            i = j + 2
        elif c == quote:
            out += c.encode()
            i = j + 2
        elif c in _OCT_DIGITS:
            # Past the end of the body comes the closing quote: an illegal digit too.
            digits = (body[j + 1 : j + 4] + quote)[:3]
            for d in digits[1:]:
                if d not in _OCT_DIGITS:
                    raise QuerySyntaxError(
                        f"illegal character {_describe(d)} in escape sequence",
                        text=body[j : j + 4],
                        line=line,
                        column=at,
                    )
            value = int(digits, 8)
            if value > 255:
                raise QuerySyntaxError(
                    "octal escape value > 255", text=body[j : j + 4], line=line, column=at
                )
            out.append(value)
            i = j + 4
        elif c in _ESCAPE_WIDTH:
            width = _ESCAPE_WIDTH[c]
            digits = (body[j + 2 : j + 2 + width] + quote)[:width]
            for d in digits:
                if d not in _HEX_DIGITS:
                    raise QuerySyntaxError(
                        f"illegal character {_describe(d)} in escape sequence",
                        text=body[j : j + 2 + width],
                        line=line,
                        column=at,
                    )
            value = int(digits, 16)
            if c == "x":
                out.append(value)
            elif value > 0x10FFFF or 0xD800 <= value < 0xE000:
                raise QuerySyntaxError(
                    "escape sequence is an invalid Unicode code point",
                    text=body[j : j + 2 + width],
                    line=line,
                    column=at,
                )
            else:
                out += chr(value).encode()
            i = j + 2 + width
        else:
            raise QuerySyntaxError(
                f"unknown escape sequence {_describe(c)}",
                text=body[j : j + 2],
                line=line,
                column=at,
            )
    try:
        return out.decode()
    except UnicodeDecodeError as exc:
        raise QuerySyntaxError(
            "string is not valid UTF-8 (check its \\x and octal escapes)",
            line=line,
            column=column,
            text=token,
        ) from exc


def quote(value: str) -> str:
    """The canonical double-quoted literal of ``value``; ``unquote`` reads it back."""
    if value.isprintable() and not _NEEDS_ESCAPE.search(value):
        return f'"{value}"'
    parts = ['"']
    for ch in value:
        if ch in _QUOTE_ESCAPES:
            parts.append(_QUOTE_ESCAPES[ch])
        elif ch.isprintable():
            parts.append(ch)
        else:
            cp = ord(ch)
            # \x is a byte: only below 0x80 is it the same as the code point.
            if cp < 0x80:
                parts.append(f"\\x{cp:02x}")
            elif cp <= 0xFFFF:
                parts.append(f"\\u{cp:04x}")
            else:
                parts.append(f"\\U{cp:08x}")
    parts.append('"')
    return "".join(parts)
