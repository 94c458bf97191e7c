"""The data commands of ``auditlog``: ``ingest``, ``export`` (over HTTP) and ``retention``.

``ingest`` and ``export`` talk to a running service (``--url``, key from
``--key`` or ``AUDITLOG_KEY``); progress goes to stderr (tqdm), results to stdout.
``retention`` talks to Elasticsearch directly, like ``init``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO, Any

import click
from tqdm import tqdm

from app.cli.service_client import ServiceClient, ServiceError

DEFAULT_URL = "http://127.0.0.1:8080"

_url = click.option("--url", envvar="AUDITLOG_URL", default=DEFAULT_URL, show_default=True,
                    help="The service (env AUDITLOG_URL).")
_key = click.option("--key", envvar="AUDITLOG_KEY", required=True,
                    help="API key (env AUDITLOG_KEY).")
_namespace = click.option("--namespace", "-n", required=True, help="Namespace of the events.")


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.command("ingest")
@click.argument("file", type=click.File("rb"))
@_namespace
@_url
@_key
@click.option("--batch-size", default=2_000, show_default=True,
              type=click.IntRange(1, 10_000), help="Events per request.")
@click.option("--concurrency", default=2, show_default=True, type=click.IntRange(1, 16),
              help="Requests in flight.")
@click.option("--retries", default=8, show_default=True, type=click.IntRange(0, 100),
              help="Retries of a request answered 429/503 or not answered.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def ingest_command(file: IO[bytes], namespace: str, url: str, key: str, batch_size: int,
                   concurrency: int, retries: int, as_json: bool, quiet: bool) -> None:
    """Send the events of FILE (NDJSON or a JSON array; - for stdin) to the service.

    Re-running after an interruption stores nothing twice: events already
    stored are counted as duplicates (ids are derived from the content when
    the events carry none). Exit status 1 when some events failed.
    """
    from app.cli.bulk_ingest import ingest_stream

    client = ServiceClient(url, key, retries=retries)
    started = time.monotonic()
    bar = tqdm(unit="ev", unit_scale=True, file=sys.stderr, disable=quiet, desc="ingest",
               total=_ndjson_lines(file))

    def progress(totals: Any) -> None:
        bar.update(totals.sent - bar.n)
        bar.set_postfix_str(f"created={totals.created} duplicates={totals.duplicates} "
                            f"failed={totals.failed}", refresh=False)

    try:
        totals = ingest_stream(client, namespace, file, batch_size=batch_size,
                               concurrency=concurrency, on_progress=progress)
    except ServiceError as exc:
        bar.close()
        _fail(str(exc))
    except ValueError as exc:
        bar.close()
        _fail(f"cannot read the input: {exc}")
    except KeyboardInterrupt:
        bar.close()
        _fail("interrupted; run the same command again: stored events count as duplicates",
              130)
    bar.close()
    elapsed = time.monotonic() - started
    summary = {**totals.as_dict(), "seconds": round(elapsed, 3),
               "events_per_second": round(totals.sent / elapsed, 1) if elapsed else None,
               "retried_requests": client.retried}
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"created {totals.created}, duplicates {totals.duplicates}, "
                   f"failed {totals.failed} ({totals.sent} events in {elapsed:.1f} s, "
                   f"{summary['events_per_second']} events/s"
                   + (f", {client.retried} requests retried)" if client.retried else ")"))
        for error in totals.errors:
            click.echo(f"  event {error['index']}: {error['reason']}", err=True)
    client.close()
    sys.exit(1 if totals.failed else 0)


def _ndjson_lines(file: IO[bytes]) -> int | None:
    """The number of non-empty lines of a seekable NDJSON file (the bar's total)."""
    try:
        if not file.seekable():
            return None
        start = file.tell()
        head = file.read(64).lstrip()
        if head.startswith(b"["):
            file.seek(start)
            return None
        file.seek(start)
        count = sum(1 for line in file if line.strip())
        file.seek(start)
        return count
    except (OSError, ValueError):
        return None


@click.command("export")
@_namespace
@_url
@_key
@click.option("--query", "-q", default="", help="Matcher query, e.g. '{action=\"login\"}'.")
@click.option("--start-time", default=None, help="Unix seconds or RFC 3339 (default: no bound).")
@click.option("--end-time", default=None, help="Unix seconds or RFC 3339 (default: no bound).")
@click.option("--format", "fmt", type=click.Choice(["ndjson", "csv"]), default="ndjson",
              show_default=True)
@click.option("--sort", type=click.Choice(["ASCENDING", "DESCENDING"]), default="ASCENDING",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output file (default: stdout); gets the signed manifest (an NDJSON file "
                   "as its last line, a CSV file as FILE.manifest.json).")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted export into --output after its last event.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def export_command(namespace: str, url: str, key: str, query: str, start_time: str | None,
                   end_time: str | None, fmt: str, sort: str, output: Path | None,
                   resume: bool, quiet: bool) -> None:
    """Export every matching event (all time unless --start-time/--end-time) to a file.

    With --resume, give the same options as the interrupted run: the file's
    last complete event is found and the export continues strictly after it.

    A complete export to --output carries the service's signed manifest (query,
    window, count, SHA-256 of the body): `auditlog verify-export FILE` checks it.
    A resumed export has none.
    """
    from app.cli.bulk_export import export_to, is_broken_stream, resume_point
    from app.engine.manifest import locate, move_to_sidecar

    params: dict[str, Any] = {"query": query, "start_time": start_time, "end_time": end_time,
                              "format": fmt, "sort": sort}
    skip_header = False
    already = 0
    if resume and output is None:
        _fail("--resume needs --output FILE")
    if resume and output is not None and output.exists() and output.stat().st_size:
        if locate(output) is not None:
            _fail(f"{output} is complete: it has its signed manifest (check it with "
                  "`auditlog verify-export`)")
        try:
            point = resume_point(output, fmt == "csv")
        except (ValueError, KeyError, UnicodeDecodeError) as exc:
            _fail(f"cannot resume from {output}: its last record is not an event ({exc})")
        with output.open("r+b") as handle:
            handle.truncate(point.offset)  # drop a record cut short
        params.update(after_time=point.after_time, after_id=point.after_id)
        skip_header = fmt == "csv" and point.offset > 0
        already = point.records
    signed = output is not None and "after_time" not in params
    if signed:
        params["manifest"] = "true"
    elif resume:
        click.echo("note: a resumed export carries no signed manifest", err=True)
    client = ServiceClient(url, key)
    bar = tqdm(unit="ev", unit_scale=True, file=sys.stderr, disable=quiet, desc="export",
               initial=already)
    out: IO[bytes]
    out = (output.open("ab" if resume else "wb") if output is not None
           else sys.stdout.buffer)
    try:
        written = export_to(client, namespace, params, out, skip_header=skip_header,
                            on_records=bar.update)
    except ServiceError as exc:
        bar.close()
        _fail(str(exc))
    except Exception as exc:
        bar.close()
        if is_broken_stream(exc):
            hint = " (rerun with --resume)" if output is not None else ""
            _fail(f"the export stream broke after {bar.n} events{hint}: {exc}")
        raise
    except KeyboardInterrupt:
        bar.close()
        _fail(f"interrupted after {bar.n} events"
              + (" (rerun with --resume)" if output is not None else ""), 130)
    finally:
        if output is not None:
            out.close()
        client.close()
    bar.close()
    where = str(output) if output is not None else "stdout"
    if signed and output is not None:
        written -= 1  # the manifest line
        if fmt == "csv":
            where += f" (manifest in {move_to_sidecar(output).name})"
        else:
            where += " (signed manifest on the last line)"
    click.echo(f"exported {written} events to {where}"
               + (f" ({already + written} in the file)" if already else ""), err=True)


@click.group("retention")
def retention_group() -> None:
    """Delete monthly indices older than the retention age."""


@retention_group.command("apply")
@click.option("--older-than", default=None,
              help="Age such as 90d or 2160h (default: AUDITLOG_RETENTION).")
@click.option("--yes", is_flag=True, help="Delete; without it, only print what would go.")
def retention_apply(older_than: str | None, yes: bool) -> None:
    """Delete whole monthly event indices whose month ended before now minus the age."""
    from app import config as settings
    from app.errors import AuditlogError
    from app.model.timestamps import duration_ms
    from app.store import retention
    from app.store.client import make_client
    from app.store.holds import HoldStore

    values = settings.from_environment()
    age = older_than or values.get("AUDITLOG_RETENTION")
    if not age:
        _fail("give --older-than (e.g. 90d) or set AUDITLOG_RETENTION")
    age_ms = duration_ms(age)
    if age_ms is None:
        _fail(f"--older-than {age!r} is not a duration such as 90d, 12h")
    cutoff_ns = time.time_ns() - age_ms * 1_000_000
    try:
        client = make_client(values)
        prefix = values["AUDITLOG_INDEX_PREFIX"]
        indices = retention.monthly_indices(client, prefix)
        old = retention.expired(indices, cutoff_ns)
        keeping = retention.held(old, HoldStore(client, prefix).list())
        for name, holds in keeping.items():
            named = ", ".join(f"{h.id} ({h.namespace}: {h.reason})" for h in holds)
            click.echo(f"kept {name}: under legal hold {named}")
        old = [index for index in old if index.name not in keeping]
        if not old:
            click.echo(f"no monthly index is older than {age} and free of holds "
                       f"({len(indices)} kept)")
            return
        if not yes:
            click.echo(f"would delete {len(old)} of {len(indices)} monthly indices "
                       f"(older than {age}; add --yes to delete):")
        else:
            retention.delete(client, old)
            click.echo(f"deleted {len(old)} of {len(indices)} monthly indices:")
        for index in old:
            click.echo(f"  {index.name}")
    except AuditlogError as exc:
        _fail(exc.message)
