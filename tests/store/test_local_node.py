"""The local-node launcher's checks that need no node: Java and Maven discovery."""

from __future__ import annotations

import pytest

from app.store import local_node as local_es


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "25-ea" 2025-09-16', 25),
        ("no version here", None),
    ],
)
def test_java_major(output: str, major: int | None) -> None:
    assert local_es._java_major(output) == major


def test_missing_java_names_it(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("ES_JAVA_HOME", raising=False)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(local_es.LocalNodeError, match="Java 17 or newer"):
        local_es._java_home()


def test_missing_maven_names_it(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("AUDITLOG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(local_es.LocalNodeError, match=r"Maven \(`mvn`\)"):
        local_es._download("8.19.21")


def test_status_of_an_empty_folder(tmp_path) -> None:
    assert local_es.status(tmp_path) == {"running": False, "data_dir": str(tmp_path)}
