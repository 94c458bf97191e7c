"""Debian's Chromium driven through its chromedriver (Selenium), headless, and the few
page operations the console tests share. No browser is downloaded at run time."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

INSTALL = "apt-get update && apt-get install -y chromium chromium-driver"
WAIT_SECONDS = 30
LOCAL_ZONE = "America/New_York"
T = TypeVar("T")


def chromium_paths() -> tuple[str, str]:
    """The Chromium binary and its chromedriver; raise RuntimeError naming the install."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        raise RuntimeError(f"the browser tests need Chromium and chromedriver: {INSTALL} "
                           "(make test runs it when it can)")
    return browser, driver


def start_chromium(download_dir: Path) -> WebDriver:
    """A headless Chromium (``--no-sandbox`` as root) that saves downloads in ``download_dir``."""
    browser, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1440,900", "--force-device-scale-factor=1",
                     "--disable-extensions", "--no-first-run", "--lang=en-US"):
        options.add_argument(argument)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        options.add_argument("--no-sandbox")
    options.add_experimental_option("prefs", {
        "download.default_directory": str(download_dir),
        "download.prompt_for_download": False,
    })
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Local time differs from UTC (and has daylight saving), so the UTC/local toggle shows.
    service = Service(driver_path, env={**os.environ, "TZ": LOCAL_ZONE})
    driver = webdriver.Chrome(options=options, service=service)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(download_dir)})
    return driver


def wait(driver: WebDriver, condition: Callable[[WebDriver], T],
         timeout: float = WAIT_SECONDS) -> T:
    """The first truthy value of ``condition`` (raises TimeoutException)."""
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)


def hook(driver: WebDriver | WebElement, name: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f"[data-testid={name}]")


def hooks(driver: WebDriver | WebElement, name: str) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, f"[data-testid={name}]")


def searches_done(driver: WebDriver) -> int:
    return int(driver.execute_script("return Number(document.body.dataset.searchesDone || 0)"))


def after_search(driver: WebDriver, action: Callable[[], Any]) -> None:
    """Do ``action`` and wait until the search it starts has finished."""
    before = searches_done(driver)
    action()
    wait(driver, lambda d: searches_done(d) > before)


def set_value(driver: WebDriver, element: WebElement, text: str) -> None:
    """Set an input's text as typing would end (input event), without per-key side effects."""
    driver.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", element, text)


def search(driver: WebDriver, query: str | None = None, start: str | None = None,
           end: str | None = None) -> None:
    """Fill the query and the window (those given) and run the search, waiting for it."""
    if query is not None:
        set_value(driver, hook(driver, "query-input"), query)
    if start is not None:
        set_value(driver, hook(driver, "time-start"), start)
    if end is not None:
        set_value(driver, hook(driver, "time-end"), end)
    after_search(driver, hook(driver, "run-query").click)


def row_ids(driver: WebDriver) -> list[str]:
    return [str(i) for i in driver.execute_script(
        "return [...document.querySelectorAll('[data-testid=result-row]')]"
        ".map((row) => row.dataset.eventId)")]


def column_texts(driver: WebDriver, index: int) -> list[str]:
    """The text of one column (0-based) in every result row."""
    return [str(t) for t in driver.execute_script(
        "return [...document.querySelectorAll('[data-testid=result-row]')]"
        ".map((row) => row.cells[arguments[0]].textContent)", index)]


def severe_console_errors(driver: WebDriver) -> list[str]:
    """Messages the page logged at SEVERE level (script errors, CSP refusals)."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry.get("level") == "SEVERE"]
