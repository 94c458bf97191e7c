"""The console in a real Chromium against a real ``auditlog serve`` and Elasticsearch.

One service, one index prefix and one browser for the whole package (the modules only
read, but for live mode's few new events); the data is the demo generator's at fixed
times, so every run sees the same events.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from elasticsearch import Elasticsearch
from selenium.webdriver.remote.webdriver import WebDriver

from app.audit.writer import flush_all
from app.cli.demo import demo_events
from app.model.timestamps import parse_timestamp
from tests.conftest import ADMIN_KEY
from tests.e2e.browser import after_search, hook, start_chromium, wait
from tests.e2e.live_service import live_service

SCREENSHOTS = Path(os.environ.get("AUDITLOG_E2E_SCREENSHOTS",
                                  Path(__file__).parent / "screenshots"))
# The README's picture is this run's "console" screenshot when this is set.
README_SCREENSHOT = Path(__file__).parents[2] / "docs" / "console.png"
UPDATE_README_SCREENSHOT = bool(os.environ.get("AUDITLOG_UPDATE_README_SCREENSHOT"))
# The window every test starts from, as typed into the time inputs (UTC).
START = "2024-05-01 00:00:00"
END = "2024-05-02 00:00:00"
HOSTILE = {
    "img": '<img src=x onerror="window.__xss = 1">',
    "script": "<script>window.__xss = 2</script>",
}


@dataclass
class Site:
    """The running service, a reader key of its namespaces and what was ingested."""

    url: str
    key: str
    events: dict[str, list[dict[str, Any]]]

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=60,
                                **kwargs)


def _ingest(url: str, namespace: str, events: list[dict[str, Any]]) -> list[str]:
    response = requests.post(f"{url}/api/v1/namespaces/{namespace}/events?refresh=wait_for",
                             json=events, headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                             timeout=120)
    assert response.status_code == 200, response.text
    return list(response.json()["ids"])


def hostile_event() -> dict[str, Any]:
    """An event whose values are HTML that would run if it were ever parsed as HTML."""
    return {
        "time": "2024-05-01T12:00:00Z", "action": HOSTILE["script"], "outcome": "failure",
        "actor": {"id": "mallory", "name": HOSTILE["img"]},
        "target": {"kind": "page", "name": HOSTILE["script"]},
        "labels": {"note": HOSTILE["img"]},
    }


@pytest.fixture(scope="package")
def e2e_prefix(es: Elasticsearch) -> Iterator[str]:
    """An index prefix of this package's own; its indices and templates go at the end."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    yield prefix
    flush_all()
    es.indices.delete(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True)
    templates = es.options(ignore_status=404).indices.get_index_template(name=f"{prefix}-*")
    for template in templates.get("index_templates", []):
        es.indices.delete_index_template(name=template["name"])


@pytest.fixture(scope="package")
def site(es_url: str, e2e_prefix: str) -> Iterator[Site]:
    end_ns = parse_timestamp(END.replace(" ", "T") + "Z")[0]
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for namespace, event in demo_events(count=3600, days=1.0, seed=7, now_ns=end_ns):
        events[namespace].append(event)
    events["xss"] = [hostile_event()]
    with live_service(es_url, e2e_prefix, ADMIN_KEY, AUDITLOG_FOLLOW_SETTLE="0.5") as url:
        for namespace, batch in events.items():
            for event, event_id in zip(batch, _ingest(url, namespace, batch), strict=True):
                event["id"] = event_id
        created = requests.post(f"{url}/api/v1/keys", timeout=30,
                                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                                json={"name": "analyst", "role": "reader",
                                      "namespaces": ["demo", "acme", "xss"]})
        assert created.status_code == 201, created.text
        yield Site(url, created.json()["secret"], dict(events))


@pytest.fixture(scope="package")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="package")
def driver(downloads: Path) -> Iterator[WebDriver]:
    browser = start_chromium(downloads)
    yield browser
    browser.quit()


@pytest.fixture()
def console(driver: WebDriver, site: Site) -> WebDriver:
    """The console signed in with the reader key, on namespace demo and the fixed window."""
    # Forget the previous test's key on a page of the same origin that runs no console code
    # (on the console itself, a sign-in still in flight would store the key again).
    driver.get(f"{site.url}/console/static/favicon.svg")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{site.url}/?ns=demo&from={START}&to={END}&tz=utc")
    wait(driver, lambda d: hook(d, "key-input").is_displayed())
    hook(driver, "key-input").send_keys(site.key)
    after_search(driver, hook(driver, "sign-in").click)
    driver.get_log("browser")  # drained: the blank page's favicon request is not the test's
    return driver


def screenshot(driver: WebDriver, name: str) -> Path:
    """Save the page as ``<SCREENSHOTS>/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    if name == "console" and UPDATE_README_SCREENSHOT:
        README_SCREENSHOT.parent.mkdir(exist_ok=True)
        README_SCREENSHOT.write_bytes(path.read_bytes())
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A failed browser test leaves its screenshot and the page's console log behind."""
    outcome = yield
    report = outcome.get_result()
    browser = getattr(item, "funcargs", {}).get("driver")
    if report.failed and browser is not None:
        path = screenshot(browser, f"failed-{item.name}")
        log = "\n".join(str(entry) for entry in browser.get_log("browser")
                        if entry.get("level") != "DEBUG")
        timings = browser.execute_script(
            "return performance.getEntriesByType('resource')"
            ".filter((e) => e.name.includes('/api/'))"
            ".map((e) => `${Math.round(e.startTime)} +${Math.round(e.duration)} ms ${e.name}`)")
        log += "\n" + "\n".join(timings)
        report.sections.append(("browser", f"screenshot: {path}\n{log}"))
