"""One blueprint per API surface; ``init_app`` registers them all."""

from __future__ import annotations

from flask import Flask

from app.api import f5, health, native


def init_app(app: Flask) -> None:
    app.register_blueprint(health.bp)
    app.register_blueprint(native.bp)
    app.register_blueprint(f5.bp)
