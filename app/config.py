"""Configuration: one table of settings, each read from an environment variable.

``auditlog config`` prints this table; the README's configuration section is
that output. Flask's config holds the parsed values under the same names.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


def _int(text: str) -> int:
    return int(text.replace("_", ""))


def _bool(text: str) -> bool:
    if text.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if text.strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {text!r}")


@dataclass(frozen=True)
class Setting:
    """One configuration variable: its name, default, parser and meaning."""

    name: str
    default: Any
    parse: Callable[[str], Any]
    doc: str


SETTINGS: tuple[Setting, ...] = (
    Setting("ELASTICSEARCH_URL", None, str,
            "Elasticsearch to use (e.g. `https://es:9200`); unset: the local node"),
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
    Setting("AUDITLOG_SECRET", None, str,
            "secret that signs scroll tokens; set the same value on every instance "
            "(unset: a random one per process)"),
    Setting("AUDITLOG_SCROLL_KEEPALIVE", "2m", str,
            "how long a scroll stays valid after its last use"),
    Setting("AUDITLOG_MAX_BODY_BYTES", 16 * 1024 * 1024, _int,
            "largest request body accepted (413 above)"),
    Setting("AUDITLOG_MAX_BATCH_EVENTS", 10_000, _int,
            "most events in one ingest request (413 above)"),
    Setting("AUDITLOG_APPLY_TEMPLATES", True, _bool,
            "apply the index templates when the service starts"),
    Setting("AUDITLOG_LOG_LEVEL", "INFO", str, "log level (DEBUG, INFO, WARNING, ERROR)"),
)

DEFAULTS: Mapping[str, Any] = {s.name: s.default for s in SETTINGS}


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
