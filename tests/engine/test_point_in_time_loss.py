"""A point-in-time lost in the middle of a read (here closed behind the reader's back, as a
node's loss does) is reopened, and the read continues after its last event: no repeat, no
gap, same order. On the test node; the fault suite does it with a real node killed."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from app.engine.export_plan import TimeSlice
from app.engine.extension import current_engine
from app.engine.point_in_time import PointInTime, PointInTimeLost
from app.engine.search import SortValues, after_filter, event_filter, sort_spec
from app.engine.slice_reader import SliceReader
from app.model.time_window import TimeWindow
from tests.conftest import ADMIN_KEY
from tests.faults.harness import make_events

NS = "pitloss"
COUNT = 2_500


@pytest.fixture(scope="module")
def loaded(app: Flask) -> list[str]:
    events = make_events("p", COUNT)
    response = app.test_client().post(f"/api/v1/namespaces/{NS}/events?refresh=wait_for",
                                      json=events,
                                      headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert response.status_code == 200, response.json
    return [event["id"] for event in events]


@pytest.mark.parametrize("sort", ["ASCENDING", "DESCENDING"])
@pytest.mark.parametrize("lost_after_pages", [0, 1, 3])
@pytest.mark.parametrize("how", ["closed", "reopened by another reader"])
def test_a_lost_point_in_time_is_reopened_and_read_on(app: Flask, loaded: list[str],
                                                      sort: str, lost_after_pages: int,
                                                      how: str) -> None:
    expected = loaded if sort == "ASCENDING" else loaded[::-1]

    def after(values: list[Any]) -> dict[str, Any]:
        return after_filter(SortValues(int(values[0]), str(values[1])), sort)

    with app.app_context():
        engine = current_engine()
        with PointInTime(engine.client, engine.store.pattern, "1m") as pit:
            reader = SliceReader(pit, event_filter(NS, {}, TimeWindow(None, None)),
                                 sort_spec(sort), 300, after)
            whole = TimeSlice(None, None)
            ids: list[str] = []
            resume = None
            pages_read = 0
            while True:
                if pages_read == lost_after_pages and how == "closed":
                    engine.client.close_point_in_time(id=pit._id)  # the loss
                elif pages_read == lost_after_pages:
                    # Another slice's reader met the loss and reopened it in between.
                    pit.reopen(PointInTimeLost(pit.generation, RuntimeError("gone")))
                pages, resume = reader(whole, resume, 1)
                pages_read += 1
                ids.extend(event["id"] for page in pages for event in page)
                if resume is None:
                    break
            assert pit.reopens == 1
    assert ids == expected
