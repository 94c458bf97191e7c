"""CSV export against formula injection (OWASP "CSV Injection"), checked on the bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from app.cli.bulk_export import resume_point
from app.model.spreadsheet import neutralised, original
from tests.conftest import ADMIN_KEY, make_test_app

NS = "csvinj"
HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}
# (action, actor name, user agent): each starts with a character a spreadsheet runs.
HOSTILE = [
    ("=1+1", "+SUM(A1)", "-2+3"),
    ("@cmd", "\tTAB", "\rCR"),
]
TIME = "2024-03-01T00:00:00Z"


@pytest.fixture(scope="module")
def loaded(es_url: str, index_prefix: str) -> None:
    client = make_test_app(es_url, index_prefix).test_client()
    events = [{"id": f"-e{n}", "time": TIME, "action": action,
               "actor": {"id": f"u{n}", "name": name}, "user_agent": agent}
              for n, (action, name, agent) in enumerate(HOSTILE)]
    events.append({"id": "safe", "time": TIME, "action": "login",
                   "actor": {"id": "u9", "name": "a=b"}, "user_agent": "curl/8"})
    response = client.post(f"/api/v1/namespaces/{NS}/events?refresh=wait_for", json=events,
                           headers=HEADERS)
    assert response.status_code == 200, response.json


def _csv_bytes(client: FlaskClient) -> bytes:
    response = client.get(f"/api/v1/namespaces/{NS}/events/export",
                          query_string={"format": "csv"}, headers=HEADERS)
    assert response.status_code == 200, response.json
    return response.data


@pytest.mark.parametrize(("cell", "written"), [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("-1", "'-1"), ("@a", "'@a"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("a=b", "a=b"), ("'=x", "'=x"), ("", ""),
])
def test_neutralised_cells(cell: str, written: str) -> None:
    assert neutralised(cell) == written
    assert original(neutralised(cell)) == cell or cell.startswith("'")


def test_export_prefixes_formula_cells_with_a_quote(es_url: str, index_prefix: str,
                                                    loaded: None) -> None:
    client = make_test_app(es_url, index_prefix).test_client()
    data = _csv_bytes(client)
    for n, (action, name, agent) in enumerate(HOSTILE):
        assert f"'-e{n},".encode() in data
        for cell in (action, name, agent):
            assert b"'" + cell.encode() in data
    # Cells are written quoted by csv only when they need it; no unescaped trigger starts one.
    for trigger in (b",=", b",+", b",@", b",-", b',"=', b',"+', b',"@', b',"-', b",\t", b',"\t',
                    b',"\r'):
        assert trigger not in data, trigger
    assert b",a=b," in data


def test_cli_resume_reads_a_neutralised_id(es_url: str, index_prefix: str, loaded: None,
                                           tmp_path: Path) -> None:
    data = _csv_bytes(make_test_app(es_url, index_prefix).test_client())
    path = tmp_path / "out.csv"
    path.write_bytes(data[:data.index(b"'-e1,")])  # the file ends after the event -e0
    assert resume_point(path, csv_format=True).after_id == "-e0"


def test_escaping_can_be_turned_off(es_url: str, index_prefix: str, loaded: None) -> None:
    client = make_test_app(es_url, index_prefix, AUDITLOG_CSV_ESCAPE_FORMULAS=False).test_client()
    data = _csv_bytes(client)
    assert b",=1+1," in data
    assert b"'=1+1" not in data
