"""The CLI's stream handling without a service: input parsing, batching, record counting."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from app.api.streaming import CSV_COLUMNS, csv_chunks, csv_row, ndjson_chunks
from app.cli.bulk_export import RecordCounter, resume_point
from app.cli.bulk_ingest import IngestTotals, _array_items, batches, read_items
from app.cli.service_client import retry_after_seconds

EVENTS = [{"id": f"e{n}", "time": "2024-05-01T00:00:00Z", "action": "a", "n": [n, {"x": "]"}]}
          for n in range(50)]


@pytest.mark.parametrize("text", [
    orjson.dumps(EVENTS),
    b"  \n" + orjson.dumps(EVENTS, option=orjson.OPT_INDENT_2) + b"\n",
])
@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_json_array_items_across_chunk_boundaries(text: bytes, chunk: int) -> None:
    stream = io.BytesIO(text.lstrip())
    first = stream.read(1)
    items = list(_array_items(stream, first, chunk_bytes=chunk))
    assert [orjson.loads(line) for _, line, _ in items] == EVENTS


def test_ndjson_items_report_malformed_lines_by_number() -> None:
    body = b'{"a": 1}\n\n{oops\n{"b": 2}\n'
    items = list(read_items(io.BytesIO(body)))
    assert [(p, e is None) for p, _, e in items] == [(0, True), (1, False), (2, True)]
    assert items[1][2].startswith("line 3: malformed JSON")


@pytest.mark.parametrize("body", [b"[1, 2", b"[{}, {} {}]", b'[{"a": }]'])
def test_broken_json_arrays_are_errors(body: bytes) -> None:
    with pytest.raises(ValueError):
        list(read_items(io.BytesIO(body)))


def test_batches_bound_events_and_bytes() -> None:
    items = [(n, b"x" * 10, None) for n in range(25)]
    sizes = [len(b.lines) for b in batches(items, IngestTotals(), 10, 10_000)]
    assert sizes == [10, 10, 5]
    sizes = [len(b.lines) for b in batches(items, IngestTotals(), 100, 35)]
    assert sizes == [3] * 8 + [1]


@pytest.mark.parametrize(("value", "seconds"), [("3", 3.0), (None, None), ("soon", None),
                                                ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value) == seconds


def _csv_bytes(events: list[dict]) -> bytes:
    return b"".join(csv_chunks(events))


def test_csv_records_with_quoted_newlines_are_counted_once() -> None:
    events = [{"id": "a", "error": 'two\nlines "quoted"'}, {"id": "b", "message": "\n\n"},
              {"id": "c"}]
    data = _csv_bytes(events)
    for size in (1, 3, len(data)):
        counter = RecordCounter(csv_format=True)
        for start in range(0, len(data), size):
            counter.feed(data[start:start + size])
        assert counter.records == 4  # header + 3


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_resume_point_ignores_a_cut_record(tmp_path: Path, fmt: str) -> None:
    events = [{"id": f"e{n}", "time": f"2024-05-01T00:00:0{n}Z", "error": "x\ny"}
              for n in range(3)]
    data = _csv_bytes(events) if fmt == "csv" else b"".join(ndjson_chunks(events))
    path = tmp_path / "out"
    path.write_bytes(data[:-5])
    point = resume_point(path, fmt == "csv")
    assert (point.after_id, point.after_time, point.records) == ("e1", "2024-05-01T00:00:01Z", 2)
    assert data[:point.offset].endswith(b"\n")
    path.write_bytes(data)
    assert resume_point(path, fmt == "csv").after_id == "e2"


def test_csv_row_flattens_nested_fields_and_keeps_labels_as_json() -> None:
    row = dict(zip(CSV_COLUMNS, csv_row({
        "id": "e", "actor": {"id": "u1"}, "labels": {"b": "2", "a": "1"}, "context": {"k": [1]},
    }), strict=True))
    assert row["actor.id"] == "u1" and row["actor.name"] == ""
    assert orjson.loads(row["labels"]) == {"b": "2", "a": "1"}
    assert row["context"] == '{"k":[1]}'
