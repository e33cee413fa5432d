"""Serve front-end packages installed from npm (node_modules), only from an allow-list of folders."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory

bp = Blueprint("vendor", __name__)

ALLOWED = {
    "bootstrap": "bootstrap/dist",
    "htmx": "htmx.org/dist",
    "bpmn-js": "bpmn-js/dist",
    "chart.js": "chart.js/dist",
    "dmn-js": "dmn-js/dist",
    "swagger-ui": "swagger-ui-dist",
}


@bp.route("/vendor/<package>/<path:filename>")
def asset(package: str, filename: str):
    folder = ALLOWED.get(package)
    if folder is None:
        abort(404)
    root = Path(current_app.config["NODE_MODULES_DIR"]) / folder
    response = send_from_directory(root, filename, max_age=86400)
    return response
