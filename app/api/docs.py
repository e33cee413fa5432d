"""A browsable page for the REST API: Swagger UI (from npm, served by app.vendor) over /api/openapi.json."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for

bp = Blueprint("api_docs", __name__)


@bp.route("/api/docs")
def docs():
    prefix = current_app.config["OPENAPI_URL_PREFIX"].rstrip("/")
    return render_template("api_docs.html", spec_url=f"{prefix}/{current_app.config['OPENAPI_JSON_PATH']}")


@bp.route("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"), code=301)
