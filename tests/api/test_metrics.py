"""/metrics: Prometheus text that parses, and counters that move with traffic."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from app.observe import metrics


def _samples(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(response.data.decode()):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def _value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_need_no_key_and_parse(client) -> None:
    samples = _samples(client)
    names = {name for name, _ in samples}
    assert "auditlog_open_scrolls" in names
    assert "auditlog_ingested_events_total" in names


def test_counters_move_with_traffic(client, admin) -> None:
    search = "/api/v1/namespaces/<namespace>/events/search"
    before = _samples(client)
    events = [{"id": f"m{n}", "time": 1_700_000_000 + n, "action": "login"} for n in range(5)]
    body = [*events, {"time": "never", "action": "x"}]
    first = client.post("/api/v1/namespaces/met/events?refresh=wait_for", json=body,
                        headers=admin)
    assert first.status_code == 207
    again = client.post("/api/v1/namespaces/met/events", json=events[:2], headers=admin)
    assert again.json["duplicates"] == 2
    for _ in range(3):
        assert client.post("/api/v1/namespaces/met/events/search",
                           json={"start_time": 1_600_000_000, "end_time": 1_800_000_000},
                           headers=admin).status_code == 200
    assert client.post("/api/v1/namespaces/met/events/search", json={"limit": 0},
                       headers=admin).status_code == 400
    opened = client.post("/api/v1/namespaces/met/events/search", headers=admin,
                         json={"start_time": 1_600_000_000, "end_time": 1_800_000_000,
                               "limit": 2, "scroll": True}).json
    assert opened["scroll_id"]
    mid = _samples(client)
    assert _value(mid, "auditlog_open_scrolls") == _value(before, "auditlog_open_scrolls") + 1
    scroll_id = opened["scroll_id"]
    while scroll_id:
        scroll_id = client.post("/api/v1/namespaces/met/events/scroll", headers=admin,
                                json={"scroll_id": scroll_id}).json["scroll_id"]
    after = _samples(client)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("auditlog_http_requests_total", method="POST", endpoint=search,
                 status="200") == 4
    assert delta("auditlog_http_requests_total", method="POST", endpoint=search,
                 status="400") == 1
    assert delta("auditlog_http_request_duration_seconds_count", method="POST",
                 endpoint=search, status="200") == 4
    assert delta("auditlog_ingested_events_total", result="created") == 5
    assert delta("auditlog_ingested_events_total", result="duplicate") == 2
    assert delta("auditlog_ingested_events_total", result="failed") == 1
    bulk_calls = sum(
        value - _value(before, name, **dict(labels)) for (name, labels), value in after.items()
        if name == "auditlog_elasticsearch_request_duration_seconds_count"
        and dict(labels)["operation"].endswith(" _bulk"))
    assert bulk_calls >= 2
    assert delta("auditlog_open_scrolls") == 0
    assert delta("auditlog_http_requests_total", method="GET", endpoint="/metrics",
                 status="200") >= 2


def test_unknown_routes_are_one_label(client) -> None:
    before = _samples(client)
    client.get("/no/such/path/1")
    client.get("/no/such/path/2")
    after = _samples(client)
    key = ("auditlog_http_requests_total",
           (("endpoint", metrics.UNMATCHED), ("method", "GET"), ("status", "404")))
    assert after.get(key, 0) - before.get(key, 0) == 2
