"""Configuration: one table of settings, each read from an environment variable.

``auditlog config`` prints this table; the README's configuration section is
that output. Flask's config holds the parsed values under the same names.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from limits import parse_many

from query_language import MAX_REGEX_LENGTH


def _int(text: str) -> int:
    return int(text.replace("_", ""))


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise ValueError("must be 1 or more")
    return value


def _seconds(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text)
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g} seconds")
        return value

    return parse


def _bool(text: str) -> bool:
    if text.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if text.strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _rate_limit(text: str) -> str:
    """A rate-limit string such as ``50/second;1000/minute`` (checked by ``limits``)."""
    parse_many(text)  # raises ValueError naming the fault
    return text


def _origins(text: str) -> str:
    """A comma-separated list of origins (``scheme://host[:port]``), or empty."""
    for origin in filter(None, (o.strip() for o in text.split(","))):
        if "://" not in origin:
            raise ValueError(f"{origin!r} is not an origin such as https://soc.example.com")
    return text


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return text

    return parse


@dataclass(frozen=True)
class Setting:
    """One configuration variable: its name, default, parser and meaning."""

    name: str
    default: Any
    parse: Callable[[str], Any]
    doc: str


SETTINGS: tuple[Setting, ...] = (
    Setting("ELASTICSEARCH_URL", None, str,
            "Elasticsearch to use (e.g. `https://es:9200`; several nodes of one cluster "
            "comma-separated, a node that fails is skipped); unset: the local node"),
    Setting("ELASTICSEARCH_USERNAME", None, str, "basic-auth user for ELASTICSEARCH_URL"),
    Setting("ELASTICSEARCH_PASSWORD", None, str, "basic-auth password"),
    Setting("ELASTICSEARCH_API_KEY", None, str, "Elasticsearch API key (base64 `id:key`)"),
    Setting("ELASTICSEARCH_CA_CERTS", None, str, "CA certificate file for TLS to Elasticsearch"),
    Setting("ELASTICSEARCH_TIMEOUT", 30.0, float,
            "seconds before an Elasticsearch request times out (504)"),
    Setting("AUDITLOG_INDEX_PREFIX", "audit", str,
            "prefix of the service's indices (`<prefix>-events-YYYY.MM`, `<prefix>-keys`)"),
    Setting("AUDITLOG_ADMIN_KEY", None, str,
            "a key accepted as admin for every namespace (bootstrap, automation)"),
    Setting("AUDITLOG_KEY_CACHE_TTL", 5.0, float,
            "seconds a resolved API key is cached in each process; a key revoked through "
            "another instance stops working within this time"),
    Setting("AUDITLOG_RATE_LIMIT", "50/second;1000/minute", _rate_limit,
            "requests per key (by client address without a valid key); the short window is "
            "the burst, the long one the sustained rate"),
    Setting("AUDITLOG_EXPORT_RATE_LIMIT", "2/second;30/minute", _rate_limit,
            "exports and scroll opens per key, counted on top of AUDITLOG_RATE_LIMIT"),
    Setting("AUDITLOG_CORS_ORIGINS", None, _origins,
            "origins allowed to call the API from a browser (comma-separated, e.g. "
            "`https://soc.example.com`); unset: no CORS headers at all, browsers on other "
            "origins are refused"),
    Setting("AUDITLOG_RATE_LIMIT_STORAGE", "memory://", str,
            "where rate-limit counters live: `memory://` (per process) or a Redis URL "
            "(`redis://host:6379/0`, shared by several instances; needs `auditlog[redis]`)"),
    Setting("AUDITLOG_RATE_LIMIT_STRATEGY", "fixed-window",
            _choice("fixed-window", "moving-window", "sliding-window-counter"),
            "rate-limit algorithm of the `limits` library"),
    Setting("AUDITLOG_RATE_LIMIT_ENABLED", True, _bool, "enforce the rate limits"),
    Setting("AUDITLOG_SELF_AUDIT", True, _bool,
            "record each search, scroll, aggregation, export, ingest batch and key change "
            "in namespace `system`"),
    Setting("AUDITLOG_SELF_AUDIT_QUEUE", 10_000, _int,
            "self-audit events waiting to be written at most; beyond, they are dropped "
            "and counted"),
    Setting("AUDITLOG_SECRET", None, str,
            "secret that signs scroll tokens, follow cursors and access tokens; set the same "
            "value on every instance (unset: a random one per process)"),
    Setting("AUDITLOG_TOKEN_TTL", 3600, _positive_int,
            "seconds an access token from `POST /bim/apikey/authenticate` or "
            "`POST /api/v1/token` stays valid (it dies sooner with its key)"),
    Setting("AUDITLOG_SCROLL_KEEPALIVE", "2m", str,
            "how long a scroll stays valid after its last use"),
    Setting("AUDITLOG_EXPORT_KEEPALIVE", "2m", str,
            "how long an export's point-in-time stays open between two of its reads"),
    Setting("AUDITLOG_EXPORT_READERS", 3, _positive_int,
            "time slices an export reads from Elasticsearch at once (1: one page after the "
            "other); the order of the events is the same"),
    Setting("AUDITLOG_CSV_ESCAPE_FORMULAS", True, _bool,
            "CSV exports write a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage "
            "return with a leading `'` so spreadsheets show it as text, not run it as a "
            "formula (OWASP CSV injection); `false` writes the raw values"),
    Setting("AUDITLOG_FOLLOW_SETTLE", 3.0, _seconds(0.0, 300.0),
            "seconds the follow feed stays behind now: it reads events stamped (ingested_at) "
            "before now minus this, when writes of that time are searchable (the index "
            "refresh interval is 1 s)"),
    Setting("AUDITLOG_FOLLOW_OVERLAP", 5.0, _seconds(0.0, 3600.0),
            "seconds of stamps behind its position a follower re-checks for writes that became "
            "searchable late; an ingest whose write takes longer than settle + overlap - 1 s "
            "is counted in auditlog_follow_late_writes_total and logged"),
    Setting("AUDITLOG_FOLLOW_STREAMS_PER_KEY", 4, _positive_int,
            "open follow streams (SSE, NDJSON) one key may hold in each worker process (429 "
            "beyond); each open stream holds one gunicorn thread"),
    Setting("AUDITLOG_MAX_BODY_BYTES", 16 * 1024 * 1024, _int,
            "largest request body accepted (413 above)"),
    Setting("AUDITLOG_MAX_REGEX_LENGTH", MAX_REGEX_LENGTH, _int,
            "longest regex a matcher may hold (400 above)"),
    Setting("AUDITLOG_MAX_AGGREGATIONS", 10, _int,
            "most aggregations in one request, nested ones included"),
    Setting("AUDITLOG_MAX_BUCKETS", 10_000, _int,
            "most buckets one request's aggregations may produce"),
    Setting("AUDITLOG_MAX_BATCH_EVENTS", 10_000, _int,
            "most events in one ingest request (413 above)"),
    Setting("AUDITLOG_APPLY_TEMPLATES", True, _bool,
            "apply the index templates when the service starts"),
    Setting("AUDITLOG_MALLOC_TRIM_S", 10.0, _seconds(0.0, 3600.0),
            "seconds between two returns of freed memory to the system by each gunicorn "
            "worker (glibc `malloc_trim`), so its RSS follows what it holds instead of the "
            "most it ever held; 0: never"),
    Setting("AUDITLOG_LOG_LEVEL", "INFO", str,
            "log level (DEBUG, INFO, WARNING, ERROR); logs are JSON lines on stderr, one per "
            "request with method, path, status, duration_ms and key_id"),
    Setting("AUDITLOG_RETENTION", None, str,
            "default age for `auditlog retention apply` (e.g. `90d`): monthly indices whose "
            "month ended before now minus this age are deleted"),
    Setting("AUDITLOG_CHECKPOINT_INTERVAL", 60.0, _seconds(0, 86_400),
            "seconds between integrity checkpoints: each namespace's settled ingest stream "
            "is sealed (hashed, chained, signed) this often; 0 turns the checkpointer off"),
    Setting("AUDITLOG_CHECKPOINT_LEASE", 15.0, _seconds(1, 30),
            "seconds the sealing lease lasts unless renewed: one instance seals at a time, "
            "and another takes over this long after the holder stopped"),
    Setting("AUDITLOG_SIGNING_KEY", None, str,
            "PEM file of the Ed25519 key that signs checkpoints and export manifests (give "
            "every instance the same); unset: `signing-key.pem` in the data folder, made on "
            "first start (mode 0600)"),
    Setting("PROMETHEUS_MULTIPROC_DIR", None, str,
            "folder where gunicorn workers share metrics (prometheus_client multi-process "
            "mode); `auditlog serve` makes a temporary one for more than one worker"),
)

_BY_NAME: Mapping[str, Setting] = {s.name: s for s in SETTINGS}


def default(name: str) -> Any:
    """The default value of a setting (the one place each limit is defined)."""
    return _BY_NAME[name].default


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Parse every setting present in the environment; raise ValueError naming a bad one."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.name)
        if raw is None or raw == "":
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ValueError(f"{setting.name}={raw!r} is not valid: {exc}") from exc
    return values


def markdown_table() -> str:
    """The settings as the README's configuration table."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = "(unset)" if s.default is None else f"`{s.default}`"
        rows.append(f"| `{s.name}` | {default} | {s.doc} |")
    return "\n".join(rows)
