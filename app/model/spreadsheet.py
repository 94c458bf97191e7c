"""Formula injection in CSV (OWASP "CSV Injection"): the cells a spreadsheet would run.

A spreadsheet reads a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return as a formula, and audit events carry attacker-chosen text
(user agents, names, queries). ``neutralised`` prefixes such a cell with a
single quote, which spreadsheets show as text; ``original`` undoes it.
"""

from __future__ import annotations

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(cell: str) -> str:
    """``cell`` with a leading single quote when a spreadsheet would run it as a formula."""
    return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell


def original(cell: str) -> str:
    """The value ``neutralised`` was given (its added quote removed)."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_TRIGGERS):
        return cell[1:]
    return cell
