"""``auditlog follow``: the follow feed on stdout, a ready SIEM connector (DESIGN §10).

It long-polls ``/api/v1/namespaces/{ns}/events/follow`` and writes each event
as one NDJSON line to stdout; after each batch is written (and flushed) the
cursor is saved to ``--cursor-file`` atomically (a temporary file renamed over
it), and the next run resumes from it (``--from`` applies only when there is
no cursor file yet). A kill between writing a batch and saving its cursor
repeats that batch at most; nothing is skipped. 429 and 503 answers are
retried after their Retry-After (else with backoff), and so is a service that
cannot be reached (a restart). SIGINT and SIGTERM stop it cleanly: a batch
being written is finished and its cursor saved; a request being waited on
is abandoned.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote

import click
import orjson

from app.cli.service_client import ServiceClient, ServiceError, error_message

WAIT_S = 20
LIMIT = 500


class _Stop(Exception):
    """A stop signal arrived while waiting on the service."""


class _Stopper:
    """Turns SIGINT/SIGTERM into a clean stop: at once while waiting, else after the batch."""

    def __init__(self) -> None:
        self.stopping = False
        self.waiting = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        if self.waiting:
            raise _Stop()

    def install(self) -> None:
        signal.signal(signal.SIGINT, self)
        signal.signal(signal.SIGTERM, self)


def read_cursor(path: Path | None) -> str | None:
    """The cursor saved in ``path``, or None when there is none."""
    if path is None:
        return None
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    return text or None


def save_cursor(path: Path, cursor: str) -> None:
    """Write ``cursor`` to ``path`` atomically (a synced temporary file renamed over it)."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(cursor + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _start_params(start: str | None) -> dict[str, Any]:
    if start is None:
        return {}
    if start == "beginning":
        return {"from": "beginning"}
    return {"start_time": start}


@click.command("follow")
@click.argument("namespace")
@click.option("--url", envvar="AUDITLOG_URL", default="http://127.0.0.1:8080",
              show_default=True, help="The service (env AUDITLOG_URL).")
@click.option("--key", envvar="AUDITLOG_KEY", required=True, help="API key (env AUDITLOG_KEY).")
@click.option("--query", default="", help="Label-matcher query the events must match.")
@click.option("--from", "start", default=None, metavar="beginning|TIME",
              help="Where to start without a cursor file: `beginning`, or a time (RFC 3339 or "
                   "unix seconds) of ingestion; default: now.")
@click.option("--cursor-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Resume from this file and save the cursor to it after each batch.")
@click.option("--limit", default=LIMIT, show_default=True, type=click.IntRange(1, 500),
              help="Events per batch.")
@click.option("--retries", default=1000, show_default=True, type=click.IntRange(0),
              help="Retries of one request answered 429/503 or not answered.")
def follow_command(namespace: str, url: str, key: str, query: str, start: str | None,
                   cursor_file: Path | None, limit: int, retries: int) -> None:
    """Print every new event of NAMESPACE as NDJSON, forever (Ctrl-C stops)."""
    stopper = _Stopper()
    stopper.install()
    client = ServiceClient(url, key, retries=retries, timeout=WAIT_S + 30)
    cursor = read_cursor(cursor_file)
    path = f"/api/v1/namespaces/{quote(namespace, safe='')}/events/follow"
    out = sys.stdout.buffer
    try:
        while not stopper.stopping:
            body: dict[str, Any] = {"query": query, "limit": limit, "wait": WAIT_S}
            body.update({"cursor": cursor} if cursor else _start_params(start))
            stopper.waiting = True
            try:
                if stopper.stopping:
                    break
                response = client.request("POST", path, json=body)
            finally:
                stopper.waiting = False
            if response.status_code != 200:
                raise ServiceError(error_message(response))
            answer = response.json()
            out.write(b"".join(orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE)
                               for event in answer["events"]))
            out.flush()
            cursor = answer["cursor"]
            if cursor_file is not None:
                save_cursor(cursor_file, cursor)
    except _Stop:
        pass
    except ServiceError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(0)  # the reader of stdout went away: the cursor is that of the last batch
    finally:
        client.close()
