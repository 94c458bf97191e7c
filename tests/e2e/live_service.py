"""A real ``auditlog serve`` (gunicorn) in a subprocess, for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.conftest import signing_key_file

BIN = Path(sys.executable).parent / "auditlog"


def free_port() -> int:
    """A TCP port free on the loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_service(es_url: str, prefix: str, admin_key: str, workers: int = 2,
                 port: int | None = None, threads: int = 4, log: Path | None = None,
                 **env: str) -> Iterator[str]:
    """Run the service under gunicorn until the block ends; yield its base URL.

    ``port`` (default: a free one) lets a test restart the service where clients expect it;
    ``log``: a file its log (stderr) is appended to, read by the test when it likes.
    """
    with live_process(es_url, prefix, admin_key, workers, port, threads, log,
                      **env) as (url, _):
        yield url


@contextmanager
def live_process(es_url: str, prefix: str, admin_key: str, workers: int = 2,
                 port: int | None = None, threads: int = 4, log: Path | None = None,
                 **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Like ``live_service``, and yield the process too (its stderr is a pipe, unless
    ``log`` is given: the caller reads it, or it is read only when the service does not
    start)."""
    port = port or free_port()
    environ = _environment(es_url, prefix, admin_key, env)
    with (log.open("ab") if log else contextlib.nullcontext(subprocess.PIPE)) as stderr:
        process = subprocess.Popen(
            [str(BIN), "serve", "--port", str(port), "--workers", str(workers),
             "--threads", str(threads)],
            env=environ, stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or a loaded machine answering slowly
            if process.poll() is not None or time.monotonic() > deadline:
                said = log.read_text()[-2000:] if log else process.stderr.read()
                raise RuntimeError(f"the service did not start: {said!r}")
            time.sleep(0.2)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def _environment(es_url: str, prefix: str, admin_key: str, env: dict[str, str]) -> dict[str, str]:
    environ = {**os.environ, "ELASTICSEARCH_URL": es_url, "AUDITLOG_INDEX_PREFIX": prefix,
               "AUDITLOG_ADMIN_KEY": admin_key, "AUDITLOG_RATE_LIMIT": "100000/second",
               "AUDITLOG_EXPORT_RATE_LIMIT": "100000/second", "AUDITLOG_LOG_LEVEL": "WARNING",
               "AUDITLOG_CHECKPOINT_INTERVAL": "0",  # tests that seal turn it on
               "AUDITLOG_SIGNING_KEY": signing_key_file(), **env}
    environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return environ


@dataclass
class Served:
    """A running ``auditlog serve``: its URL, its gunicorn master and its stderr file."""

    url: str
    process: subprocess.Popen[bytes]
    stderr: Path

    def stderr_text(self) -> str:
        """Everything the service wrote to stderr so far."""
        return self.stderr.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM the master and wait; return its exit code (SIGKILL after ``timeout``)."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def start_service(es_url: str, prefix: str, admin_key: str, workers: int = 2,
                  port: int | None = None, threads: int = 4, **env: str) -> Served:
    """Start the service under gunicorn, its stderr in a file (a chatty service never blocks
    on a full pipe), and wait until it answers /healthz; ``port`` (default: a free one) lets
    a test restart the service where clients expect it."""
    port = port or free_port()
    environ = _environment(es_url, prefix, admin_key, env)
    handle, name = tempfile.mkstemp(prefix="auditlog-serve-", suffix=".stderr")
    with os.fdopen(handle, "wb") as stderr:
        process = subprocess.Popen(
            [str(BIN), "serve", "--port", str(port), "--workers", str(workers),
             "--threads", str(threads)],
            env=environ, stdout=subprocess.DEVNULL, stderr=stderr)
    served = Served(f"http://127.0.0.1:{port}", process, Path(name))
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{served.url}/healthz", timeout=2).status_code == 200:
                return served
        except requests.RequestException:  # not listening yet, or slow on a busy machine
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            served.stop()
            raise RuntimeError(f"the service did not start: {served.stderr_text()!r}")
        time.sleep(0.2)


@contextmanager
def serving(es_url: str, prefix: str, admin_key: str, workers: int = 2,
            port: int | None = None, threads: int = 4, **env: str) -> Iterator[Served]:
    """The service running until the block ends (then stopped, its stderr file removed)."""
    served = start_service(es_url, prefix, admin_key, workers, port, threads, **env)
    try:
        yield served
    finally:
        served.stop()
        served.stderr.unlink(missing_ok=True)
