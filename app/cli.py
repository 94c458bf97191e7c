"""The ``auditlog`` command line (DESIGN §9)."""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import click

from app import config as settings
from app import local_es


def _die(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _store():
    from app.es import make_client
    from app.store import EventStore

    values = settings.from_environment()
    return EventStore(make_client(values), values["AUDITLOG_INDEX_PREFIX"])


@click.group()
def main() -> None:
    """auditlog: audit-log search service over Elasticsearch."""


@main.group("elasticsearch")
def elasticsearch_group() -> None:
    """Manage the local single-node Elasticsearch (used when ELASTICSEARCH_URL is unset)."""


@elasticsearch_group.command("start")
@click.option("--port", type=int, default=None, help="HTTP port (default 9200, or a free one).")
@click.option("--heap", default="1g", show_default=True, help="JVM heap size.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Folder for the distribution, data, logs and pid (AUDITLOG_DATA_DIR).")
def es_start(port: int | None, heap: str, data_dir: Path | None) -> None:
    """Install (once) and start the local node; wait until it is yellow or green."""
    try:
        state, started = local_es.start(data_dir=data_dir, port=port, heap=heap)
    except local_es.LocalNodeError as exc:
        _die(str(exc))
    verb = "started" if started else "already running"
    click.echo(f"Elasticsearch {state.version} {verb} at {state.url} (pid {state.pid})")


@elasticsearch_group.command("stop")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
def es_stop(data_dir: Path | None) -> None:
    """Stop the local node started from this data folder."""
    click.echo("stopped" if local_es.stop(data_dir) else "not running")


@elasticsearch_group.command("status")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
def es_status(data_dir: Path | None) -> None:
    """Say whether the local node runs, where, and its health (JSON)."""
    info = local_es.status(data_dir)
    click.echo(json.dumps(info, indent=2))
    sys.exit(0 if info["running"] else 3)


@main.command("init")
def init() -> None:
    """Apply the index templates (idempotent)."""
    from app.errors import AuditlogError

    try:
        names = _store().apply_templates()
    except AuditlogError as exc:
        _die(exc.message)
    click.echo(f"index templates in place: {', '.join(names)}")


@main.command("config")
def show_config() -> None:
    """Print the configuration table (Markdown)."""
    click.echo(settings.markdown_table())


@main.command("demo")
@click.option("--count", default=3000, show_default=True, help="How many events.")
@click.option("--if-empty", is_flag=True, help="Only when the store holds no events.")
def demo(count: int, if_empty: bool) -> None:
    """Load realistic demo events (several namespaces, users, actions, targets)."""
    click.echo(load_demo(count, if_empty))


def load_demo(count: int, if_empty: bool) -> str:
    from app.demo import demo_events
    from app.ingest import ingest

    store = _store()
    if if_empty:
        existing = store.client.count(index=store.pattern, ignore_unavailable=True,
                                      allow_no_indices=True)["count"]
        if existing:
            return f"store holds {existing} events; no demo events loaded"
    by_namespace: dict[str, list[Any]] = defaultdict(list)
    for namespace, event in demo_events(count):
        by_namespace[namespace].append(event)
    created = 0
    for namespace, events in by_namespace.items():
        created += ingest(store, namespace, events, refresh="wait_for").created
    return f"loaded {created} demo events into {', '.join(sorted(by_namespace))}"


def _gunicorn(host: str, port: int, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    # Every worker must sign and verify scroll tokens with the same secret.
    os.environ.setdefault("AUDITLOG_SECRET", secrets.token_urlsafe(32))

    from app import create_app

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", 120)
            self.cfg.set("accesslog", None)

        def load(self):
            return create_app()

    _Server().run()


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--threads", default=8, show_default=True, help="Threads per worker.")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the API under gunicorn."""
    _gunicorn(host, port, workers, threads)


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
@click.option("--workers", default=2, show_default=True)
def run(host: str, port: int, workers: int) -> None:
    """Everything `make run` does: node, templates, demo data and key, then serve."""
    if not os.environ.get("ELASTICSEARCH_URL"):
        try:
            state, _ = local_es.start()
        except local_es.LocalNodeError as exc:
            _die(str(exc))
        click.echo(f"Elasticsearch {state.version} at {state.url}")
    from app.errors import AuditlogError

    try:
        _store().apply_templates()
        click.echo(load_demo(3000, if_empty=True))
    except AuditlogError as exc:
        _die(exc.message)
    key = os.environ.get("AUDITLOG_ADMIN_KEY") or secrets.token_urlsafe(24)
    os.environ["AUDITLOG_ADMIN_KEY"] = key
    base = f"http://{host}:{port}"
    click.echo(f"""
Demo key (admin, every namespace): {key}

  curl -s {base}/readyz
  curl -s -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\
       -d '{{"time": "2024-05-01T12:00:00.123456Z", "action": "login", "actor": {{"id": "u1"}}}}' \\
       '{base}/api/v1/namespaces/demo/events?refresh=wait_for'
  curl -s -H 'Authorization: Bearer {key}' {base}/api/v1/namespaces/demo/events/<id>

Serving on {base} (Ctrl-C stops the service; `auditlog elasticsearch stop` stops the node)
""")
    _gunicorn(host, port, workers, 8)


if __name__ == "__main__":
    main()
