"""Live mode: the console follows new events through the follow feed (DESIGN §10)."""

from __future__ import annotations

import time

from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.browser import hook, row_ids, wait
from tests.e2e.conftest import Site, screenshot


def _ingest_now(site: Site, action: str) -> str:
    event = {"time": time.time(), "action": action, "actor": {"id": "live-user"},
             "outcome": "success"}
    response = site.api("POST", "/api/v1/namespaces/demo/events?refresh=wait_for", json=[event])
    assert response.status_code == 200, response.text
    return str(response.json()["ids"][0])


def test_live_mode_shows_new_events_and_resumes_without_a_gap(console: WebDriver,
                                                              site: Site) -> None:
    toggle = hook(console, "live-toggle")
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true"
    first = _ingest_now(site, "live-first")
    wait(console, lambda d: first in row_ids(d), timeout=30)
    assert row_ids(console)[0] == first
    screenshot(console, "live")

    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "false"
    assert toggle.get_attribute("data-state") == "paused"
    during_pause = _ingest_now(site, "live-during-pause")
    toggle.click()
    wait(console, lambda d: during_pause in row_ids(d), timeout=30)
    ids = row_ids(console)
    assert ids.count(first) == 1 and ids.count(during_pause) == 1
    assert ids.index(during_pause) < ids.index(first)
    toggle.click()
