"""Realistic demo events: a few tenants, users, services, actions and targets over recent days."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

from app.model.timestamps import NS_PER_S, format_ns

NAMESPACES = ("demo", "acme", "globex")
USERS = (
    ("u-1001", "alice@example.com", "User", "g-admins"),
    ("u-1002", "bob@example.com", "User", "g-analysts"),
    ("u-1003", "carol@example.com", "User", "g-analysts"),
    ("u-1004", "dave@example.com", "User", "g-devs"),
    ("svc-backup", "backup-service", "ServiceAccount", "g-system"),
    ("svc-ci", "ci-runner", "ServiceAccount", "g-system"),
)
ACTIONS = (
    # (action, target kind, share of failures)
    ("login", "authenticate", 0.08),
    ("update-password", "authenticate", 0.02),
    ("enable", "feature", 0.0),
    ("disable", "feature", 0.0),
    ("Create", "Department", 0.05),
    ("Update", "Project", 0.03),
    ("Delete", "Project", 0.1),
    ("query", "data_source", 0.04),
    ("create", "group", 0.01),
    ("download", "blob", 0.02),
)
AGENTS = ("Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "python-requests/2.32", "Terraform/1.8")


def demo_events(count: int = 3000, days: float = 3.0, seed: int = 7,
                now_ns: int | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (namespace, event) pairs spread over the last ``days``, newest included."""
    rng = random.Random(seed)
    now_ns = now_ns if now_ns is not None else time.time_ns()
    span_ns = int(days * 86400 * NS_PER_S)
    for n in range(count):
        # A tenth of the events fall in the last ten minutes, so default searches find some.
        recent = n % 10 == 0
        offset = rng.randrange(600 * NS_PER_S if recent else span_ns)
        user_id, user_name, user_type, group = rng.choice(USERS)
        action, kind, failure_rate = rng.choice(ACTIONS)
        failed = rng.random() < failure_rate
        event: dict[str, Any] = {
            "time": format_ns((now_ns - offset) // 1000 * 1000, 6),
            "action": action,
            "outcome": "failure" if failed else "success",
            "actor": {"id": user_id, "name": user_name, "type": user_type, "group_id": group},
            "target": {"kind": kind, "id": f"{kind}-{rng.randrange(40)}"},
            "source_ip": f"10.{rng.randrange(4)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            "user_agent": rng.choice(AGENTS),
            "labels": {"env": rng.choice(("prod", "staging")), "team": group.removeprefix("g-")},
        }
        if kind == "data_source":
            event["data_source_id"] = str(rng.randrange(1, 6))
            event["query"] = rng.choice((
                "SELECT * FROM orders WHERE region = 'EU'",
                "SELECT count(*) FROM customers",
                "SELECT id, email FROM users LIMIT 100",
            ))
        if failed:
            event["error"] = rng.choice(("permission denied", "not found", "quota exceeded"))
        yield rng.choice(NAMESPACES), event
