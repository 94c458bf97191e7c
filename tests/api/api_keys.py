"""API keys for the API tests, made through the admin endpoint."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.conftest import ADMIN_KEY


def bearer(secret: str) -> dict[str, str]:
    """Authorization headers for a key secret."""
    return {"Authorization": f"Bearer {secret}"}


ADMIN = bearer(ADMIN_KEY)


def create_key(app: Flask, role: str, *namespaces: str,
               **extra: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Create a key through ``POST /api/v1/keys``; return (creation answer, its headers)."""
    body = {"name": f"{role} {' '.join(namespaces)}".strip(), "role": role,
            "namespaces": list(namespaces), **extra}
    response = app.test_client().post("/api/v1/keys", json=body, headers=ADMIN)
    assert response.status_code == 201, response.json
    return response.json, bearer(response.json["secret"])
