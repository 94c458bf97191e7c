"""The follow feed against real gunicorn services: exactly once under concurrent ingest, a
restart, two instances, and ``auditlog follow`` resuming after ``kill -9``.

Settle 2 s and overlap 3 s keep the runs short; the index refresh interval is 1 s.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import requests

from tests.conftest import ADMIN_KEY
from tests.e2e.live_service import BIN, free_port, live_service

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}
SECRET = "follow-live-test-secret"
ENV = {"AUDITLOG_FOLLOW_SETTLE": "2", "AUDITLOG_FOLLOW_OVERLAP": "3", "AUDITLOG_SECRET": SECRET,
       "AUDITLOG_FOLLOW_STREAMS_PER_KEY": "16"}
DAY_S = 86_400
RETRYABLE = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class Acknowledged:
    """Ids whose ingest request was answered 200."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.lock = threading.Lock()

    def add(self, ids: list[str]) -> None:
        with self.lock:
            self.ids.update(ids)

    def snapshot(self) -> set[str]:
        with self.lock:
            return set(self.ids)


def writer(url: Callable[[], str], namespace: str, name: str, stop: threading.Event,
           acked: Acknowledged) -> None:
    """Ingest small batches with event times scattered over +-40 days, pausing at random,
    retrying a batch until it is acknowledged (through a restart)."""
    rng = random.Random(name)
    sequence = 0
    while not stop.is_set():
        now = time.time()
        batch = [{"id": f"{name}-{sequence + n}", "time": now + rng.uniform(-40, 40) * DAY_S,
                  "action": rng.choice(("login", "logout", "create"))}
                 for n in range(rng.randint(1, 40))]
        sequence += len(batch)
        while True:
            try:
                response = requests.post(f"{url()}/api/v1/namespaces/{namespace}/events",
                                         json=batch, headers=HEADERS, timeout=30)
                if response.status_code == 200:
                    break
            except RETRYABLE:
                pass
            time.sleep(0.2)
        acked.add([event["id"] for event in batch])
        time.sleep(rng.uniform(0, 0.3))


class Follower(threading.Thread):
    """Collects every id one kind of client receives, reconnecting as clients do."""

    def __init__(self, url: Callable[[], str], namespace: str, mode: str) -> None:
        super().__init__(daemon=True)
        self.url, self.namespace, self.mode = url, namespace, mode
        self.ids: list[str] = []
        self.stop = threading.Event()
        self.rng = random.Random(mode)
        self.reconnects = 0

    def endpoint(self) -> str:
        return f"{self.url()}/api/v1/namespaces/{self.namespace}/events/follow"

    def run(self) -> None:
        cursor: str | None = None
        while not self.stop.is_set():
            try:
                cursor = getattr(self, self.mode)(cursor)
            except RETRYABLE:
                time.sleep(0.2)
            self.reconnects += 1

    def poll(self, cursor: str | None) -> str | None:
        body = {"cursor": cursor} if cursor else {"from": "beginning"}
        response = requests.post(self.endpoint(), json={**body, "wait": 1,
                                                        "limit": self.rng.randint(1, 500)},
                                 headers=HEADERS, timeout=30)
        if response.status_code != 200:
            assert response.status_code in (429, 502, 503), response.text
            time.sleep(0.2)
            return cursor
        self.ids += [event["id"] for event in response.json()["events"]]
        return str(response.json()["cursor"])

    def sse(self, cursor: str | None) -> str | None:
        """One connection, cut after a random number of events; resumes with Last-Event-ID."""
        headers = {**HEADERS, "Accept": "text/event-stream"}
        if cursor:
            headers["Last-Event-ID"] = cursor
        cut_after = self.rng.randint(1, 300)
        with requests.get(self.endpoint(), params={"from": "beginning"}, headers=headers,
                          stream=True, timeout=(5, 5)) as response:
            if response.status_code != 200:
                time.sleep(0.2)
                return cursor
            buffer = b""
            for chunk in response.iter_content(chunk_size=None):
                buffer += chunk
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    fields = dict(line.split(b": ", 1) for line in block.split(b"\n")
                                  if b": " in line and not line.startswith(b":"))
                    if b"data" not in fields:
                        continue
                    self.ids.append(orjson.loads(fields[b"data"])["id"])
                    cursor = fields[b"id"].decode()
                    cut_after -= 1
                    if cut_after == 0 or self.stop.is_set():
                        return cursor
        return cursor

    def ndjson(self, cursor: str | None) -> str | None:
        """One connection; events count once the cursor line after them arrived."""
        params = {"cursor": cursor} if cursor else {"from": "beginning"}
        pending: list[str] = []
        cut_after = self.rng.randint(1, 600)
        with requests.get(self.endpoint(), params={**params, "limit": 50},
                          headers={**HEADERS, "Accept": "application/x-ndjson"}, stream=True,
                          timeout=(5, 15)) as response:
            if response.status_code != 200:
                time.sleep(0.2)
                return cursor
            for line in response.iter_lines():
                if not line:
                    continue
                item = orjson.loads(line)
                if "cursor" in item:
                    self.ids += pending
                    pending = []
                    cursor = item["cursor"]
                    if cut_after <= 0 or self.stop.is_set():
                        return cursor
                else:
                    pending.append(item["id"])
                    cut_after -= 1
        return cursor


def _settle(followers: list[Follower], acked: set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(not acked <= set(f.ids) for f in followers):
        time.sleep(0.5)
    time.sleep(3)  # anything delivered twice would come now
    for follower in followers:
        follower.stop.set()
    for follower in followers:
        follower.join(timeout=30)


def _assert_exactly_once(followers: list[Follower], acked: set[str]) -> None:
    for follower in followers:
        twice = [i for i, n in Counter(follower.ids).items() if n > 1]
        assert not twice, f"{follower.mode} delivered {len(twice)} ids twice: {twice[:5]}"
        missing = acked - set(follower.ids)
        assert not missing, f"{follower.mode} missed {len(missing)}: {sorted(missing)[:5]}"
        assert set(follower.ids) == acked


def test_every_acknowledged_event_exactly_once_through_a_restart(es_url: str,
                                                                 index_prefix: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    acked = Acknowledged()
    stop_writing = threading.Event()
    followers = [Follower(lambda: base, "live", mode) for mode in ("poll", "sse", "ndjson")]
    writers = [threading.Thread(target=writer, args=(lambda: base, "live", f"w{n}",
                                                     stop_writing, acked), daemon=True)
               for n in range(4)]
    with live_service(es_url, index_prefix, ADMIN_KEY, port=port, threads=8, **ENV):
        for thread in (*followers, *writers):
            thread.start()
        time.sleep(3)
    # Down while the clients retry, then up again where they expect it.
    with live_service(es_url, index_prefix, ADMIN_KEY, port=port, threads=8, **ENV):
        time.sleep(3)
        stop_writing.set()
        for thread in writers:
            thread.join(timeout=60)
        final = acked.snapshot()
        assert len(final) > 200
        _settle(followers, final, timeout=40)
    _assert_exactly_once(followers, final)
    assert all(f.reconnects > 1 for f in followers)


def test_a_follower_alternating_between_two_instances(es_url: str, index_prefix: str) -> None:
    acked = Acknowledged()
    stop_writing = threading.Event()
    with (live_service(es_url, index_prefix, ADMIN_KEY, workers=1, **ENV) as one,
          live_service(es_url, index_prefix, ADMIN_KEY, workers=1, **ENV) as two):
        turn = iter(int(n) for n in iter(lambda: time.monotonic_ns() % 2, None))
        pick = [one, two]
        follower = Follower(lambda: pick[next(turn)], "pair", "poll")
        writers = [threading.Thread(target=writer, args=(lambda: pick[next(turn)], "pair",
                                                         f"p{n}", stop_writing, acked),
                                    daemon=True) for n in range(2)]
        for thread in (follower, *writers):
            thread.start()
        time.sleep(4)
        stop_writing.set()
        for thread in writers:
            thread.join(timeout=60)
        final = acked.snapshot()
        _settle([follower], final, timeout=30)
    _assert_exactly_once([follower], final)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def _wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_cli_resumes_from_its_cursor_file_after_kill_9(es_url: str, index_prefix: str,
                                                      tmp_path: Path) -> None:
    cursor_file = tmp_path / "cursor"
    with live_service(es_url, index_prefix, ADMIN_KEY, **ENV) as url:
        def ingest(first: int, count: int) -> None:
            events = [{"id": f"c{n:03}", "time": 1_700_000_000 + n, "action": "login"}
                      for n in range(first, first + count)]
            response = requests.post(f"{url}/api/v1/namespaces/cli/events", json=events,
                                     headers=HEADERS, timeout=30)
            assert response.status_code == 200, response.text

        def start(output: Path) -> subprocess.Popen[bytes]:
            with output.open("wb") as out, (tmp_path / "stderr").open("ab") as err:
                return subprocess.Popen(
                    [str(BIN), "follow", "cli", "--url", url, "--key", ADMIN_KEY, "--from",
                     "beginning", "--cursor-file", str(cursor_file), "--limit", "5"],
                    stdout=out, stderr=err, env=os.environ.copy())

        ingest(0, 20)
        first = start(tmp_path / "first.ndjson")
        _wait_for(lambda: len(_lines(tmp_path / "first.ndjson")) >= 20)
        first.kill()
        first.wait()
        assert cursor_file.exists()
        ingest(20, 10)
        second = start(tmp_path / "second.ndjson")  # --from beginning: ignored, a cursor exists
        _wait_for(lambda: {e["id"] for e in _lines(tmp_path / "second.ndjson")}
                  >= {f"c{n:03}" for n in range(20, 30)})
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, (tmp_path / "stderr").read_text()
    before = [e["id"] for e in _lines(tmp_path / "first.ndjson")]
    after = [e["id"] for e in _lines(tmp_path / "second.ndjson")]
    assert before == [f"c{n:03}" for n in range(20)]
    assert set(before) | set(after) == {f"c{n:03}" for n in range(30)}
    # Resumed from the file: at most the batch in flight at the kill is repeated.
    assert len(after) <= 10 + 5
    assert after[-10:] == [f"c{n:03}" for n in range(20, 30)]

