"""A small HTTP client of a running auditlog service, for the CLI (ingest, export).

It sends the API key as ``Authorization: Bearer``, and retries what is worth
retrying: 429 and 503 (and 502/504 from a proxy) after the ``Retry-After`` the
service sent, or else an exponential backoff with jitter; connection failures
the same way. Everything else is returned to the caller.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import requests

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_DELAY_S = 60.0


class ServiceError(Exception):
    """The service refused a request or could not be reached; the message says why."""


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds of a ``Retry-After`` header (delta seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def backoff_seconds(attempt: int, base: float = 0.5) -> float:
    """Exponential backoff with full jitter, capped."""
    return min(MAX_DELAY_S, base * 2 ** attempt) * random.uniform(0.5, 1.0)


def error_message(response: requests.Response) -> str:
    """The service's error message of a response (its JSON ``message``), or the status."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("message"):
        return f"HTTP {response.status_code}: {body['message']}"
    return f"HTTP {response.status_code}"


class ServiceClient:
    """Requests to one service with one key, retried on 429/503 and connection failures."""

    def __init__(self, url: str, key: str | None, *, retries: int = 8,
                 timeout: float = 300.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = url.rstrip("/")
        self.retries = retries
        self.timeout = timeout
        self.sleep = sleep
        self.session = requests.Session()
        if key:
            self.session.headers["Authorization"] = f"Bearer {key}"
        self.session.headers["User-Agent"] = "auditlog-cli"
        self.retried = 0

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """The response to ``method path``, after retries; raise ServiceError when they run out."""
        kwargs.setdefault("timeout", self.timeout)
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self.session.request(method, f"{self.url}{path}", **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if last:
                    raise ServiceError(f"cannot reach {self.url}: {exc}") from exc
                self._wait(backoff_seconds(attempt))
                continue
            if response.status_code not in RETRY_STATUSES or last:
                return response
            delay = retry_after_seconds(response.headers.get("Retry-After"))
            response.close()
            self._wait(min(MAX_DELAY_S, delay) if delay is not None else backoff_seconds(attempt))
        raise AssertionError("unreachable")

    def _wait(self, seconds: float) -> None:
        self.retried += 1
        self.sleep(seconds)

    def close(self) -> None:
        """Release the connections."""
        self.session.close()
