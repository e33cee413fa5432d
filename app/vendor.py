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

#: What a page loads from a package: scripts, styles, their source maps, fonts and images. Not the HTML pages some
#: packages ship (swagger-ui-dist's index.html and oauth2-redirect.html): served from our origin, a page of a
#: third party's would run its scripts with our cookies whenever one of them had a hole.
ASSET_SUFFIXES = (".js", ".css", ".map", ".woff", ".woff2", ".ttf", ".eot", ".svg", ".png")


@bp.route("/vendor/<package>/<path:filename>")
def asset(package: str, filename: str):
    folder = ALLOWED.get(package)
    if folder is None or not filename.lower().endswith(ASSET_SUFFIXES):
        abort(404)
    root = Path(current_app.config["NODE_MODULES_DIR"]) / folder
    response = send_from_directory(root, filename, max_age=86400)
    return response
