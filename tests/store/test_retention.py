"""``auditlog retention apply``: whole monthly indices older than the age, dry-run first."""

from __future__ import annotations

import time

from click.testing import CliRunner
from elasticsearch import Elasticsearch

from app.cli.commands import main
from app.model.timestamps import NS_PER_S, month_of
from app.store.retention import MonthlyIndex, expired


def test_expired_means_the_month_ended_before_the_cutoff() -> None:
    january = MonthlyIndex("p-events-2024.01", 1_704_067_200 * NS_PER_S,
                           1_706_745_600 * NS_PER_S)  # Jan 1 and Feb 1 00:00 UTC
    assert expired([january], january.month_end_ns) == [january]
    assert expired([january], january.month_end_ns - 1) == []


def test_retention_is_a_dry_run_unless_yes(es: Elasticsearch, es_url: str,
                                           index_prefix: str, monkeypatch) -> None:
    current = f"{index_prefix}-events-{month_of(time.time_ns())}"
    old = [f"{index_prefix}-events-2020.01", f"{index_prefix}-events-2020.02"]
    untouched = [f"{index_prefix}-events-backup", f"{index_prefix}-keys-x"]
    for name in [*old, current, *untouched]:
        es.indices.create(index=name)
    monkeypatch.setenv("ELASTICSEARCH_URL", es_url)
    monkeypatch.setenv("AUDITLOG_INDEX_PREFIX", index_prefix)
    runner = CliRunner()

    dry = runner.invoke(main, ["retention", "apply", "--older-than", "90d"])
    assert dry.exit_code == 0, dry.output
    assert "would delete 2 of 3" in dry.output
    assert all(name in dry.output for name in old) and current not in dry.output
    assert all(es.indices.exists(index=name) for name in old)

    done = runner.invoke(main, ["retention", "apply", "--older-than", "90d", "--yes"])
    assert done.exit_code == 0, done.output
    assert "deleted 2 of 3" in done.output
    assert not any(es.indices.exists(index=name) for name in old)
    assert all(es.indices.exists(index=name) for name in [current, *untouched])

    again = runner.invoke(main, ["retention", "apply", "--older-than", "90d", "--yes"])
    assert "no monthly index is older than 90d" in again.output
    bad = runner.invoke(main, ["retention", "apply", "--older-than", "ninety"])
    assert bad.exit_code == 1
