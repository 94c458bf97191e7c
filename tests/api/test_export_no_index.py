"""An export before any event index exists (a new deployment, a fresh prefix) is empty, not
a 500: Elasticsearch answers a search on a point-in-time over no index without aggregations."""

from __future__ import annotations

from tests.conftest import ADMIN_KEY, make_test_app


def test_export_with_no_index_yet_is_empty(es_url: str, index_prefix: str) -> None:
    client = make_test_app(es_url, index_prefix, AUDITLOG_SELF_AUDIT=False).test_client()
    for export_format in ("ndjson", "csv"):
        response = client.get("/api/v1/namespaces/none/events/export",
                              query_string={"format": export_format},
                              headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        assert response.status_code == 200, response.data[:300]
        assert response.data.count(b"\n") == (1 if export_format == "csv" else 0)
