"""The fault suite (``make faults``): processes killed with SIGKILL, nodes lost and restarted.

Every Elasticsearch node a scenario kills is its own (started here on free ports
with its own data folder); the shared test node is never stopped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.store import local_node
from tests.faults.harness import REPORTS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.faults)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if REPORTS:
        terminalreporter.section("fault scenarios")
        for result in REPORTS:
            terminalreporter.write_line(result.line())


def fault_data_dir(name: str) -> Path:
    """A folder for a scenario's own nodes beside the default data folder (which the node
    user can reach; pytest's tmp folders are 0700)."""
    return local_node.default_data_dir().with_name(f"auditlog-faults-{name}")


@pytest.fixture(scope="module")
def need_launcher() -> None:
    """Fail (not skip) without what the scenarios' own nodes need."""
    if shutil.which("java") is None or (shutil.which("mvn") is None and not (
            local_node.cache_dir() / f"elasticsearch-{local_node.ELASTICSEARCH_VERSION}.zip"
    ).exists()):
        pytest.fail("the fault suite needs the local node launcher (Java, and Maven or a "
                    "cached distribution)")
