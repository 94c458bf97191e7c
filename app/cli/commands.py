"""The ``auditlog`` command line (DESIGN §9)."""

from __future__ import annotations

import gc
import json
import os
import secrets
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import click

from app import config as settings
from app.cli.data import export_command, ingest_command, retention_group
from app.cli.follow import follow_command
from app.cli.integrity import holds_group, verify_command, verify_export_command
from app.observe import memory
from app.observe.lifecycle import stop_on_sigterm
from app.store import local_node as local_es


def _die(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _store():
    from app.store.client import make_client
    from app.store.events import EventStore

    values = settings.from_environment()
    return EventStore(make_client(values), values["AUDITLOG_INDEX_PREFIX"])


def _apply_templates(store) -> list[str]:
    from app.store.templates import apply_templates

    return apply_templates(store.client, store.prefix)


@click.group()
def main() -> None:
    """auditlog: audit-log search service over Elasticsearch."""


@main.group("elasticsearch")
def elasticsearch_group() -> None:
    """Manage the local single-node Elasticsearch (used when ELASTICSEARCH_URL is unset)."""


NODES_HELP = ("Nodes: 1 is the single node; more start a local cluster of that many processes "
              "(folders node-0, node-1, ... under the data folder, default "
              "<AUDITLOG_DATA_DIR>-cluster), each index with one replica.")


def _cluster_dir(data_dir: Path | None) -> Path:
    return data_dir or local_es.default_data_dir().with_name(
        local_es.default_data_dir().name + "-cluster")


@elasticsearch_group.command("start")
@click.option("--port", type=int, default=None, help="HTTP port (default 9200, or a free one).")
@click.option("--heap", default="1g", show_default=True, help="JVM heap size (per node).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Folder for the distribution, data, logs and pid (AUDITLOG_DATA_DIR).")
@click.option("--nodes", type=click.IntRange(1, 9), default=1, show_default=True,
              help=NODES_HELP)
def es_start(port: int | None, heap: str, data_dir: Path | None, nodes: int) -> None:
    """Install (once) and start the local node(s); wait until yellow or green."""
    try:
        if nodes > 1:
            members = local_es.start_cluster(_cluster_dir(data_dir), nodes, heap=heap)
            urls = ",".join(state.url for state, _ in members)
            click.echo(f"Elasticsearch cluster of {nodes} nodes at {urls}\n"
                       f"use it with ELASTICSEARCH_URL={urls}")
            return
        state, started = local_es.start(data_dir=data_dir, port=port, heap=heap)
    except local_es.LocalNodeError as exc:
        _die(str(exc))
    verb = "started" if started else "already running"
    click.echo(f"Elasticsearch {state.version} {verb} at {state.url} (pid {state.pid})")


@elasticsearch_group.command("stop")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
@click.option("--nodes", type=click.IntRange(1, 9), default=1, show_default=True,
              help="Stop a local cluster of that many nodes (see start).")
def es_stop(data_dir: Path | None, nodes: int) -> None:
    """Stop the local node (or cluster) started from this data folder."""
    if nodes > 1:
        stopped = [local_es.stop(d) for d in local_es.cluster_node_dirs(_cluster_dir(data_dir),
                                                                      nodes)]
        click.echo(f"stopped {sum(stopped)} of {nodes} nodes")
        return
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
        store = _store()
        names = _apply_templates(store)
    except AuditlogError as exc:
        _die(exc.message)
    click.echo(f"index templates in place: {', '.join(names)}")


def _key_store():
    from app.store.keys import KeyStore

    store = _store()
    return store, KeyStore(store.client, store.prefix, cache_ttl=0)


def _expiry(ctx: click.Context, param: click.Parameter, value: str | None):
    import time

    from app.model.timestamps import TimestampError, parse_timestamp

    if value is None:
        return None
    try:
        parsed = parse_timestamp(value)
    except TimestampError as exc:
        raise click.BadParameter(str(exc)) from None
    if parsed[0] <= time.time_ns():
        raise click.BadParameter("must be in the future")
    return parsed


@main.group("keys")
def keys_group() -> None:
    """Create, list and revoke API keys (stored in <prefix>-keys, secrets only as hashes)."""


@keys_group.command("create")
@click.option("--namespace", "namespaces", multiple=True, help="A namespace the key may use "
              "(repeat for several; admin keys use every namespace).")
@click.option("--role", type=click.Choice(["reader", "writer", "admin"]), required=True)
@click.option("--actor-id", default=None, help="Who acts through the key (actor.id in the "
              "self-audit trail).")
@click.option("--name", default="", help="A name for people (default: role and namespaces).")
@click.option("--expires-at", default=None, callback=_expiry, help="RFC 3339 expiry.")
@click.option("--json", "as_json", is_flag=True, help="Print {id, secret, ...} as JSON.")
def keys_create(namespaces: tuple[str, ...], role: str, actor_id: str | None, name: str,
                expires_at: tuple[int, str] | None, as_json: bool) -> None:
    """Create a key and print its secret (shown this once)."""
    from app.audit.notes import AuditNote, write_now
    from app.errors import AuditlogError

    name = name or f"{role} {','.join(namespaces) or 'all'}"
    try:
        store, keys = _key_store()
        _apply_templates(store)
        new = keys.create(name, role, namespaces, actor_id=actor_id, expires_at=expires_at)
        write_now(store, AuditNote("audit.key.create", new.key.id, target_kind="api_key",
                                   details={"name": name, "role": role,
                                            "namespaces": list(namespaces)}))
    except AuditlogError as exc:
        _die(exc.message)
    if as_json:
        click.echo(json.dumps(new.as_dict()))
        return
    click.echo(f"key {new.key.id} ({role}; namespaces: {', '.join(new.key.namespaces) or 'all'})")
    click.echo(f"secret (shown once): {new.secret}")


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def keys_list(as_json: bool) -> None:
    """List every key (never a secret)."""
    from app.errors import AuditlogError

    try:
        listed = [key.public() for key in _key_store()[1].list()]
    except AuditlogError as exc:
        _die(exc.message)
    if as_json:
        click.echo(json.dumps(listed))
        return
    for key in listed:
        state = "revoked" if key["revoked"] else f"expires {key['expires_at'] or 'never'}"
        click.echo(f"{key['id']}  {key['role']:<6}  {','.join(key['namespaces']) or '*':<24}  "
                   f"{state:<36}  {key['name']}")


@keys_group.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key; it stops working within AUDITLOG_KEY_CACHE_TTL seconds."""
    from app.audit.notes import AuditNote, write_now
    from app.errors import AuditlogError

    try:
        store, keys = _key_store()
        key = keys.revoke(key_id)
        if key is not None:
            write_now(store, AuditNote("audit.key.revoke", key_id, target_kind="api_key"))
    except AuditlogError as exc:
        _die(exc.message)
    if key is None:
        _die(f"no API key {key_id!r}")
    click.echo(f"revoked {key_id}")


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
    from app.cli.demo import demo_events
    from app.engine.ingest import ingest

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


def _worker_started(worker: Any) -> None:
    """gunicorn's ``post_worker_init``: in each worker, once the app is loaded."""
    # Follow streams end at SIGTERM instead of holding a restart for the graceful
    # timeout; their clients resume from their cursors.
    stop_on_sigterm()
    memory.trim_every(worker.wsgi.config["AUDITLOG_MALLOC_TRIM_S"])


def _gunicorn(host: str, port: int, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    # Every worker must sign and verify scroll tokens with the same secret.
    os.environ.setdefault("AUDITLOG_SECRET", secrets.token_urlsafe(32))
    from app.observe import multiprocess as multiprocess_metrics

    multiprocess_metrics.prepare(workers)  # before prometheus_client is imported

    from app import create_app

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", 120)
            self.cfg.set("accesslog", None)  # app.telemetry logs each request as JSON
            self.cfg.set("child_exit", multiprocess_metrics.child_exit)
            self.cfg.set("post_worker_init", _worker_started)

        def load(self):
            app = create_app()
            # Runs in each worker: what exists now (modules, the app) lives as long as the
            # worker, so the cyclic GC stops rescanning it when a request's thousands of
            # fresh objects (an ingest batch, a page of hits) trigger a collection.
            gc.freeze()
            return app

    _Server().run()


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--threads", default=8, show_default=True,
              help="Threads per worker: requests served at once by each worker; an open follow "
                   "stream or a waiting long poll holds one.")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the API under gunicorn."""
    _gunicorn(host, port, workers, threads)


DEMO_KEY_NAME = "demo (auditlog run)"


def demo_key() -> str:
    """A fresh writer key for the demo namespaces; earlier demo keys are revoked."""
    from app.cli.demo import NAMESPACES

    store, keys = _key_store()
    _apply_templates(store)
    for key in keys.list():
        if key.name == DEMO_KEY_NAME and not key.revoked:
            keys.revoke(key.id)
    return keys.create(DEMO_KEY_NAME, "writer", NAMESPACES).secret


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
@click.option("--workers", default=2, show_default=True)
def run(host: str, port: int, workers: int) -> None:
    """Everything `make run` does: node, templates, demo data and key, then serve."""
    from app.observe import multiprocess as multiprocess_metrics

    # Loading demo data imports prometheus_client, which must see the folder first.
    multiprocess_metrics.prepare(workers)
    if not os.environ.get("ELASTICSEARCH_URL"):
        try:
            state, _ = local_es.start()
        except local_es.LocalNodeError as exc:
            _die(str(exc))
        click.echo(f"Elasticsearch {state.version} at {state.url}")
    from app.cli.demo import NAMESPACES
    from app.errors import AuditlogError

    try:
        store = _store()
        _apply_templates(store)
        click.echo(load_demo(3000, if_empty=True))
        key = demo_key()
    except AuditlogError as exc:
        _die(exc.message)
    base = f"http://{host}:{port}"
    admin = ("AUDITLOG_ADMIN_KEY is the bootstrap admin key" if os.environ.get(
        "AUDITLOG_ADMIN_KEY") else "set AUDITLOG_ADMIN_KEY for a bootstrap admin key")
    click.echo(f"""
Demo key (writer; namespaces {', '.join(NAMESPACES)}): {key}
({admin}; more keys: `auditlog keys create --namespace NS --role reader`)

The console: open {base}/ and sign in with the key above.

  curl -s {base}/readyz
  curl -s -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\
       -d '{{"query": "{{action=\\"login\\"}}", "limit": 5}}' \\
       {base}/api/v1/namespaces/demo/events/search
  curl -s -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\
       -d '{{"time": "2024-05-01T12:00:00.123456Z", "action": "login", "actor": {{"id": "u1"}}}}' \\
       '{base}/api/v1/namespaces/demo/events?refresh=wait_for'
  curl -s -H 'Authorization: Bearer {key}' {base}/api/v1/namespaces/demo/events/<id>

Serving on {base} (Ctrl-C stops the service; `auditlog elasticsearch stop` stops the node)
""")
    _gunicorn(host, port, workers, 8)


main.add_command(ingest_command)
main.add_command(export_command)
main.add_command(retention_group)
main.add_command(follow_command)
main.add_command(holds_group)
main.add_command(verify_export_command)
main.add_command(verify_command)

if __name__ == "__main__":
    main()
