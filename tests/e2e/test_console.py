"""The analyst console (DESIGN §11) in Chromium: each behaviour the contract names."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import orjson
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from app.model.timestamps import parse_timestamp
from tests.e2e.browser import (
    after_search,
    column_texts,
    hook,
    hooks,
    row_ids,
    search,
    set_value,
    severe_console_errors,
    wait,
)
from tests.e2e.conftest import END, HOSTILE, START, Site, screenshot

WINDOW = {"start_time": START.replace(" ", "T") + "Z", "end_time": END.replace(" ", "T") + "Z"}


def api_search(site: Site, namespace: str, query: str, **extra: object) -> dict:
    response = site.api("POST", f"/api/v1/namespaces/{namespace}/events/search",
                        json={"query": query, **WINDOW, **extra})
    return response.json()


def ns(ts: str) -> int:
    return parse_timestamp(ts)[0]


def test_sign_in_run_a_query_and_see_the_rows(console: WebDriver, site: Site) -> None:
    assert site.key not in console.current_url
    assert console.execute_script("return sessionStorage.getItem('auditlog.key')") == site.key
    options = [o.text for o in Select(hook(console, "namespace-select")).options]
    assert options == ["acme", "demo", "xss"]
    screenshot(console, "signed-in")

    search(console, '{action="login"}')
    expected = api_search(site, "demo", '{action="login"}')
    assert expected["total_hits"] > 0
    assert row_ids(console) == [e["id"] for e in expected["events"]]
    assert set(column_texts(console, 2)) == {"login"}
    summary = console.find_element(By.ID, "summary").text
    assert f"{expected['total_hits']:,} events" in summary
    assert site.key not in console.current_url
    assert not severe_console_errors(console)
    search(console, '{actor.type="User", action!~"(?i)login|logout"}')
    hooks(console, "result-row")[1].click()
    wait(console, lambda d: hook(d, "surrounding-events").find_elements(By.CSS_SELECTOR, "li"))
    screenshot(console, "console")


def completion_labels(driver: WebDriver) -> list[str]:
    return [e.text for e in driver.find_elements(
        By.CSS_SELECTOR, ".completions:not([hidden]) .completion-label")]


def test_completes_a_field_then_a_value(console: WebDriver) -> None:
    editor = hook(console, "query-input")
    set_value(console, editor, "")
    editor.click()
    editor.send_keys("{act")
    wait(console, lambda d: completion_labels(d))
    labels = completion_labels(console)
    assert labels[0] == "action"
    assert "actor.id" in labels
    editor.send_keys(Keys.TAB)
    assert editor.get_attribute("value") == '{action=""'
    # The caret is between the quotes and the values of action are offered.
    wait(console, lambda d: "login" in completion_labels(d))
    editor.send_keys("upd")
    wait(console, lambda d: completion_labels(d)[:1] == ["update-password"])
    screenshot(console, "completion")
    editor.send_keys(Keys.ENTER)
    assert editor.get_attribute("value") == '{action="update-password"'
    editor.send_keys("}")
    after_search(console, lambda: editor.send_keys(Keys.ENTER))
    assert set(column_texts(console, 2)) == {"update-password"}


def test_a_syntax_error_is_marked_at_its_line_and_column(console: WebDriver, site: Site) -> None:
    query = '{action="login",\n  actor.id "u-1001"}'
    answer = site.api("POST", "/api/v1/namespaces/demo/events/search",
                      json={"query": query, **WINDOW})
    assert answer.status_code == 400
    line, column = answer.json()["line"], answer.json()["column"]
    assert (line, column) == (2, 12)
    search(console, query)
    error = hook(console, "query-error")
    assert error.is_displayed()
    assert error.text.startswith(f"Line {line}, column {column}:")
    # The mark sits on the character the parser stopped at.
    marked = console.find_element(By.CSS_SELECTOR, ".editor-highlight .error-mark")
    before = console.execute_script(
        "const pre = document.querySelector('.editor-highlight');"
        "const range = document.createRange(); range.setStart(pre, 0);"
        "range.setEndBefore(arguments[0]); return range.toString();", marked)
    assert before == query[:query.index('"u-1001"')]
    assert marked.text.startswith('"u-1001"')
    screenshot(console, "syntax-error")
    search(console, '{action="login"}')
    assert not hook(console, "query-error").is_displayed()


def test_dragging_across_the_histogram_zooms(console: WebDriver, site: Site) -> None:
    histogram = hook(console, "histogram")
    width = histogram.size["width"]
    after_search(console, lambda: ActionChains(console)
                 .move_to_element_with_offset(histogram, -width // 4, 0).click_and_hold()
                 .move_by_offset(width // 4, 0).pause(0.05).release().perform())
    start = hook(console, "time-start").get_attribute("value")
    end = hook(console, "time-end").get_attribute("value")
    start_ns = ns(start.replace(" ", "T") + "Z")
    end_ns = ns(end.replace(" ", "T") + "Z")
    assert ns(WINDOW["start_time"]) < start_ns < end_ns < ns(WINDOW["end_time"])
    params = parse_qs(urlparse(console.current_url).query)
    assert params["from"] == [start] and params["to"] == [end]
    shown = row_ids(console)
    times = {e["id"]: e["time"] for e in site.events["demo"]}
    inside = [i for i, t in times.items() if start_ns <= ns(t) <= end_ns]
    assert shown and sorted(shown) == sorted(inside)
    screenshot(console, "zoomed")


def test_an_event_opens_with_its_surrounding_events(console: WebDriver, site: Site) -> None:
    rows = hooks(console, "result-row")
    rows[3].click()
    detail = wait(console, lambda d: hook(d, "event-detail") if hook(
        d, "event-detail").is_displayed() else None)
    event_id = rows[3].get_attribute("data-event-id")
    shown = orjson.loads(detail.find_element(By.CSS_SELECTOR, "pre.json").text)
    stored = site.api("GET", f"/api/v1/namespaces/demo/events/{event_id}").json()
    assert shown == stored
    link = detail.find_element(By.LINK_TEXT, "Permalink").get_attribute("href")
    assert parse_qs(urlparse(link).query)["event"] == [event_id]
    surrounding = hook(console, "surrounding-events")
    items = wait(console, lambda d: surrounding.find_elements(By.CSS_SELECTOR, "li"))
    ids = [item.get_attribute("data-event-id") for item in items]
    assert event_id in ids and len(ids) > 1
    actor = stored["actor"]["id"]
    for other in ids:
        event = site.api("GET", f"/api/v1/namespaces/demo/events/{other}").json()
        assert event["actor"]["id"] == actor
        assert abs(ns(event["time"]) - ns(stored["time"])) <= 3600 * 10**9
    screenshot(console, "event-detail")
    # Another event of the list opens in its place.
    other = next(item for item in items if item.get_attribute("data-event-id") != event_id)
    other_id = other.get_attribute("data-event-id")
    other.click()
    wait(console, lambda d: other_id in hook(d, "event-detail").text)
    # The permalink opens the event in a fresh page.
    console.get(link)
    wait(console, lambda d: hook(d, "event-detail").is_displayed()
         and event_id in hook(d, "event-detail").text)


def test_a_top_value_click_adds_a_filter(console: WebDriver, site: Site) -> None:
    sidebar = hook(console, "field-sidebar")
    value = sidebar.find_element(By.CSS_SELECTOR,
                                 "[data-testid=field-value][data-field='outcome'][data-value='failure']")
    count = int(value.find_element(By.CSS_SELECTOR, ".fv-count").text.replace(",", ""))
    after_search(console, value.click)
    assert hook(console, "query-input").get_attribute("value") == '{outcome="failure"}'
    assert set(column_texts(console, 4)) == {"failure"}
    assert len(row_ids(console)) == count == api_search(site, "demo", '{outcome="failure"}')[
        "total_hits"]
    action = hook(console, "field-sidebar").find_element(
        By.CSS_SELECTOR, "[data-testid=field-value][data-field='action']")
    excluded = action.get_attribute("data-value")
    after_search(console, lambda: ActionChains(console).key_down(Keys.ALT).click(action)
                 .key_up(Keys.ALT).perform())
    assert hook(console, "query-input").get_attribute("value") == (
        f'{{outcome="failure", action!="{excluded}"}}')
    assert excluded not in column_texts(console, 2)


def test_paging_to_the_end_shows_every_event_once(console: WebDriver, site: Site) -> None:
    expected = {e["id"] for e in site.events["demo"]}
    assert len(expected) > 1000  # more than two pages of 500
    while hook(console, "load-more").is_displayed():
        before = len(row_ids(console))
        hook(console, "load-more").click()
        wait(console, lambda d, n=before: len(row_ids(d)) > n)
    ids = row_ids(console)
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == expected


def _download(downloads: Path, suffix: str, known: set[str]) -> Path:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done = [p for p in downloads.iterdir() if p.suffix == suffix and p.name not in known]
        if done and not any(p.suffix == ".crdownload" for p in downloads.iterdir()):
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} download in {downloads}")


def test_export_saves_every_match_as_the_api_exports_it(console: WebDriver, site: Site,
                                                        downloads: Path) -> None:
    search(console, '{outcome="success"}')
    for fmt in ("ndjson", "csv"):
        known = {p.name for p in downloads.iterdir()}
        hook(console, f"export-{fmt}").click()
        saved = _download(downloads, f".{fmt}", known)
        wait(console, lambda d: d.find_element(By.ID, "export-progress")
             .get_attribute("data-state") == "done")
        api = site.api("GET", "/api/v1/namespaces/demo/events/export",
                       params={"query": '{outcome="success"}', **WINDOW, "format": fmt})
        assert api.status_code == 200
        assert saved.read_bytes() == api.content
        lines = api.content.count(b"\n") - (1 if fmt == "csv" else 0)
        total = api_search(site, "demo", '{outcome="success"}')["total_hits"]
        assert lines == total > 500
        progress = console.find_element(By.ID, "export-progress").text
        assert f"Exported {total:,} events" in progress
    screenshot(console, "exported")


def test_a_copied_url_restores_the_view_and_history_walks_back(console: WebDriver) -> None:
    search(console, '{actor.id="u-1002"}', "2024-05-01 06:00:00", "2024-05-01 18:00:00")
    console.find_element(By.ID, "columns-button").click()
    console.find_element(By.CSS_SELECTOR, "#columns-menu input[value='user_agent']").click()
    first_time = column_texts(console, 0)[0]
    console.find_element(By.ID, "tz-local").click()
    # New York is four hours behind UTC in May.
    assert hook(console, "time-start").get_attribute("value") == "2024-05-01 02:00:00"
    assert hook(console, "time-end").get_attribute("value") == "2024-05-01 14:00:00"
    local_time = column_texts(console, 0)[0]
    assert int(first_time[11:13]) - int(local_time[11:13]) == 4
    url = console.current_url
    query = parse_qs(urlparse(url).query)
    assert query["q"] == ['{actor.id="u-1002"}']
    assert query["cols"] == ["time,actor,action,target,outcome,source_ip,user_agent"]
    assert query["tz"] == ["local"]
    assert "%7B" in url and "u-1002" in url  # readable, URL-encoded text
    rows = row_ids(console)
    start = hook(console, "time-start").get_attribute("value")

    console.get("about:blank")
    console.get(url)
    wait(console, lambda d: row_ids(d) == rows)
    assert hook(console, "query-input").get_attribute("value") == '{actor.id="u-1002"}'
    assert hook(console, "time-start").get_attribute("value") == start
    headers = [th.text for th in console.find_elements(By.CSS_SELECTOR, "#results thead th")]
    assert headers == ["Time", "Actor", "Action", "Target", "Outcome", "Source IP", "user_agent"]

    search(console, '{actor.id="u-1003"}')
    assert row_ids(console) != rows
    after_search(console, console.back)
    assert hook(console, "query-input").get_attribute("value") == '{actor.id="u-1002"}'
    assert row_ids(console) == rows
    after_search(console, console.forward)
    assert hook(console, "query-input").get_attribute("value") == '{actor.id="u-1003"}'


def test_a_wrong_key_is_refused_at_sign_in(driver: WebDriver, site: Site) -> None:
    driver.get(f"{site.url}/console/static/favicon.svg")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{site.url}/")
    wait(driver, lambda d: hook(d, "key-input").is_displayed())
    hook(driver, "key-input").send_keys("al_not-a-key")
    hook(driver, "sign-in").click()
    error = wait(driver, lambda d: d.find_element(By.ID, "signin-error").text)
    assert "not valid" in error
    assert driver.execute_script("return sessionStorage.getItem('auditlog.key')") is None
    assert not driver.find_element(By.ID, "app").is_displayed()
    screenshot(driver, "sign-in")


def test_sign_out_forgets_the_key(console: WebDriver) -> None:
    console.find_element(By.ID, "sign-out").click()
    wait(console, lambda d: hook(d, "key-input").is_displayed())
    assert console.execute_script("return sessionStorage.getItem('auditlog.key')") is None
    assert not console.find_element(By.ID, "app").is_displayed()


def test_html_in_event_values_is_shown_as_text(console: WebDriver, site: Site) -> None:
    namespaces = Select(hook(console, "namespace-select"))
    after_search(console, lambda: namespaces.select_by_value("xss"))
    rows = hooks(console, "result-row")
    assert len(rows) == 1
    texts = column_texts(console, 1) + column_texts(console, 2) + column_texts(console, 3)
    assert texts == [HOSTILE["img"], HOSTILE["script"], f"page · {HOSTILE['script']}"]
    rows[0].click()
    detail = wait(console, lambda d: hook(d, "event-detail") if hook(
        d, "event-detail").is_displayed() else None)
    wait(console, lambda d: hook(d, "surrounding-events").find_elements(By.CSS_SELECTOR, "li")
         or "no other" in hook(d, "surrounding-events").text.lower())
    assert HOSTILE["img"].replace('"', '\\"') in detail.text
    values = hook(console, "field-sidebar").find_elements(
        By.CSS_SELECTOR, "[data-testid=field-value][data-field='actor.name']")
    assert [v.get_attribute("data-value") for v in values] == [HOSTILE["img"]]
    # Nothing ran and no element came out of the values.
    assert console.execute_script("return window.__xss") is None
    assert console.find_elements(By.CSS_SELECTOR, "main img, main script") == []
    screenshot(console, "hostile-values")
