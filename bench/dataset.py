"""Realistic audit events from a fixed seed, as clients send them and as the service stores them.

Everything is deterministic: the same seed gives the same events, times, ids
and batches on every run. Times are spread evenly (with jitter, in arrival
order) over a fixed 30-day span that straddles a month boundary, so the data
lands in two monthly indices as a real month-end would.

The vocabulary (users, actions, agents) extends ``app.demo``'s: a few named
users plus a few hundred synthetic ones with a skewed activity distribution,
service accounts, target ids drawn from a long tail, labels for environment,
team and region, data-access events with query text, and errors on failures.

``stored_document`` gives the exact document the service's ingest would write
for a raw event (the ``app.events.load_event`` normalisation); ``check_documents``
verifies that claim on a sample, so the raw-Elasticsearch side of every
comparison writes and reads the same documents as the service.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.cli.demo import ACTIONS as DEMO_ACTIONS
from app.cli.demo import AGENTS as DEMO_AGENTS
from app.cli.demo import USERS as DEMO_USERS
from app.model.event import derive_id, doc_id, load_event
from app.model.timestamps import NS_PER_S, format_ns
from app.store.events import EventStore

SEED = 20240501
# 2025-02-15T00:00:00Z .. 2025-03-17T00:00:00Z: 30 days over two monthly indices.
SPAN_START_NS = int(datetime(2025, 2, 15, tzinfo=UTC).timestamp()) * NS_PER_S
SPAN_DAYS = 30
SPAN_NS = SPAN_DAYS * 86_400 * NS_PER_S
SPAN_END_NS = SPAN_START_NS + SPAN_NS

MAIN_NAMESPACE = "acme"
# One event in every OTHER_EVERY goes to another tenant, so the namespace filter
# has real work to do; the main namespace holds exactly the requested count.
OTHER_NAMESPACES = ("globex", "initech")
OTHER_EVERY = 11

GROUPS = ("g-admins", "g-analysts", "g-devs", "g-ops", "g-sales", "g-finance", "g-support")
USERS: tuple[tuple[str, str, str, str], ...] = (
    *DEMO_USERS,
    *(
        (f"u-{2000 + n}", f"user{2000 + n}@example.com", "User", GROUPS[n % len(GROUPS)])
        for n in range(400)
    ),
    *(
        (f"svc-{name}", f"{name}-service", "ServiceAccount", "g-system")
        for name in ("sync", "billing", "scanner", "reporting")
    ),
)
ACTIONS: tuple[tuple[str, str, float], ...] = (
    *DEMO_ACTIONS,
    # (action, target kind, share of failures): reads dominate real audit logs.
    ("read", "document", 0.01),
    ("read", "dashboard", 0.0),
    ("list", "project", 0.0),
    ("logout", "authenticate", 0.0),
    ("export", "report", 0.03),
    ("share", "document", 0.02),
    ("grant", "role", 0.04),
    ("revoke", "role", 0.02),
)
# Draw weights of ACTIONS (same order): logins and reads are the bulk.
ACTION_WEIGHTS = (18, 1, 2, 1, 1, 3, 1, 6, 1, 4, 20, 12, 10, 8, 3, 3, 2, 1)
AGENTS = (*DEMO_AGENTS, "Go-http-client/1.1", "aws-sdk-go/1.44", "okhttp/4.12")
ENVS = ("prod",) * 6 + ("staging",) * 3 + ("dev",)
REGIONS = ("eu-west-1", "us-east-1", "ap-south-1")
ERRORS = ("permission denied", "not found", "quota exceeded", "invalid token",
          "conflict: resource changed")
QUERIES = (
    "SELECT * FROM orders WHERE region = 'EU'",
    "SELECT count(*) FROM customers",
    "SELECT id, email FROM users LIMIT 100",
    "SELECT sum(amount) FROM invoices GROUP BY month",
)


@dataclass(frozen=True)
class Generated:
    """One event: its namespace, the body a client sends, its time and the stored document."""

    namespace: str
    raw: dict[str, Any]
    time_ns: int
    document: dict[str, Any]


def _weighted(weights: tuple[int, ...]) -> tuple[int, ...]:
    """A draw table: index i appears weights[i] times."""
    return tuple(index for index, weight in enumerate(weights) for _ in range(weight))


_ACTION_TABLE = _weighted(ACTION_WEIGHTS)


def raw_event(rng: random.Random, time_ns: int, with_id: bool) -> dict[str, Any]:
    """One client-side event at ``time_ns`` (microsecond precision, UTC)."""
    action_table = _ACTION_TABLE
    # Skewed activity: a few users do most things (index ~ U^2).
    user = int(len(USERS) * rng.random() ** 2)
    user_id, user_name, user_type, group = USERS[user]
    action, kind, failure_rate = ACTIONS[action_table[int(len(action_table) * rng.random())]]
    failed = rng.random() < failure_rate
    target_n = int(2000 * rng.random() ** 3)
    event: dict[str, Any] = {}
    if with_id:
        event["id"] = f"{rng.getrandbits(128):032x}"
    event["time"] = format_ns(time_ns // 1000 * 1000, 6)
    event["action"] = action
    event["outcome"] = "failure" if failed else "success"
    event["actor"] = {"id": user_id, "name": user_name, "type": user_type, "group_id": group}
    target: dict[str, Any] = {"kind": kind, "id": f"{kind}-{target_n}"}
    if kind in ("document", "dashboard", "report", "project"):
        target["name"] = f"{kind.title()} {target_n}"
    event["target"] = target
    # Each user works from a few machines (one to three addresses), as in real logs.
    host = int((1 + user % 3) * rng.random())
    event["source_ip"] = (f"10.{user % 4}.{(user * 7 + host) % 256}."
                          f"{1 + (user * 13 + host * 37) % 254}")
    event["user_agent"] = AGENTS[int(len(AGENTS) * rng.random())]
    event["labels"] = {
        "env": ENVS[int(len(ENVS) * rng.random())],
        "team": group.removeprefix("g-"),
        "region": REGIONS[int(len(REGIONS) * rng.random())],
    }
    if kind == "data_source":
        event["data_source_id"] = str(1 + int(5 * rng.random()))
        event["query"] = QUERIES[int(len(QUERIES) * rng.random())]
    if failed:
        event["error"] = ERRORS[int(len(ERRORS) * rng.random())]
    if rng.random() < 0.25:
        event["message"] = f"{user_name} {action} {kind} {target['id']}"
    return event


def stored_document(raw: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The document the service stores for ``raw`` in ``namespace`` (times are already UTC)."""
    document = {"time": raw["time"], "namespace": namespace}
    document.update((k, v) for k, v in raw.items() if k != "time")
    document.setdefault("outcome", "unknown")
    if "id" not in document:
        document["id"] = derive_id(document)
    return document


def events(count: int, seed: int = SEED, with_others: bool = True,
           id_share: float = 1.0) -> Iterator[Generated]:
    """``count`` events of the main namespace (plus the other tenants' share) in time order.

    ``id_share`` of the events carry a client id; the others get the derived one.
    """
    rng = random.Random(seed)
    total = count + (count // (OTHER_EVERY - 1) if with_others else 0)
    slot = SPAN_NS / max(1, total)
    others = 0
    for n in range(total):
        if with_others and n % OTHER_EVERY == OTHER_EVERY - 1:
            namespace = OTHER_NAMESPACES[others % len(OTHER_NAMESPACES)]
            others += 1
        else:
            namespace = MAIN_NAMESPACE
        time_ns = SPAN_START_NS + int((n + rng.random()) * slot)
        raw = raw_event(rng, time_ns, rng.random() < id_share)
        yield Generated(namespace, raw, time_ns // 1000 * 1000, stored_document(raw, namespace))


def main_count(total_generated: int) -> int:
    """How many main-namespace events a generated stream of this length holds."""
    return total_generated - total_generated // OTHER_EVERY


def bulk_actions(items: Iterator[Generated], store: EventStore,
                 namespace: str | None = None) -> Iterator[dict[str, Any]]:
    """``helpers.streaming_bulk`` actions writing the stored documents like the service does:
    ``op_type=create`` into the event's monthly index with the service's ``_id``."""
    for item in items:
        document = item.document
        if namespace is not None:
            document = {**document, "namespace": namespace}
        yield {
            "_op_type": "create",
            "_index": store.index_for(item.time_ns),
            "_id": doc_id(document["namespace"], document["id"]),
            "_source": document,
        }


def check_documents(sample: list[Generated]) -> None:
    """Assert that ``stored_document`` equals the service's own normalisation on ``sample``."""
    for item in sample:
        event = load_event(item.raw, item.namespace)
        if event.source != item.document or event.time_ns != item.time_ns:
            raise AssertionError(
                "bench documents differ from what the service stores:\n"
                f"  service: {event.source}\n  bench:   {item.document}"
            )
