"""RE2 regexes translated to Lucene regexp syntax, with the facts the compiler needs.

A Prometheus matcher regex is fully anchored and so is a Lucene regexp, so the
translation keeps the matched set of strings exactly:

- ``^``/``\\A`` at the start and ``$``/``\\z`` at the end of the pattern (or of
  a top-level alternative) are accepted and dropped, since they cannot fail
  there; anywhere else they are rejected, naming the anchor.
- Every ASCII punctuation character is escaped, so none of Lucene's operators
  (``" @ & ~ < > #`` and the standard ones) can appear by accident, and the
  query also asks for ``"flags": "NONE"``.
- Character classes (``\\d``, ``[[:alpha:]]``, ``(?i)`` folding, negation) are
  written out as explicit ``[...]`` or ``[^...]`` sets; ``.`` is ``.`` when it
  matches ``\\n`` (the Prometheus default) and ``[^\\n]`` after ``(?-s)``.
- When the whole pattern is case-insensitive, the query asks for
  ``"case_insensitive": true`` (Lucene folds ASCII letters only) and every
  letter with a non-ASCII case partner (``k`` and KELVIN SIGN, ``é`` and ``É``)
  is written as its explicit set. A partly case-insensitive pattern, such as
  ``a(?i:b)``, gets explicit sets like ``[bB]`` for its folded letters only.
  Lucene does not fold inside ranges (``[a-c]`` stays lower case), which the
  explicit sets make irrelevant.
- The empty string is never written as ``()``: in case-insensitive mode Lucene
  (9.x, Elasticsearch 8) compiles ``()`` to "matches nothing". ``a|`` becomes
  ``a?``, and a pattern that matches only "" is compiled to a term query.
- A pattern that is a few literal strings (``feature|group``) is reported as
  such, and the compiler sends a ``terms`` query instead of a regexp.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
import string

from query_language import char_sets
from query_language.errors import RegexTooComplexError, UnsupportedRegexError
from query_language.re2_syntax import Alt, Anchor, Chars, Concat, Empty, Node, Repeat, parse_re2

MAX_EXPANDED_SIZE = 10_000  # characters of the pattern once repetitions are expanded
MAX_LITERALS = 64  # a regex that is a set of up to this many strings becomes a terms query
_PUNCTUATION = frozenset(string.punctuation)
_PLAIN = re.compile(r"[^\\.+*?()\[\]{}^$]*")  # no RE2 metacharacter but "|"
_ANCHORS = re.compile(r"[\^$]|\\[Az]")


@dataclasses.dataclass(frozen=True, slots=True)
class LuceneRegex:
    """A translated regex: the Lucene pattern and what the compiler needs to know."""

    value: str
    case_insensitive: bool
    matches_empty: bool
    # The regex matches exactly these strings (in order of appearance), if few.
    literals: tuple[str, ...] | None
    matches_everything: bool  # .*
    matches_nonempty: bool  # .+ : every string but ""


@functools.lru_cache(maxsize=1024)
def translate(pattern: str) -> LuceneRegex:
    """Translate an RE2 pattern to Lucene syntax.

    Raises InvalidRegexError, UnsupportedRegexError (naming the construct) or
    RegexTooComplexError; offsets in them are into ``pattern``.
    """
    if _PLAIN.fullmatch(pattern):  # the common "a|b|c": no need for the parser
        branches = tuple(dict.fromkeys(pattern.split("|")))
        if len(branches) <= MAX_LITERALS:
            return _plain_alternatives(branches)
    node = parse_re2(pattern)
    if _ANCHORS.search(pattern):
        node = _strip_anchors(node, True, True, pattern)
    return _finish(_simplify(node), pattern)


@functools.lru_cache(maxsize=1024)
def translate_search(pattern: str) -> LuceneRegex:
    """Translate an RE2 pattern that may match anywhere in a value (a LogQL line filter).

    Each top-level alternative is wrapped in ``.*`` on the sides where it is not
    anchored: ``a|^b`` matches values containing ``a`` or starting with ``b``.
    Raises what ``translate`` raises; offsets are into ``pattern``.
    """
    node = parse_re2(pattern)
    branches = node.items if isinstance(node, Alt) else (node,)
    anything = Repeat(Chars(char_sets.ALL), 0, None)
    wrapped = []
    everything = False  # an unanchored branch that matches "" is found in every value
    for branch in branches:
        items = list(branch.items) if isinstance(branch, Concat) else [branch]
        anchored = False
        if items and isinstance(items[0], Anchor) and items[0].begin:
            items.pop(0)
            anchored = True
        else:
            items.insert(0, anything)
        if items and isinstance(items[-1], Anchor) and not items[-1].begin:
            items.pop()
            anchored = True
        else:
            items.append(anything)
        wrapped.append(Concat(tuple(items)))
        everything = everything or (not anchored and _nullable(branch))
    node = _simplify(_strip_anchors(Alt(tuple(wrapped)), True, True, pattern))
    found = _finish(node, pattern)
    return dataclasses.replace(found, matches_everything=True) if everything else found


def _finish(node: Node, pattern: str) -> LuceneRegex:
    if _expanded_size(node) > MAX_EXPANDED_SIZE:
        raise RegexTooComplexError(
            f"regex is too complex: with its repetitions expanded it is longer than "
            f"{MAX_EXPANDED_SIZE} characters",
            regex=pattern,
        )
    case_insensitive = _wholly_case_insensitive(node)
    return LuceneRegex(
        value=_emit(node, case_insensitive),
        case_insensitive=case_insensitive,
        matches_empty=_nullable(node),
        literals=_literals(node),
        matches_everything=_repeats_any(node, 0),
        matches_nonempty=_repeats_any(node, 1),
    )


def _plain_alternatives(branches: tuple[str, ...]) -> LuceneRegex:
    """A pattern of literal alternatives: the same facts the general path finds."""
    others = [b for b in branches if b]
    value = "|".join("".join(map(_escape, map(ord, b))) for b in others)
    matches_empty = len(others) < len(branches)
    if matches_empty:
        value = f"({value})?" if others else "()"
    return LuceneRegex(
        value=value,
        case_insensitive=False,
        matches_empty=matches_empty,
        literals=("", *others) if matches_empty else branches,
        matches_everything=False,
        matches_nonempty=False,
    )


def _strip_anchors(node: Node, at_start: bool, at_end: bool, pattern: str) -> Node:
    """Drop the anchors that cannot fail (at the very start or end); reject the others."""
    if isinstance(node, Anchor):
        if (node.begin and at_start) or (not node.begin and at_end):
            return Empty()
        where = "start" if node.begin else "end"
        raise UnsupportedRegexError(
            f"unsupported regex: anchor {node.text} inside the pattern (at offset "
            f"{node.offset}); the whole value is always matched, so {node.text} is only "
            f"accepted at the {where} of the pattern",
            regex=pattern,
            construct=f"anchor {node.text}",
            offset=node.offset,
            text=node.text,
        )
    if isinstance(node, Concat):
        items = node.items
        # Position k is at the start when everything before it is a begin anchor,
        # and at the end when everything after it is an end anchor.
        starts = list(
            itertools.accumulate(
                (isinstance(x, Empty) or (isinstance(x, Anchor) and x.begin) for x in items),
                lambda a, b: a and b,
                initial=at_start,
            )
        )
        ends = list(
            itertools.accumulate(
                (
                    isinstance(x, Empty) or (isinstance(x, Anchor) and not x.begin)
                    for x in reversed(items)
                ),
                lambda a, b: a and b,
                initial=at_end,
            )
        )[::-1]
        return Concat(
            tuple(
                _strip_anchors(item, starts[k], ends[k + 1], pattern)
                for k, item in enumerate(items)
            )
        )
    if isinstance(node, Alt):
        return Alt(tuple(_strip_anchors(x, at_start, at_end, pattern) for x in node.items))
    if isinstance(node, Repeat):
        return Repeat(_strip_anchors(node.sub, False, False, pattern), node.min, node.max)
    return node


def _simplify(node: Node) -> Node:
    if isinstance(node, Concat):
        items: list[Node] = []
        for item in map(_simplify, node.items):
            if isinstance(item, Concat):
                items.extend(item.items)
            elif not isinstance(item, Empty):
                items.append(item)
        if not items:
            return Empty()
        return items[0] if len(items) == 1 else Concat(tuple(items))
    if isinstance(node, Alt):
        branches: list[Node] = []
        for branch in map(_simplify, node.items):
            branches.extend(branch.items if isinstance(branch, Alt) else (branch,))
        # An empty alternative becomes "?": Lucene's case-insensitive mode turns an
        # empty string "()" into "matches nothing", so "()" is never written.
        others = [b for b in branches if not isinstance(b, Empty)]
        if not others:
            return Empty()
        inner = others[0] if len(others) == 1 else Alt(tuple(others))
        return inner if len(others) == len(branches) else Repeat(inner, 0, 1)
    if isinstance(node, Repeat):
        sub = _simplify(node.sub)
        if isinstance(sub, Empty) or node.max == 0:
            return Empty()
        if node.min == 1 and node.max == 1:
            return sub
        return Repeat(sub, node.min, node.max)
    return node


def _expanded_size(node: Node) -> int:
    if isinstance(node, Chars):
        return 1
    if isinstance(node, (Concat, Alt)):
        return sum(_expanded_size(x) for x in node.items)
    if isinstance(node, Repeat):
        copies = node.max if node.max is not None else node.min + 1
        return _expanded_size(node.sub) * max(copies, 1)
    return 0


def _nullable(node: Node) -> bool:
    if isinstance(node, Empty):
        return True
    if isinstance(node, Concat):
        return all(_nullable(x) for x in node.items)
    if isinstance(node, Alt):
        return any(_nullable(x) for x in node.items)
    if isinstance(node, Repeat):
        return node.min == 0 or _nullable(node.sub)
    return False


def _literals(node: Node) -> tuple[str, ...] | None:
    """The finite set of strings the node matches, when it is small, else None."""
    if isinstance(node, Empty):
        return ("",)
    if isinstance(node, Chars):
        if char_sets.size(node.ranges) > 4:
            return None
        return tuple(chr(cp) for lo, hi in node.ranges for cp in range(lo, hi + 1))
    if isinstance(node, Concat):
        result: tuple[str, ...] = ("",)
        for item in node.items:
            part = _literals(item)
            if part is None or len(result) * len(part) > MAX_LITERALS:
                return None
            result = tuple(a + b for a in result for b in part)
        return result
    if isinstance(node, Alt):
        seen: dict[str, None] = {}
        for branch in node.items:
            part = _literals(branch)
            if part is None:
                return None
            seen.update(dict.fromkeys(part))
            if len(seen) > MAX_LITERALS:
                return None
        return tuple(seen)
    if isinstance(node, Repeat) and node.min == 0 and node.max == 1:
        part = _literals(node.sub)
        return None if part is None else tuple(dict.fromkeys(("", *part)))
    return None


def _repeats_any(node: Node, minimum: int) -> bool:
    return (
        isinstance(node, Repeat)
        and node.min == minimum
        and node.max is None
        and isinstance(node.sub, Chars)
        and node.sub.ranges == char_sets.ALL
    )


def _chars_nodes(node: Node) -> list[Chars]:
    if isinstance(node, Chars):
        return [node]
    if isinstance(node, (Concat, Alt)):
        return [c for x in node.items for c in _chars_nodes(x)]
    if isinstance(node, Repeat):
        return _chars_nodes(node.sub)
    return []


def _wholly_case_insensitive(node: Node) -> bool:
    """Whether some part was read under (?i) and every part where case matters was."""
    nodes = _chars_nodes(node)
    if not any(c.folded for c in nodes):
        return False
    return all(
        c.folded or c.ranges == char_sets.ALL or char_sets.fold(c.ranges) == c.ranges for c in nodes
    )


def _escape(cp: int) -> str:
    ch = chr(cp)
    return "\\" + ch if ch in _PUNCTUATION else ch


def _set_items(ranges: char_sets.Ranges) -> str:
    parts = []
    for lo, hi in ranges:
        if lo == hi:
            parts.append(_escape(lo))
        elif hi == lo + 1:
            parts.append(_escape(lo) + _escape(hi))
        else:
            parts.append(f"{_escape(lo)}-{_escape(hi)}")
    return "".join(parts)


def _ascii_case_pair(ch: str) -> bool:
    """Whether Lucene's ASCII case folding gives exactly RE2's orbit of ``ch``."""
    orbit = char_sets.orbit(ord(ch))
    return len(orbit) == 2 and all(cp < 0x80 for cp in orbit)


def _emit_chars(node: Chars, case_insensitive: bool) -> str:
    ranges = node.ranges
    if ranges == char_sets.ALL:
        return "."
    if case_insensitive and node.literal is not None and _ascii_case_pair(node.literal):
        return _escape(ord(node.literal))
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _escape(ranges[0][0])
    positive = "[" + _set_items(ranges) + "]"
    negative = "[^" + _set_items(char_sets.complement(ranges)) + "]"
    return negative if len(negative) < len(positive) else positive


def _quantifier(low: int, high: int | None) -> str:
    if high is None:
        return {0: "*", 1: "+"}.get(low, f"{{{low},}}")
    if low == 0 and high == 1:
        return "?"
    return f"{{{low}}}" if low == high else f"{{{low},{high}}}"


def _emit(node: Node, case_insensitive: bool) -> str:
    if isinstance(node, Chars):
        return _emit_chars(node, case_insensitive)
    if isinstance(node, Concat):
        return "".join(
            f"({_emit(x, case_insensitive)})" if isinstance(x, Alt) else _emit(x, case_insensitive)
            for x in node.items
        )
    if isinstance(node, Alt):
        return "|".join(_emit(x, case_insensitive) for x in node.items)
    if isinstance(node, Repeat):
        sub = _emit(node.sub, case_insensitive)
        if isinstance(node.sub, (Concat, Alt, Repeat)):
            sub = f"({sub})"
        return sub + _quantifier(node.min, node.max)
    return "()"  # Empty: only a whole pattern that matches just "" (compiled to a term)
