"""The integrity commands of ``auditlog``: ``verify-export``, ``holds`` and ``verify``.

``holds`` talks to a running service (``--url``, admin key), so every change
is recorded in the service's own audit trail. ``verify-export`` reads only
the file (and the service's public key when this machine has it).

``verify`` imports the Elasticsearch side when it runs, as the data commands
do: importing this module (``auditlog serve`` does) must not import
prometheus_client before its multi-process mode is set up
(``app.observe.multiprocess.prepare``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import click
from tqdm import tqdm

from app import config as settings
from app.cli.service_client import ServiceClient, ServiceError, error_message
from app.engine.manifest import verify_export
from app.engine.signing import PublicKey, SigningKeyError, load_public_key
from app.engine.witness import witnessed
from app.errors import AuditlogError
from app.model.timestamps import TimestampError, parse_timestamp
from app.store import local_node

DEFAULT_URL = "http://127.0.0.1:8080"
# Exit statuses of the verifiers (DESIGN §13).
INTACT, TAMPERED, USAGE = 0, 1, 2

_url = click.option("--url", envvar="AUDITLOG_URL", default=DEFAULT_URL, show_default=True,
                    help="The service (env AUDITLOG_URL).")
_key = click.option("--key", envvar="AUDITLOG_KEY", required=True,
                    help="An admin API key (env AUDITLOG_KEY).")


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def trusted_key(public_key_file: Path | None) -> PublicKey | None:
    """The key signatures must be from: ``--public-key``, else the service's own key when
    this machine has it (``AUDITLOG_SIGNING_KEY`` or the data folder), else None."""
    if public_key_file is not None:
        try:
            return PublicKey.from_text(public_key_file.read_text())
        except (OSError, ValueError) as exc:
            _fail(f"--public-key {public_key_file}: {exc}", USAGE)
    try:
        values = settings.from_environment()
    except ValueError as exc:
        _fail(str(exc), USAGE)
    try:
        return load_public_key(values.get("AUDITLOG_SIGNING_KEY"), local_node.default_data_dir())
    except SigningKeyError:
        return None


_public_key = click.option(
    "--public-key", "public_key_file", type=click.Path(dir_okay=False, path_type=Path),
    default=None, help="The service's public key (PEM or base64, as GET "
                       "/api/v1/integrity/public-key gives); default: the key of this "
                       "machine's service configuration, when readable.")


@click.command("verify-export")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_public_key
def verify_export_command(file: Path, public_key_file: Path | None) -> None:
    """Check FILE, written by `auditlog export -o FILE`, against its signed manifest.

    Exit status 0 when the file is intact, 1 when it was changed (or the
    manifest is not the service's), 2 when FILE cannot be read.
    """
    trusted = trusted_key(public_key_file)
    try:
        check = verify_export(file, trusted)
    except OSError as exc:
        _fail(f"cannot read {file}: {exc}", USAGE)
    if not check.intact:
        for problem in check.problems:
            click.echo(f"TAMPERED: {problem}")
        sys.exit(TAMPERED)
    manifest = check.manifest or {}
    window = manifest.get("window") or {}
    click.echo(f"OK: {file.name} holds the {manifest.get('count')} events of namespace "
               f"{manifest.get('namespace')!r} exported at {manifest.get('exported_at')} "
               f"(query {manifest.get('query')!r}, window {window.get('start_time')} .. "
               f"{window.get('end_time')}), SHA-256 {manifest.get('body_sha256')}")
    sealed = manifest.get("checkpoints") or []
    if sealed:
        click.echo(f"sealed by checkpoints {sealed[0]['seq']}..{sealed[-1]['seq']}; "
                   f"{manifest.get('unsealed', 0)} events not sealed yet at export time")
    if check.key_trusted is None:
        click.echo(f"signed by public key {manifest.get('public_key')}: compare it with the "
                   "service's (GET /api/v1/integrity/public-key) or pass --public-key")
    else:
        click.echo("signed by the service's key")


@click.command("verify")
@click.argument("namespace")
@click.option("--since", default=None,
              help="Unix seconds or RFC 3339: only intervals ingested from then on.")
@click.option("--until", default=None,
              help="Unix seconds or RFC 3339: only intervals ingested until then.")
@click.option("--readers", default=4, show_default=True, type=click.IntRange(1, 32),
              help="Intervals read from Elasticsearch at once.")
@click.option("--witness", "witness_file", type=click.File("rb"), default=None,
              help="The service's log (JSON lines) kept outside: each checkpoint line of "
                   "NAMESPACE must be in Elasticsearch, unchanged.")
@_public_key
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def verify_command(namespace: str, since: str | None, until: str | None, readers: int,
                   witness_file: IO[bytes] | None, public_key_file: Path | None,
                   quiet: bool) -> None:
    """Recompute NAMESPACE's sealed intervals from Elasticsearch and compare.

    Reads Elasticsearch directly with the service's configuration (no API key).
    Prints OK, or each event changed, deleted or inserted after sealing and any
    break in the checkpoint chain. Exit status 0 when intact, 1 when tampering
    was found, 2 on a usage or connection error.
    """
    from app.engine.stream_reader import StreamReader
    from app.engine.verifier import Verifier
    from app.store.checkpoints import CheckpointStore
    from app.store.client import make_client

    key = trusted_key(public_key_file)
    if key is None:
        _fail("no public key: set AUDITLOG_SIGNING_KEY as the service has it, or pass "
              "--public-key (GET /api/v1/integrity/public-key)", USAGE)
    bounds = []
    for name, value in (("--since", since), ("--until", until)):
        try:
            bounds.append(None if value is None else parse_timestamp(value)[0])
        except TimestampError as exc:
            _fail(f"{name}: {exc}", USAGE)
    witness = None if witness_file is None else witnessed(witness_file, namespace)
    values = settings.from_environment()
    bar = tqdm(unit="ev", unit_scale=True, file=sys.stderr, disable=quiet, desc="verify")
    try:
        client = make_client(values)
        prefix = values["AUDITLOG_INDEX_PREFIX"]
        verifier = Verifier(StreamReader(client, f"{prefix}-events-*"),
                            CheckpointStore(client, prefix), key, readers)

        def planned(total: int) -> None:
            bar.total = total
            bar.refresh()

        report = verifier.verify(namespace, bounds[0], bounds[1], on_events=bar.update,
                                 on_plan=planned, witness=witness)
    except AuditlogError as exc:
        bar.close()
        _fail(exc.message, USAGE)
    bar.close()
    for finding in report.findings:
        click.echo(f"TAMPERED: {finding}")
    unsealed = "" if report.unsealed is None else f"; {report.unsealed} newer events not " \
                                                   "sealed yet"
    summary = (f"{report.checkpoints} checkpoints, {report.events} events of namespace "
               f"{namespace!r}{unsealed}")
    if not report.intact:
        click.echo(f"{len(report.findings)} problems in {summary}")
        sys.exit(TAMPERED)
    if not report.checkpoints:
        click.echo(f"OK: nothing sealed yet in namespace {namespace!r}{unsealed}")
        return
    click.echo(f"OK: {summary} verified")


@click.group("holds")
def holds_group() -> None:
    """Legal holds: retention keeps every month a hold touches (admin key)."""


def _call(url: str, key: str, method: str, path: str, **kwargs: Any) -> Any:
    client = ServiceClient(url, key, retries=2)
    try:
        response = client.request(method, path, **kwargs)
        if response.status_code >= 400:
            _fail(error_message(response), 1)
        return response.json()
    except ServiceError as exc:
        _fail(str(exc), 1)
    finally:
        client.close()


def _describe(hold: dict[str, Any]) -> str:
    return (f"{hold['id']}  {hold['namespace']}  {hold['start_time']} .. "
            f"{hold['end_time'] or '(until released)'}  {hold['reason']}")


@holds_group.command("set")
@click.option("--namespace", "-n", required=True, help="Namespace held.")
@click.option("--start-time", required=True, help="Unix seconds or RFC 3339 (inclusive).")
@click.option("--end-time", default=None,
              help="Unix seconds or RFC 3339 (inclusive; default: until released).")
@click.option("--reason", required=True, help="Why (a case number, a request).")
@click.option("--json", "as_json", is_flag=True, help="Print the hold as JSON.")
@_url
@_key
def holds_set(namespace: str, start_time: str, end_time: str | None, reason: str,
              as_json: bool, url: str, key: str) -> None:
    """Set a legal hold on NAMESPACE's events between the two times."""
    hold = _call(url, key, "POST", "/api/v1/holds", json={
        "namespace": namespace, "start_time": start_time, "end_time": end_time,
        "reason": reason})
    click.echo(json.dumps(hold) if as_json else f"set {_describe(hold)}")


@holds_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the holds as JSON.")
@_url
@_key
def holds_list(as_json: bool, url: str, key: str) -> None:
    """List the legal holds in force."""
    holds = _call(url, key, "GET", "/api/v1/holds")["holds"]
    if as_json:
        click.echo(json.dumps(holds))
        return
    for hold in holds:
        click.echo(_describe(hold))
    if not holds:
        click.echo("no legal holds")


@holds_group.command("release")
@click.argument("hold_id")
@_url
@_key
def holds_release(hold_id: str, url: str, key: str) -> None:
    """Release the legal hold HOLD_ID."""
    hold = _call(url, key, "DELETE", f"/api/v1/holds/{quote(hold_id, safe='')}")
    click.echo(f"released {_describe(hold)}")
