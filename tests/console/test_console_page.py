"""The console's page and assets: security headers, no inline script, no CDN, every hook.

No Elasticsearch: the page is static and reads nothing server-side.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask

from app import create_app

STATIC = Path(__file__).resolve().parents[2] / "app" / "console" / "static"
HOOKS = ("key-input", "sign-in", "namespace-select", "query-input", "run-query", "query-error",
         "histogram", "result-row", "load-more", "event-detail", "surrounding-events",
         "field-sidebar", "field-value", "export-ndjson", "export-csv", "live-toggle",
         "time-start", "time-end")


@pytest.fixture(scope="module")
def app() -> Flask:
    return create_app({"TESTING": True, "AUDITLOG_APPLY_TEMPLATES": False,
                       "AUDITLOG_SELF_AUDIT": False})


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text = ""
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_text += data.strip()


def test_page_has_security_headers_and_no_inline_script(app: Flask) -> None:
    response = app.test_client().get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = _Tags()
    page.feed(response.get_data(as_text=True))
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert scripts and all(attrs.get("src") for attrs in scripts)
    assert page.script_text == ""
    handlers = [(tag, name) for tag, attrs in page.tags for name in attrs
                if name.startswith("on")]
    assert handlers == []
    assert not any("style" in attrs for _, attrs in page.tags)


def test_every_asset_is_served_locally_with_the_headers(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    assert "http://" not in page and "https://" not in page
    for path in sorted(STATIC.rglob("*")):
        if path.is_dir():
            continue
        url = f"/console/static/{path.relative_to(STATIC).as_posix()}"
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        text = response.get_data(as_text=True)
        response.close()
        # The SVG namespace is a name, not a place anything is loaded from.
        text = text.replace("http://www.w3.org/2000/svg", "")
        assert not re.search(r"""["'(]https?://""", text), f"{url} loads from elsewhere"
        if path.suffix == ".js":
            assert "innerHTML" not in text and "insertAdjacentHTML" not in text, url
            assert "eval(" not in text and "new Function" not in text, url


def test_every_test_hook_of_the_design_is_in_the_console() -> None:
    sources = (STATIC.parent / "templates" / "console" / "index.html").read_text() + "".join(
        p.read_text() for p in (STATIC / "js").glob("*.js"))
    missing = [h for h in HOOKS
               if f'data-testid="{h}"' not in sources and f'testid: "{h}"' not in sources]
    assert missing == []
