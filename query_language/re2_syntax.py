"""RE2 regex syntax (Go's ``regexp/syntax`` with Perl flags) parsed into small nodes.

What is read, and how:

- literals, ``.``, ``[...]`` / ``[^...]`` classes with ranges, ``[[:alpha:]]``
  POSIX classes and ``\\d \\s \\w \\D \\S \\W`` (ASCII, as in RE2), escapes
  ``\\a \\f \\t \\n \\r \\v``, ``\\x7f``, ``\\x{10ffff}``, octal ``\\0``, ``\\123``,
  escaped punctuation, and ``\\Q...\\E`` literal text;
- groups ``(...)`` and ``(?:...)``, alternation, quantifiers ``* + ? {n} {n,}
  {n,m}`` (counts up to 1000, as in RE2) and their lazy forms ``*? +? ?? {n,m}?``,
  which match the same strings once the match is anchored at both ends, so they
  are read as the greedy ones;
- flags ``i`` (case-insensitive) and ``s`` (``.`` matches ``\\n``), set with
  ``(?i)``, ``(?-s)``, ``(?i:...)``. As in Prometheus, which compiles every
  matcher regex as ``^(?s:...)$``, ``s`` is on from the start: ``.`` matches a
  newline unless ``(?-s)`` says otherwise;
- anchors ``^ $ \\A \\z`` become Anchor nodes; ``lucene_regex`` accepts them
  only where they cannot change the meaning of a fully anchored match.

Rejected as UnsupportedRegexError, naming the construct: look-ahead and
look-behind, back-references, ``\\b \\B``, ``\\C``, ``\\pN``/``\\p{...}``
Unicode classes, named groups, atomic groups, the flags ``m`` and ``U``.
Anything else that RE2 would not compile is an InvalidRegexError.
"""

from __future__ import annotations

import dataclasses
import re

from query_language import char_sets
from query_language.char_sets import Ranges
from query_language.errors import InvalidRegexError, RegexTooComplexError, UnsupportedRegexError

MAX_REPEAT = 1000  # RE2's limit for one {n,m}
MAX_NESTING = 100  # groups inside groups

# As in RE2, a "{" that does not start a well-formed repeat (e.g. "{,2}", "{01}")
# is a literal.
_REPEAT = re.compile(r"\{(0|[1-9][0-9]*)(?:(,)(0|[1-9][0-9]*)?)?\}")
_FLAGS = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])")
_NAMED_GROUP = re.compile(r"\(\?P?<([A-Za-z0-9_]*)>")
_POSIX_CLASS = re.compile(r"\[:(\^?)([a-z]*):\]")

_PERL_CLASSES: dict[str, Ranges] = {
    "d": ((0x30, 0x39),),
    "s": char_sets.of_chars("\t\n\f\r "),
    "w": ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)),
}
_POSIX_CLASSES: dict[str, Ranges] = {
    "alnum": ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)),
    "alpha": ((0x41, 0x5A), (0x61, 0x7A)),
    "ascii": ((0x00, 0x7F),),
    "blank": char_sets.of_chars("\t "),
    "cntrl": ((0x00, 0x1F), (0x7F, 0x7F)),
    "digit": ((0x30, 0x39),),
    "graph": ((0x21, 0x7E),),
    "lower": ((0x61, 0x7A),),
    "print": ((0x20, 0x7E),),
    "punct": ((0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)),
    "space": char_sets.of_chars("\t\n\v\f\r "),
    "upper": ((0x41, 0x5A),),
    "word": ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)),
    "xdigit": ((0x30, 0x39), (0x41, 0x46), (0x61, 0x66)),
}
_CONTROL_ESCAPES = {"a": 0x07, "f": 0x0C, "t": 0x09, "n": 0x0A, "r": 0x0D, "v": 0x0B}
_HEX = frozenset("0123456789abcdefABCDEF")
_OCT = frozenset("01234567")
_QUANTIFIERS = frozenset("*+?")


@dataclasses.dataclass(frozen=True, slots=True)
class Chars:
    """One character from a set: a literal, a class or ``.``.

    ``literal`` is the character as written for a plain literal; ``folded``
    says the set was built under ``(?i)`` (and is already closed under folding).
    """

    ranges: Ranges
    literal: str | None = None
    folded: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Empty:
    """Matches the empty string."""


@dataclasses.dataclass(frozen=True, slots=True)
class Concat:
    items: tuple[Node, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Alt:
    items: tuple[Node, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Repeat:
    sub: Node
    min: int
    max: int | None  # None: unbounded


@dataclasses.dataclass(frozen=True, slots=True)
class Anchor:
    """``^``/``\\A`` (begin) or ``$``/``\\z`` (end), with where it was written."""

    begin: bool
    text: str
    offset: int


Node = Chars | Empty | Concat | Alt | Repeat | Anchor


def parse_re2(pattern: str) -> Node:
    """Parse an RE2 pattern into nodes.

    Raises InvalidRegexError for what RE2 would not compile,
    UnsupportedRegexError for RE2 constructs Lucene cannot express, and
    RegexTooComplexError for nesting deeper than MAX_NESTING groups.
    """
    return _Parser(pattern).parse()


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.n = len(pattern)
        self.i = 0
        self.fold = False
        self.dotnl = True  # Prometheus: ^(?s:...)$
        self.depth = 0

    # -- errors ------------------------------------------------------------

    def invalid(self, message: str, offset: int, text: str) -> InvalidRegexError:
        return InvalidRegexError(
            f"invalid regex: {message} at offset {offset}",
            regex=self.p,
            offset=offset,
            text=text,
        )

    def unsupported(self, construct: str, offset: int, text: str, hint: str = "") -> Exception:
        message = f"unsupported regex: {construct} cannot be translated to Elasticsearch"
        if hint:
            message += f"; {hint}"
        return UnsupportedRegexError(
            f"{message} (at offset {offset})",
            regex=self.p,
            construct=construct,
            offset=offset,
            text=text,
        )

    # -- structure ---------------------------------------------------------

    def parse(self) -> Node:
        node = self.alternation()
        if self.i < self.n:  # only a ")" stops the top level early
            raise self.invalid("unexpected )", self.i, ")")
        return node

    def alternation(self) -> Node:
        branches = [self.concat()]
        while self.i < self.n and self.p[self.i] == "|":
            self.i += 1
            branches.append(self.concat())
        return branches[0] if len(branches) == 1 else Alt(tuple(branches))

    def concat(self) -> Node:
        items: list[Node] = []
        while self.i < self.n:
            c = self.p[self.i]
            if c == "|" or c == ")":
                break
            start = self.i
            if self.p.startswith("\\Q", start):
                # \Q...\E is a run of literals; a quantifier after it takes the last one.
                chars = self.quoted_literals()
                if not chars:
                    if self.i < self.n and self.quantifier_here():
                        raise self.invalid(
                            "missing argument to repetition operator", self.i, self.p[self.i]
                        )
                    continue
                items.extend(chars[:-1])
                items.append(self.quantified(chars[-1], start))
                continue
            atom = self.atom()
            if atom is None:  # a flag group like (?i): it sets flags, matches nothing
                if self.i < self.n and self.quantifier_here():
                    raise self.invalid(
                        "missing argument to repetition operator", self.i, self.p[self.i]
                    )
                continue
            items.append(self.quantified(atom, start))
        if not items:
            return Empty()
        return items[0] if len(items) == 1 else Concat(tuple(items))

    def quantifier_here(self) -> bool:
        c = self.p[self.i]
        return c in _QUANTIFIERS or (c == "{" and _REPEAT.match(self.p, self.i) is not None)

    def quantified(self, atom: Node, start: int) -> Node:
        if self.i >= self.n or not self.quantifier_here():
            return atom
        op_start = self.i
        c = self.p[self.i]
        if c == "*":
            lo, hi = 0, None
            self.i += 1
        elif c == "+":
            lo, hi = 1, None
            self.i += 1
        elif c == "?":
            lo, hi = 0, 1
            self.i += 1
        else:
            m = _REPEAT.match(self.p, self.i)
            assert m is not None
            lo, hi = self.repeat_counts(m)
            self.i = m.end()
        if self.i < self.n and self.p[self.i] == "?":
            self.i += 1  # lazy: the same strings match a fully anchored regex
        if self.i < self.n and self.quantifier_here():
            text = self.p[op_start : self.i + 1]
            raise self.invalid(
                f"invalid nested repetition operator {text!r} (possessive quantifiers "
                "and repeated repetition are not RE2 syntax; use a group)",
                op_start,
                text,
            )
        return Repeat(atom, lo, hi)

    def repeat_counts(self, m: re.Match[str]) -> tuple[int, int | None]:
        lo_text, comma, hi_text = m.group(1), m.group(2), m.group(3)
        lo = int(lo_text)
        hi: int | None = lo if comma is None else (int(hi_text) if hi_text is not None else None)
        if lo > MAX_REPEAT or (hi is not None and (hi > MAX_REPEAT or hi < lo)):
            raise self.invalid(
                f"invalid repeat count {m.group(0)} (at most {MAX_REPEAT}, min <= max)",
                m.start(),
                m.group(0),
            )
        return lo, hi

    # -- atoms -------------------------------------------------------------

    def atom(self) -> Node | None:
        p, i = self.p, self.i
        c = p[i]
        if c == "(":
            return self.group()
        if c == "[":
            return self.char_class()
        if c == ".":
            self.i += 1
            return Chars(char_sets.ALL if self.dotnl else char_sets.complement(((10, 10),)))
        if c == "^" or c == "$":
            self.i += 1
            return Anchor(c == "^", c, i)
        if c == "\\":
            return self.escape()
        if c in _QUANTIFIERS or (c == "{" and _REPEAT.match(p, i) is not None):
            raise self.invalid("missing argument to repetition operator", i, c)
        self.i += 1
        return self.literal(c)

    def literal(self, ch: str) -> Chars:
        cp = ord(ch)
        if self.fold:
            orbit = char_sets.orbit(cp)
            if len(orbit) > 1:
                return Chars(char_sets.normalize((m, m) for m in orbit), ch, True)
        return Chars(((cp, cp),), ch, self.fold)

    def chars(self, ranges: Ranges) -> Chars:
        return Chars(char_sets.fold(ranges), None, True) if self.fold else Chars(ranges)

    def group(self) -> Node | None:
        p, start = self.p, self.i
        rest = p[start : start + 4]
        if rest.startswith("(?"):
            if rest.startswith("(?=") or rest.startswith("(?!"):
                kind = "look-ahead" if rest[2] == "=" else "negative look-ahead"
                raise self.unsupported(
                    f"{kind} {rest[:3]}...)", start, rest[:3], "Lucene has no look-around"
                )
            if rest.startswith("(?<=") or rest.startswith("(?<!"):
                kind = "look-behind" if rest[3] == "=" else "negative look-behind"
                raise self.unsupported(
                    f"{kind} {rest}...)", start, rest, "Lucene has no look-around"
                )
            if rest.startswith("(?P="):
                raise self.unsupported(
                    "back-reference (?P=name)", start, rest, "Lucene has no back-references"
                )
            named = _NAMED_GROUP.match(p, start)
            if named is not None:
                raise self.unsupported(
                    f"named group {named.group(0)}...)",
                    start,
                    named.group(0),
                    "write a plain group (...) instead",
                )
            if rest.startswith("(?>"):
                raise self.unsupported("atomic group (?>...)", start, "(?>")
            flags = _FLAGS.match(p, start)
            if flags is None:
                raise self.invalid(
                    "invalid or unsupported Perl syntax", start, p[start : start + 3]
                )
            return self.flag_group(flags)
        self.i += 1
        return self.subexpression(start)

    def flag_group(self, m: re.Match[str]) -> Node | None:
        on, off, end = m.group(1), m.group(2), m.group(3)
        if off == "":
            raise self.invalid("missing flag after '-'", m.start(), m.group(0))
        fold, dotnl = self.fold, self.dotnl
        for sign, letters in ((True, on), (False, off or "")):
            for letter in letters:
                if letter == "i":
                    fold = sign
                elif letter == "s":
                    dotnl = sign
                elif letter in "mU":
                    what = "m (multi-line)" if letter == "m" else "U (ungreedy)"
                    raise self.unsupported(
                        f"flag {what}",
                        m.start(),
                        m.group(0),
                        "only the flags i and s are supported",
                    )
                else:
                    raise self.invalid(f"unknown flag {letter!r}", m.start(), m.group(0))
        self.i = m.end()
        if end == ")":  # (?i): for the rest of the enclosing group
            self.fold, self.dotnl = fold, dotnl
            return None
        saved = self.fold, self.dotnl
        self.fold, self.dotnl = fold, dotnl
        node = self.subexpression(m.start())
        self.fold, self.dotnl = saved
        return node

    def subexpression(self, start: int) -> Node:
        """The inside of a group whose opening has been read, through its ``)``."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise RegexTooComplexError(
                f"regex nests groups more than {MAX_NESTING} deep",
                regex=self.p,
                offset=start,
            )
        saved = self.fold, self.dotnl
        node = self.alternation()
        self.fold, self.dotnl = saved  # (?i) inside a group ends with it
        if self.i >= self.n:
            raise self.invalid("missing closing )", start, self.p[start:][:20])
        self.i += 1  # ")"
        self.depth -= 1
        return node

    # -- escapes -----------------------------------------------------------

    def escape(self) -> Node:
        p, start = self.p, self.i
        if start + 1 >= self.n:
            raise self.invalid("trailing backslash at end of expression", start, "\\")
        c = p[start + 1]
        text = p[start : start + 2]
        if c == "A" or c == "z":
            self.i += 2
            return Anchor(c == "A", text, start)
        if c == "b" or c == "B":
            what = "word boundary \\b" if c == "b" else "non-word boundary \\B"
            raise self.unsupported(what, start, text, "Lucene has no word boundaries")
        if c == "C":
            raise self.unsupported("any-byte escape \\C", start, text)
        if c == "p" or c == "P":
            m = re.compile(r"\\[pP](\{[^}]*\}|.?)").match(p, start)
            shown = m.group(0) if m else text
            raise self.unsupported(
                f"Unicode character class {shown}", start, shown, "use an explicit [...] class"
            )
        if c in _PERL_CLASSES or c.lower() in _PERL_CLASSES:
            self.i += 2
            return self.chars(self.perl_class(c))
        cp = self.escaped_code_point(start)
        return self.literal(chr(cp))

    def quoted_literals(self) -> list[Node]:
        """The characters of ``\\Q...\\E`` (the ``\\E`` is optional at the end)."""
        start = self.i
        end = self.p.find("\\E", start + 2)
        stop = self.n if end < 0 else end
        self.i = self.n if end < 0 else end + 2
        return [self.literal(ch) for ch in self.p[start + 2 : stop]]

    def perl_class(self, c: str) -> Ranges:
        ranges = _PERL_CLASSES[c.lower()]
        if c.isupper():
            # Fold before negating, as RE2 does: (?i)\W excludes KELVIN SIGN.
            return char_sets.complement(char_sets.fold(ranges) if self.fold else ranges)
        return ranges

    def escaped_code_point(self, start: int) -> int:
        """The code point of a single-character escape at ``start``; moves past it."""
        p = self.p
        c = p[start + 1]
        text = p[start : start + 2]
        if c in _CONTROL_ESCAPES:
            self.i = start + 2
            return _CONTROL_ESCAPES[c]
        if (c in "1234567" and start + 2 < self.n and p[start + 2] in _OCT) or c == "0":
            j = start + 2
            while j < self.n and j < start + 4 and p[j] in _OCT:
                j += 1
            self.i = j
            return int(p[start + 1 : j], 8)
        if c.isdigit():
            raise self.unsupported(
                f"back-reference \\{c}", start, text, "Lucene has no back-references"
            )
        if c == "k" and start + 2 < self.n and p[start + 2] in "<{'":
            raise self.unsupported(
                "back-reference \\k<name>",
                start,
                p[start : start + 3],
                "Lucene has no back-references",
            )
        if c == "x":
            return self.hex_escape(start)
        if ord(c) < 0x80 and not c.isalnum():
            self.i = start + 2
            return ord(c)
        raise self.invalid(f"invalid escape sequence {text}", start, text)

    def hex_escape(self, start: int) -> int:
        p = self.p
        if start + 2 < self.n and p[start + 2] == "{":
            end = p.find("}", start + 3)
            digits = p[start + 3 : end] if end >= 0 else ""
            if end < 0 or not digits or any(d not in _HEX for d in digits):
                raise self.invalid("invalid escape sequence", start, p[start : start + 12])
            self.i = end + 1
        else:
            digits = p[start + 2 : start + 4]
            if len(digits) < 2 or any(d not in _HEX for d in digits):
                raise self.invalid("invalid escape sequence", start, p[start : start + 4])
            self.i = start + 4
        value = int(digits, 16)
        if value > char_sets.MAX_CODE_POINT or 0xD800 <= value <= 0xDFFF:
            raise self.invalid("invalid code point in escape", start, p[start : self.i])
        return value

    # -- character classes -------------------------------------------------

    def char_class(self) -> Chars:
        p, start = self.p, self.i
        i = start + 1
        negate = i < self.n and p[i] == "^"
        if negate:
            i += 1
        ranges: list[tuple[int, int]] = []
        first = True
        while True:
            if i >= self.n:
                raise self.invalid("missing closing ]", start, p[start:][:20])
            c = p[i]
            if c == "]" and not first:
                i += 1
                break
            first = False
            if c == "[":
                m = _POSIX_CLASS.match(p, i)
                if m is not None:
                    name = m.group(2)
                    if name not in _POSIX_CLASSES:
                        raise self.invalid(
                            f"invalid character class range {m.group(0)}", i, m.group(0)
                        )
                    cls = _POSIX_CLASSES[name]
                    if self.fold:
                        cls = char_sets.fold(cls)
                    ranges.extend(char_sets.complement(cls) if m.group(1) else cls)
                    i = m.end()
                    continue
            if c == "\\" and i + 1 < self.n:
                e = p[i + 1]
                if e in "pP":
                    raise self.unsupported(
                        f"Unicode character class \\{e}",
                        i,
                        p[i : i + 3],
                        "use explicit ranges",
                    )
                if e in _PERL_CLASSES or e.lower() in _PERL_CLASSES:
                    ranges.extend(self.perl_class(e))
                    i += 2
                    continue
            lo, i = self.class_char(i)
            if i + 1 < self.n and p[i] == "-" and p[i + 1] != "]":
                hi_start = i + 1
                hi, i = self.class_char(hi_start)
                if hi < lo:
                    text = p[hi_start - 2 : i] if hi_start >= 2 else p[:i]
                    raise self.invalid(f"invalid character class range {text}", hi_start, text)
            else:
                hi = lo
            ranges.append((lo, hi))
        self.i = i
        folded = char_sets.normalize(ranges)
        if self.fold:
            folded = char_sets.fold(folded)
        if negate:
            folded = char_sets.complement(folded)
        return Chars(folded, None, self.fold)

    def class_char(self, i: int) -> tuple[int, int]:
        p = self.p
        if p[i] != "\\":
            return ord(p[i]), i + 1
        if i + 1 >= self.n:
            raise self.invalid("missing closing ]", i, "\\")
        e = p[i + 1]
        if e in "dswDSW":
            raise self.invalid("invalid character class range", i, p[i : i + 2])
        if e == "b" or e == "B":
            raise self.invalid(f"invalid escape sequence \\{e} in a class", i, p[i : i + 2])
        saved = self.i
        cp = self.escaped_code_point(i)
        end = self.i
        self.i = saved
        return cp, end
