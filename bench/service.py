"""The real service under gunicorn as a subprocess, and an HTTP client for it.

The service runs exactly as ``auditlog serve`` runs it (same module, same
gunicorn settings), pointed at the benchmark's index prefix and Elasticsearch,
with a bootstrap admin key and a fixed scroll secret. Its log goes to a file
whose tail is shown when it fails to start.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import urllib3

ADMIN_KEY = "bench-admin-key-0123456789abcdef"
SECRET = "bench-secret-do-not-use-in-production-0123456789"
# Rate limiting stays on (its per-request cost is part of the service) with a
# budget no benchmark reaches.
RATE_LIMITS = {
    "AUDITLOG_RATE_LIMIT": "1000000/second",
    "AUDITLOG_EXPORT_RATE_LIMIT": "100000/second",
}


class ServiceError(RuntimeError):
    """The service did not start, or answered a benchmark request with an error."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_defaults() -> dict[str, int]:
    """The worker and thread counts ``auditlog serve`` uses when not told otherwise."""
    from app.cli.commands import serve

    return {p.name: p.default for p in serve.params if p.name in ("workers", "threads")}


class Service:
    """A running service process; ``client`` talks to it as the admin key."""

    def __init__(self, url: str, proc: subprocess.Popen[bytes], log_path: Path,
                 workers: int, threads: int, pool_size: int) -> None:
        self.url = url
        self.proc = proc
        self.log_path = log_path
        self.workers = workers
        self.threads = threads
        host, port = url.removeprefix("http://").split(":")
        self.pool = urllib3.HTTPConnectionPool(
            host, int(port), maxsize=pool_size, block=True, retries=False,
            timeout=urllib3.Timeout(connect=10, read=600),
        )
        self.headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        #: Requests sent again because the server had closed their keep-alive connection.
        self.reconnects = 0
        self._reconnects_lock = threading.Lock()

    def send(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None, preload_content: bool = True,
             ) -> urllib3.BaseHTTPResponse:
        """One HTTP exchange on the pool, sent once more (and counted in ``reconnects``) when
        the server closed the kept-alive connection it went out on before answering.

        That race (gunicorn ends an idle connection as the client reuses it) shows as
        ``RemoteDisconnected`` or a reset on a request the server never read; any other
        transport error is raised.
        """
        headers = self.headers if headers is None else headers
        try:
            return self.pool.request(method, path, body=body, headers=headers,
                                     preload_content=preload_content)
        except urllib3.exceptions.ProtocolError as exc:
            if not _closed_keep_alive(exc):
                raise
            with self._reconnects_lock:
                self.reconnects += 1
            return self.pool.request(method, path, body=body, headers=headers,
                                     preload_content=preload_content)

    def request(self, method: str, path: str, body: bytes | None = None,
                content_type: str = "application/json", expect: tuple[int, ...] = (200,),
                ) -> Any:
        """One request; the parsed JSON answer. Raises ServiceError on another status."""
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = content_type
        response = self.send(method, path, body, headers)
        if response.status not in expect:
            raise ServiceError(f"{method} {path}: {response.status} "
                               f"{response.data[:500].decode(errors='replace')}")
        return orjson.loads(response.data)

    def post_json(self, path: str, payload: Any) -> Any:
        """POST a JSON body; the parsed JSON answer."""
        return self.request("POST", path, orjson.dumps(payload))

    def stream_lines(self, path: str, chunk: int = 1 << 16) -> Iterator[bytes]:
        """GET a streamed answer and yield its lines (without the newline)."""
        response = self.send("GET", path, preload_content=False)
        try:
            if response.status != 200:
                raise ServiceError(f"GET {path}: {response.status} "
                                   f"{response.read(500).decode(errors='replace')}")
            rest = b""
            for block in response.stream(chunk):
                lines = (rest + block).split(b"\n")
                rest = lines.pop()
                yield from lines
            if rest:
                yield rest
        finally:
            response.release_conn()

    def worker_pids(self) -> list[int]:
        """The gunicorn workers (children of the master)."""
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _closed_keep_alive(exc: urllib3.exceptions.ProtocolError) -> bool:
    """Whether ``exc`` is the server closing a kept-alive connection before any answer."""
    causes = [*exc.args, exc.__cause__, exc.__context__]
    return any(isinstance(cause, http.client.RemoteDisconnected | ConnectionResetError
                          | BrokenPipeError) for cause in causes)


@contextlib.contextmanager
def running_service(es_url: str, prefix: str, workers: int | None, threads: int | None,
                    pool_size: int = 16, extra_env: dict[str, str] | None = None,
                    ) -> Iterator[Service]:
    """Start ``auditlog serve`` on a free port; stop it (and only it) at the end."""
    defaults = serve_defaults()
    workers = workers or defaults["workers"]
    threads = threads or defaults["threads"]
    port = free_port()
    env = dict(os.environ)
    env.update({
        "ELASTICSEARCH_URL": es_url,
        "AUDITLOG_INDEX_PREFIX": prefix,
        "AUDITLOG_ADMIN_KEY": ADMIN_KEY,
        "AUDITLOG_SECRET": SECRET,
        **RATE_LIMITS,
        **(extra_env or {}),
    })
    log_dir = Path(tempfile.mkdtemp(prefix="auditlog-bench-"))
    log_path = log_dir / "service.log"
    cmd = [sys.executable, "-m", "app.cli.commands", "serve", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers), "--threads", str(threads)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                cwd=Path(__file__).resolve().parent.parent)
    service = Service(f"http://127.0.0.1:{port}", proc, log_path, workers, threads, pool_size)
    try:
        _wait_ready(service)
        yield service
    finally:
        service.pool.close()
        _stop(proc)


def _wait_ready(service: Service, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if service.proc.poll() is not None:
            raise ServiceError(f"the service exited with {service.proc.returncode}:\n"
                               f"{service.log_tail()}")
        try:
            response = service.pool.request("GET", "/readyz", timeout=2.0)
            if response.status == 200:
                return
            last = response.data.decode(errors="replace")
        except urllib3.exceptions.HTTPError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise ServiceError(f"the service was not ready within {timeout:.0f}s ({last}):\n"
                       f"{service.log_tail()}")


def _stop(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM to the gunicorn master we started (it stops its workers), then SIGKILL."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            # The master runs in its own session; its group is ours to end.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
