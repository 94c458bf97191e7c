"""A constant-size sketch of a set of event ids that names the ids added since (an IBLT).

The follow feed must remember which events it delivered inside its overlap
window, to deliver a late-visible write once and nothing twice. A list of ids
grows with the ingest rate; this sketch does not: ``CELLS`` cells, each the
count, the XOR of 64-bit id hashes and the XOR of their check hashes of the
ids mapped to it (each id to one cell in each of ``HASHES`` sub-tables). Given
the full set read again later, ``later.minus(earlier).decode()`` peels the
difference and names the hashes that were added (and any that went away),
exactly, while the difference is small (up to about ``CELLS / 3`` ids at
once); beyond that ``decode`` answers None rather than guess.
(Invertible Bloom lookup tables: Goodrich and Mitzenmacher, 2011;
Eppstein et al., "What's the difference?", SIGCOMM 2011.)
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

HASHES = 3
CELLS_PER_HASH = 10
CELLS = HASHES * CELLS_PER_HASH
_MASK64 = (1 << 64) - 1
_COUNT_MOD = 1 << 16
_CELL = struct.Struct(">HQI")  # count mod 2**16, XOR of keys, XOR of checks
ENCODED_BYTES = CELLS * _CELL.size


_SPREAD_SALT = 0x9E3779B97F4A7C15


def id_key(event_id: str) -> int:
    """The 64-bit hash of an id that the sketch holds."""
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "big")


def _mix(value: int) -> int:
    """splitmix64's finaliser: the cells and the check of a key, which is already a hash."""
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def _check(key: int) -> int:
    return _mix(key) & 0xFFFFFFFF


# Each sub-table's first cell, and where its 16 bits of the key's spread start.
_TABLES = tuple((i * CELLS_PER_HASH, 16 * i) for i in range(HASHES))


def _cells(key: int) -> list[int]:
    spread = _mix(key ^ _SPREAD_SALT)
    return [first + (spread >> shift) % CELLS_PER_HASH for first, shift in _TABLES]


@dataclass
class IdSketch:
    """The sketch of a set of ids; ``add`` one, ``minus`` another sketch, ``decode``."""

    counts: list[int] = field(default_factory=lambda: [0] * CELLS)
    keys: list[int] = field(default_factory=lambda: [0] * CELLS)
    checks: list[int] = field(default_factory=lambda: [0] * CELLS)

    def copy(self) -> IdSketch:
        """An independent copy."""
        return IdSketch(list(self.counts), list(self.keys), list(self.checks))

    def add_key(self, key: int, sign: int = 1) -> None:
        """Insert (or, with ``sign=-1``, remove) one id hash."""
        check = _check(key)
        counts, keys, checks = self.counts, self.keys, self.checks
        for cell in _cells(key):
            counts[cell] = (counts[cell] + sign) % _COUNT_MOD
            keys[cell] ^= key
            checks[cell] ^= check

    def add(self, event_id: str) -> None:
        """Insert one id."""
        self.add_key(id_key(event_id))

    def minus(self, other: IdSketch) -> IdSketch:
        """The sketch of this set's difference with ``other``'s (both ways)."""
        return IdSketch([(a - b) % _COUNT_MOD for a, b in zip(self.counts, other.counts,
                                                              strict=True)],
                        [a ^ b for a, b in zip(self.keys, other.keys, strict=True)],
                        [a ^ b for a, b in zip(self.checks, other.checks, strict=True)])

    def is_empty(self) -> bool:
        """Whether every cell is zero (the sketch of the empty set, or of equal sets)."""
        return not any(self.counts) and not any(self.keys) and not any(self.checks)

    def decode(self) -> tuple[set[int], set[int]] | None:
        """For a difference sketch: (hashes added, hashes removed), or None when the
        difference is too large to name exactly."""
        work = self.copy()
        added: set[int] = set()
        removed: set[int] = set()
        progress = True
        while progress:
            progress = False
            for cell in range(CELLS):
                count = work.counts[cell]
                if count not in (1, _COUNT_MOD - 1):
                    continue
                key = work.keys[cell]
                if work.checks[cell] != _check(key) or cell not in _cells(key):
                    continue
                sign = 1 if count == 1 else -1
                (added if sign == 1 else removed).add(key)
                work.add_key(key, -sign)
                progress = True
        return (added, removed) if work.is_empty() else None

    def to_bytes(self) -> bytes:
        """The cells, packed (``ENCODED_BYTES``), or b"" when empty."""
        if self.is_empty():
            return b""
        return b"".join(_CELL.pack(c, k & _MASK64, h)
                        for c, k, h in zip(self.counts, self.keys, self.checks, strict=True))

    @classmethod
    def from_bytes(cls, data: bytes) -> IdSketch:
        """The sketch ``to_bytes`` packed; ValueError for anything else."""
        if not data:
            return cls()
        if len(data) != ENCODED_BYTES:
            raise ValueError("a sketch has the wrong size")
        sketch = cls()
        for cell, (count, key, check) in enumerate(_CELL.iter_unpack(data)):
            sketch.counts[cell], sketch.keys[cell], sketch.checks[cell] = count, key, check
        return sketch
