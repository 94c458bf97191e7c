"""Differential test of the query language against a real Elasticsearch node.

Random events (few values, many collisions, missing fields, empty strings,
unicode with case partners, regex metacharacters, ip addresses) go into a fresh
index; random selectors (all four operators, regexes from a safe RE2 subset,
(?i), (?-s), addresses and CIDR blocks) are compiled and run there, and the ids
that come back must be exactly those a pure-Python reference picks: a missing
field is "", ``=``/``!=`` compare strings (addresses and networks on the ip
field), ``=~``/``!~`` use ``re.fullmatch`` with DOTALL (Prometheus compiles
``(?s:...)``) and IGNORECASE for a leading (?i).

The seed is fixed; a mismatch prints the selector, the compiled query and the
events on which the node and the reference disagree.
"""

from __future__ import annotations

import ipaddress
import json
import random
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from query_language import Matcher, Op, Selector, compile_selector

SEED = 20241122
EVENTS = 300
RANDOM_CASES = 500
BATCH = 100

KEYWORDS = ("k1", "k2", "k3")
TEXT_KEYWORD = "q"  # text with a keyword sub-field
FIELDS = (*KEYWORDS, TEXT_KEYWORD)
IP = "addr"  # an ip field: = and != with addresses and CIDR blocks
IP_VALUES = ["10.1.2.3", "10.1.9.9", "10.200.0.1", "192.168.0.1", "::1", "2001:db8::5"]
IP_QUERIES = [
    "", "10.1.2.3", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.3/32", "192.168.0.1", "::1",
    "0:0::1", "2001:db8::/32", "::/0", "0.0.0.0/0", "172.16.0.0/12", "::ffff:10.1.2.3",
]  # fmt: skip

VALUES = [
    "", "a", "A", "b", "ab", "aB", "abc", "ba", "aaa", "a.b", "a*b", "a|b", "(a)", "[x]",
    "x\ny", "\n", " ", "a b", "é", "É", "k", "K", "\u212a", "s", "S", "\u017f", "日本",
    "😀", "\\", "a\\b", '"q"', "'", "@&~<>#", "-", "^$", "10", "007", "Login", "login",
    "LOGIN", "curl/7.1", "Mozilla curl", "{2}", "x y\tz",
]  # fmt: skip

# Characters for regex literals; RE2 needs a backslash before these.
RE2_META = set(".+*?()|[]{}^$\\")
LITERALS = list("abksxyzAK01 é日\u212a\u017f") + list(".*|()[]{}+?\\^$-@&~<>#\"'/\n\t")

# (RE2, Python) pairs for classes: RE2's \d \w \s are ASCII, Python's are not.
CLASSES = [
    ("[a-c]", "[a-c]"),
    ("[^a]", "[^a]"),
    ("[ab]", "[ab]"),
    ("[r-t]", "[r-t]"),
    ("\\d", "[0-9]"),
    ("\\w", "[0-9A-Za-z_]"),
    ("\\s", "[\\t\\n\\f\\r ]"),
    ("\\W", "[^0-9A-Za-z_]"),
    ("\\D", "[^0-9]"),
    ("[[:alpha:]]", "[A-Za-z]"),
    ("[[:^alpha:]]", "[^A-Za-z]"),
    ("[^\\n]", "[^\\n]"),
    ("[a-z0-9]", "[a-z0-9]"),
    ("[.*|]", "[.*|]"),
    ("[\\-\\]]", "[\\-\\]]"),
]

# (RE2, Python) regexes worth running on every field, whatever the random draw.
FIXED_REGEXES = [
    (".*", ".*"), (".+", ".+"), ("", ""), ("a*", "a*"), ("a+", "a+"), ("a|", "a|"),
    ("a|b", "a|b"), ("(?i)a.*", "(?i)a.*"), ("(?i)k", "(?i)k"), ("(?i)[r-t]+", "(?i)[r-t]+"),
    ("(?i)é", "(?i)é"), ("\\W*", "[^0-9A-Za-z_]*"), (".*\\n.*", ".*\\n.*"),
    ("(?-s).*", "(?-s:.*)"), ("(?-s).+", "(?-s:.+)"), ("x{0}", "x{0}"), ("^a$", "^a$"),
    ("[[:^alpha:]]*", "[^A-Za-z]*"), ("(?i)login", "(?i)login"), ("login|Login", "login|Login"),
    ("a\\.b", "a\\.b"), ("a\\|b", "a\\|b"), ("\\(a\\)", "\\(a\\)"), ("\\\\", "\\\\"),
    ("a\\\\b", "a\\\\b"), ('"q"', '"q"'), ("@&~<>#", "@&~<>#"), ("\\{2\\}", "\\{2\\}"),
    ("日本|😀", "日本|😀"), (".", "."), ("..", ".."), ("(?i)\\w+", "(?i)[0-9A-Za-z_]+"),
    ("[^a]*", "[^a]*"), ("(?i)[^a]*", "(?i)[^a]*"), ("(?:a|b)*c?", "(?:a|b)*c?"),
    ("a{2,3}", "a{2,3}"), ("(?i)S", "(?i)S"), ("curl.*", "curl.*"), (".*curl.*", ".*curl.*"),
    ("(?i).*CURL.*", "(?i).*CURL.*"), ("a(?i:b)", "a(?i:b)"), ("(?i)a(?-i:b)", "(?i)a(?-i:b)"),
    ("[\\s\\S]*", ".*"), ("\\s+", "[\\t\\n\\f\\r ]+"), ("\\d\\d\\d?", "[0-9][0-9][0-9]?"),
]  # fmt: skip


@dataclass(frozen=True)
class _Field:
    name: str
    type: str
    exact_field: str | None
    regex_field: str | None


class _IndexCatalogue:
    """The fields of the test index, as the compiler sees them."""

    def __init__(self) -> None:
        self._fields = {name: _Field(name, "keyword", name, name) for name in KEYWORDS}
        keyword = f"{TEXT_KEYWORD}.keyword"
        self._fields[TEXT_KEYWORD] = _Field(TEXT_KEYWORD, "text", keyword, keyword)
        self._fields[IP] = _Field(IP, "ip", IP, None)

    def lookup(self, name: str) -> _Field | None:
        return self._fields.get(name)

    def names(self) -> list[str]:
        return list(self._fields)


@dataclass(frozen=True)
class Case:
    selector: Selector
    python: tuple[re.Pattern[str] | None, ...]  # the reference regex of each matcher


# A generated regex is (RE2, Python, nested): "nested" when it holds a quantifier or an
# alternation. Such a group is never quantified again, which keeps Python's
# backtracking reference away from exponential cases like (a*)* or (a|ab)*.
Generated = tuple[str, str, bool]


def _literal(rng: random.Random) -> Generated:
    ch = rng.choice(LITERALS)
    if ch == "\n":
        return "\\n", "\\n", False
    if ch == "\t":
        return "\\t", "\\t", False
    re2 = "\\" + ch if ch in RE2_META or (not ch.isalnum() and rng.random() < 0.3) else ch
    return re2, re.escape(ch), False


def _atom(rng: random.Random, depth: int) -> Generated:
    roll = rng.random()
    if roll < 0.40 or depth > 2:
        return _literal(rng)
    if roll < 0.55:
        return ".", ".", False
    if roll < 0.75:
        return (*rng.choice(CLASSES), False)
    if roll < 0.85:
        re2, py, nested = _regex(rng, depth + 1)
        opener = rng.choice(["(", "(?:"])
        return f"{opener}{re2})", f"{opener}{py})", nested
    if roll < 0.93:
        re2, py, nested = _regex(rng, depth + 1)
        return f"(?i:{re2})", f"(?i:{py})", nested
    return "(?-s:.)", "(?-s:.)", False


def _piece(rng: random.Random, depth: int) -> Generated:
    re2, py, nested = _atom(rng, depth)
    if not nested and rng.random() < 0.35:
        quantifier = rng.choice(["*", "+", "?", "{2}", "{0,2}", "{1,3}", "{2,}"])
        if rng.random() < 0.2:
            quantifier += "?"  # lazy
        return re2 + quantifier, py + quantifier, True
    return re2, py, nested


def _regex(rng: random.Random, depth: int = 0) -> Generated:
    branches = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        pieces = [_piece(rng, depth) for _ in range(rng.randint(0, 4))]
        branches.append(
            (
                "".join(p[0] for p in pieces),
                "".join(p[1] for p in pieces),
                any(p[2] for p in pieces),
            )
        )
    return (
        "|".join(b[0] for b in branches),
        "|".join(b[1] for b in branches),
        len(branches) > 1 or any(b[2] for b in branches),
    )


def _top_regex(rng: random.Random) -> tuple[str, re.Pattern[str]]:
    re2, py, _ = _regex(rng)
    flags = re.DOTALL
    if rng.random() < 0.25:
        re2 = "(?i)" + re2
        flags |= re.IGNORECASE
    if rng.random() < 0.1:
        re2, py = f"^{re2}$" if "|" not in re2 else f"^(?:{re2})$", f"(?:{py})"
    return re2, re.compile(py, flags)


def _python(pattern: str) -> re.Pattern[str]:
    """A reference regex; a leading (?i) becomes the flag (Python wants flags global)."""
    flags = re.DOTALL
    if pattern.startswith("(?i)"):
        pattern, flags = pattern[4:], flags | re.IGNORECASE
    return re.compile(pattern, flags)


def _value(rng: random.Random) -> str:
    if rng.random() < 0.75:
        return rng.choice(VALUES)
    return "".join(rng.choice(VALUES) for _ in range(rng.randint(2, 3)))


def _events(rng: random.Random) -> list[dict[str, str]]:
    events = []
    for _ in range(EVENTS):
        event = {field: _value(rng) for field in FIELDS if rng.random() < 0.75}
        if rng.random() < 0.7:
            event[IP] = rng.choice(IP_VALUES)
        events.append(event)
    return events


def _cases(rng: random.Random) -> list[Case]:
    cases = [
        Case(Selector((Matcher(field, op, re2),)), (_python(python),))
        for re2, python in FIXED_REGEXES
        for field in (rng.choice(KEYWORDS), TEXT_KEYWORD)
        for op in (Op.RE, Op.NRE)
    ]
    cases += [
        Case(Selector((Matcher(field, op, value),)), (None,))
        for value in ("", "a", "\n", "\u212a", "a\\b")
        for field in (rng.choice(KEYWORDS), TEXT_KEYWORD)
        for op in (Op.EQ, Op.NE)
    ]
    cases += [
        Case(Selector((Matcher(IP, op, value), *extra)), (None,) * (1 + len(extra)))
        for value in IP_QUERIES
        for op in (Op.EQ, Op.NE)
        for extra in ((), (Matcher(rng.choice(KEYWORDS), Op.NE, rng.choice(VALUES)),))
    ]
    for _ in range(RANDOM_CASES):
        matchers, pythons = [], []
        for _ in range(rng.choice([1, 1, 2, 2, 3])):
            field = rng.choice(FIELDS)
            op = rng.choice(list(Op))
            if op.is_regex:
                re2, python = _top_regex(rng)
                matchers.append(Matcher(field, op, re2))
                pythons.append(python)
            else:
                matchers.append(Matcher(field, op, _value(rng) if rng.random() < 0.8 else ""))
                pythons.append(None)
        cases.append(Case(Selector(tuple(matchers)), tuple(pythons)))
    return cases


def _ip_network(text: str) -> ipaddress.IPv6Network:
    """As Elasticsearch sees it: IPv4 lives in IPv6 as ::ffff:a.b.c.d (so ::/0 holds it)."""
    network = ipaddress.ip_network(text, strict=False)
    if isinstance(network, ipaddress.IPv4Network):
        return ipaddress.IPv6Network(
            f"::ffff:{network.network_address}/{96 + network.prefixlen}", strict=False
        )
    return network


def _ip_equal(value: str, query: str) -> bool:
    """An ip field's value against an address or CIDR block; missing is ""."""
    if not value or not query:
        return value == query
    return _ip_network(value).network_address in _ip_network(query)


def _reference(case: Case, events: list[dict[str, str]]) -> set[str]:
    """Ids of the events the selector matches, by Prometheus semantics."""
    ids = set()
    for i, event in enumerate(events):
        ok = True
        for matcher, python in zip(case.selector.matchers, case.python, strict=True):
            value = event.get(matcher.field, "")
            if matcher.field == IP:
                ok = _ip_equal(value, matcher.value) == (matcher.op is Op.EQ)
            elif matcher.op is Op.EQ:
                ok = value == matcher.value
            elif matcher.op is Op.NE:
                ok = value != matcher.value
            else:
                assert python is not None
                ok = (python.fullmatch(value) is not None) == (matcher.op is Op.RE)
            if not ok:
                break
        if ok:
            ids.add(str(i))
    return ids


@pytest.fixture(scope="module")
def index(es: Elasticsearch) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A fresh index holding the random events; deleted at the end."""
    name = f"ql-differential-{uuid.uuid4().hex[:12]}"
    events = _events(random.Random(SEED))
    es.indices.create(
        index=name,
        settings={"number_of_shards": 1, "number_of_replicas": 0},
        mappings={
            "dynamic": "strict",
            "properties": {
                **{field: {"type": "keyword"} for field in KEYWORDS},
                TEXT_KEYWORD: {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
                IP: {"type": "ip"},
            },
        },
    )
    try:
        operations: list[dict[str, Any]] = []
        for i, event in enumerate(events):
            operations += [{"index": {"_index": name, "_id": str(i)}}, event]
        result = es.bulk(operations=operations, refresh=True)
        assert not result["errors"], result
        yield name, events
    finally:
        es.indices.delete(index=name, ignore_unavailable=True)


def test_compiled_selectors_match_the_reference(
    es: Elasticsearch, index: tuple[str, list[dict[str, str]]]
) -> None:
    name, events = index
    catalogue = _IndexCatalogue()
    cases = _cases(random.Random(SEED + 1))
    compiled = [compile_selector(case.selector, catalogue) for case in cases]
    mismatches = []
    for start in range(0, len(cases), BATCH):
        searches: list[dict[str, Any]] = []
        for query in compiled[start : start + BATCH]:
            searches += [{"index": name}, {"query": query, "size": EVENTS, "_source": False}]
        responses = es.msearch(searches=searches)["responses"]
        for k, response in enumerate(responses):
            case, query = cases[start + k], compiled[start + k]
            assert "error" not in response, (case.selector.to_string(), query, response)
            got = {hit["_id"] for hit in response["hits"]["hits"]}
            want = _reference(case, events)
            if got != want:
                mismatches.append((case, query, got, want))
    if mismatches:
        for case, query, got, want in mismatches[:5]:
            print("selector:", case.selector.to_string())
            print("query:   ", json.dumps(query, ensure_ascii=False))
            for i in sorted(got - want, key=int):
                print("  only Elasticsearch:", i, json.dumps(events[int(i)], ensure_ascii=False))
            for i in sorted(want - got, key=int):
                print("  only reference:    ", i, json.dumps(events[int(i)], ensure_ascii=False))
    assert not mismatches, f"{len(mismatches)} of {len(cases)} selectors differ (printed above)"
    assert len(cases) >= 500
