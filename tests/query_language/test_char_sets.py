"""Code point sets and RE2-style case folding orbits."""

from __future__ import annotations

import pytest

from query_language import char_sets


@pytest.mark.parametrize(
    ("char", "orbit"),
    [
        ("a", "Aa"),
        ("A", "Aa"),
        ("k", "Kk\u212a"),
        ("\u212a", "Kk\u212a"),
        ("s", "Ss\u017f"),
        ("å", "Åå\u212b"),
        ("µ", "µΜμ"),
        ("\u03c3", "\u03a3\u03c2\u03c3"),
        ("θ", "Θθϑϴ"),
        ("ß", "ßẞ"),
        ("1", "1"),
        ("İ", "İ"),  # its lower case is two characters: no simple fold
        ("\u0131", "\u0131"),
        ("𐐀", "𐐀𐐨"),  # Deseret, outside the BMP
    ],
)
def test_orbits(char: str, orbit: str) -> None:
    assert "".join(map(chr, char_sets.orbit(ord(char)))) == orbit


def test_no_case_orbit_beyond_the_scan_limit() -> None:
    for cp in range(char_sets.FOLD_SCAN_LIMIT, char_sets.MAX_CODE_POINT + 1):
        ch = chr(cp)
        assert ch.casefold() == ch and ch.lower() == ch, hex(cp)


def test_fold_closes_ranges() -> None:
    assert char_sets.fold(((ord("a"), ord("c")),)) == ((0x41, 0x43), (0x61, 0x63))
    folded = char_sets.fold(((ord("r"), ord("t")),))
    assert char_sets.contains(folded, 0x17F) and char_sets.contains(folded, ord("S"))
    assert char_sets.fold(char_sets.ALL) == char_sets.ALL


def test_normalize_merges_and_drops_surrogates() -> None:
    assert char_sets.normalize([(5, 9), (1, 3), (4, 4), (20, 20)]) == ((1, 9), (20, 20))
    assert char_sets.normalize([(0xD700, 0xE100)]) == ((0xD700, 0xD7FF), (0xE000, 0xE100))
    assert char_sets.normalize([(0xD800, 0xDFFF)]) == ()


def test_complement() -> None:
    assert char_sets.complement(()) == char_sets.ALL
    assert char_sets.complement(char_sets.ALL) == ()
    some = ((0x30, 0x39), (0x61, 0x7A))
    assert char_sets.complement(char_sets.complement(some)) == some
    assert char_sets.size(char_sets.ALL) == 0x110000 - 0x800
