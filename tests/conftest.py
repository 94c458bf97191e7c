"""Test fixtures: a real Elasticsearch node and an app on isolated indices.

Where the node comes from (DESIGN §3): ELASTICSEARCH_URL when set; else a
testcontainers Elasticsearch when a Docker engine answers; else the project's
local node (started here if it is not running, and stopped at the end if this
session started it). There is no mock of Elasticsearch anywhere.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.audit.writer import flush_all
from app.engine.signing import KEY_FILE, load_signing_key
from app.store import local_node as local_es

ADMIN_KEY = "test-admin-key-0123456789"


def _docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10,
                              check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    """URL of a real Elasticsearch node for the whole test session."""
    if os.environ.get("ELASTICSEARCH_URL"):
        yield os.environ["ELASTICSEARCH_URL"]
        return
    if _docker_available():
        from testcontainers.elasticsearch import ElasticSearchContainer

        image = f"docker.elastic.co/elasticsearch/elasticsearch:{local_es.ELASTICSEARCH_VERSION}"
        with ElasticSearchContainer(image, mem_limit="2g") as container:
            yield container.get_url()
        return
    state, started = local_es.start()
    yield state.url
    if started and not os.environ.get("AUDITLOG_KEEP_NODE"):
        local_es.stop()


@pytest.fixture(scope="session")
def es(es_url: str) -> Iterator[Elasticsearch]:
    """A client of the test node."""
    client = Elasticsearch(es_url, request_timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="module")
def index_prefix(es: Elasticsearch) -> Iterator[str]:
    """A fresh index prefix per test module; its indices and templates go at the end."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    yield prefix
    flush_all()  # queued self-audit events land before their indices go
    es.indices.delete(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True)
    templates = es.options(ignore_status=404).indices.get_index_template(name=f"{prefix}-*")
    for template in templates.get("index_templates", []):
        es.indices.delete_index_template(name=template["name"])


@functools.cache
def signing_key_file() -> str:
    """A signing key file for the session's apps (never the data folder's)."""
    folder = Path(tempfile.mkdtemp(prefix="auditlog-test-key-"))
    load_signing_key(None, folder)
    return str(folder / KEY_FILE)


@pytest.fixture(scope="module")
def key_path() -> Path:
    """The signing key file of a test module's apps, for tests that check signatures."""
    return Path(signing_key_file())


def make_test_app(es_url: str, index_prefix: str, **overrides: object) -> Flask:
    """An app on the test node and the module's indices, with ADMIN_KEY as admin."""
    config: dict[str, object] = {
        "AUDITLOG_SIGNING_KEY": signing_key_file(),
        "TESTING": True,
        "ELASTICSEARCH_URL": es_url,
        "AUDITLOG_INDEX_PREFIX": index_prefix,
        "AUDITLOG_ADMIN_KEY": ADMIN_KEY,
        # Suites fire requests back to back with one key; tests/api/test_rate_limits.py
        # sets small limits of its own.
        "AUDITLOG_RATE_LIMIT": "10000/second",
        "AUDITLOG_EXPORT_RATE_LIMIT": "10000/second",
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="module")
def app(es_url: str, index_prefix: str) -> Flask:
    return make_test_app(es_url, index_prefix)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def admin() -> dict[str, str]:
    """Headers of the bootstrap admin key."""
    return {"Authorization": f"Bearer {ADMIN_KEY}"}
