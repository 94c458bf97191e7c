"""Sets of code points as sorted, merged ``(lo, hi)`` ranges, and RE2's case folding.

Surrogates (U+D800..U+DFFF) are never members: they cannot occur in a valid
UTF-8 keyword and cannot be sent to Elasticsearch in JSON text.

Case folding follows Go's ``unicode.SimpleFold`` orbits, which RE2's ``(?i)``
uses: ``k`` matches ``K`` and KELVIN SIGN, ``s`` matches ``S`` and LONG S. The
orbits are derived from Python's Unicode database (simple folding: the
one-character case fold, else the one-character lower case), so they follow
Python's Unicode version, which may trail Go's by a release.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable

Ranges = tuple[tuple[int, int], ...]

MAX_CODE_POINT = 0x10FFFF
_SURROGATES = (0xD800, 0xDFFF)
ALL: Ranges = ((0, _SURROGATES[0] - 1), (_SURROGATES[1] + 1, MAX_CODE_POINT))
# Every code point with a case orbit lies below this (checked by a test).
FOLD_SCAN_LIMIT = 0x20000


def normalize(ranges: Iterable[tuple[int, int]]) -> Ranges:
    """Sort and merge ranges (adjacent ones too), and remove the surrogates."""
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1][1] = hi
        else:
            out.append([lo, hi])
    result: list[tuple[int, int]] = []
    s_lo, s_hi = _SURROGATES
    for lo, hi in out:
        if hi < s_lo or lo > s_hi:
            result.append((lo, hi))
            continue
        if lo < s_lo:
            result.append((lo, s_lo - 1))
        if hi > s_hi:
            result.append((s_hi + 1, hi))
    return tuple(result)


def complement(ranges: Ranges) -> Ranges:
    """All code points (surrogates excepted) not in ``ranges``."""
    out: list[tuple[int, int]] = []
    nxt = 0
    for lo, hi in ranges:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_CODE_POINT:
        out.append((nxt, MAX_CODE_POINT))
    return normalize(out)


def size(ranges: Ranges) -> int:
    """How many code points the set holds."""
    return sum(hi - lo + 1 for lo, hi in ranges)


def contains(ranges: Ranges, cp: int) -> bool:
    """Whether ``cp`` is in the set."""
    i = bisect.bisect_right(ranges, (cp, MAX_CODE_POINT + 1)) - 1
    return i >= 0 and ranges[i][0] <= cp <= ranges[i][1]


def _fold_key(ch: str) -> str:
    key = ch.casefold()
    if len(key) != 1:
        key = ch.lower()
        if len(key) != 1:
            key = ch
    return key


@functools.cache
def _orbits() -> tuple[dict[int, tuple[int, ...]], tuple[int, ...]]:
    """Code point -> its case orbit (only orbits of two or more), and the sorted members."""
    groups: dict[str, set[int]] = {}
    for cp in range(FOLD_SCAN_LIMIT):
        if _SURROGATES[0] <= cp <= _SURROGATES[1]:
            continue
        ch = chr(cp)
        key = _fold_key(ch)
        if key != ch:
            groups.setdefault(key, {ord(key)}).add(cp)
    orbits: dict[int, tuple[int, ...]] = {}
    for members in groups.values():
        orbit = tuple(sorted(members))
        for cp in orbit:
            orbits[cp] = orbit
    return orbits, tuple(sorted(orbits))


def orbit(cp: int) -> tuple[int, ...]:
    """The code points that match ``cp`` case-insensitively, ``cp`` included."""
    return _orbits()[0].get(cp, (cp,))


@functools.lru_cache(maxsize=512)
def fold(ranges: Ranges) -> Ranges:
    """The set closed under case folding: everything that matches a member under (?i).

    Works from whichever side holds fewer cased code points, the set or its
    complement, so that folding ``[^a]`` costs as little as folding ``[a]``.
    """
    orbits, members = _orbits()
    spans = [
        (bisect.bisect_left(members, lo), bisect.bisect_right(members, hi)) for lo, hi in ranges
    ]
    inside = sum(stop - start for start, stop in spans)
    if inside <= len(members) // 2:
        extra = [
            m
            for start, stop in spans
            for cp in members[start:stop]
            for m in orbits[cp]
            if not contains(ranges, m)
        ]
    else:
        # Only cased code points outside the set can be missing from its closure.
        outside = complement(ranges)
        extra = [
            cp
            for lo, hi in outside
            for cp in members[bisect.bisect_left(members, lo) : bisect.bisect_right(members, hi)]
            if any(contains(ranges, m) for m in orbits[cp])
        ]
    return normalize((*ranges, *((m, m) for m in extra))) if extra else ranges


def of_chars(chars: str) -> Ranges:
    """The set of the given characters."""
    return normalize((ord(c), ord(c)) for c in chars)
