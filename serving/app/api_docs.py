"""The API docs page (``/docs``) from the installed ``swagger_ui_bundle`` package: Swagger UI's
JavaScript and CSS are served by the app itself under ``/static/swagger-ui/``, so the page works
on a machine without internet, and it is started by a static script (no inline script, so a
Content-Security-Policy without ``'unsafe-inline'`` keeps it working)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_PREFIX = "/static/swagger-ui"
SWAGGER_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")


def swagger_ui_dir() -> Path:
    """Swagger UI's files as shipped in the installed ``swagger_ui_bundle`` package."""
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


def docs_page(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{SWAGGER_PREFIX}/swagger-ui.css">
<link rel="icon" type="image/png" href="{SWAGGER_PREFIX}/favicon-32x32.png">
</head>
<body>
<main><div id="swagger-ui" data-openapi-url="{openapi_url}"></div></main>
<script src="{SWAGGER_PREFIX}/swagger-ui-bundle.js"></script>
<script src="{SWAGGER_PREFIX}/swagger-ui-standalone-preset.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>"""


def install_api_docs(app: FastAPI, path: str = "/docs") -> None:
    """Serve Swagger UI at ``path`` from the installed package (the app is built with
    ``docs_url=None`` so FastAPI's CDN-loading page is not added)."""
    app.mount(SWAGGER_PREFIX, StaticFiles(directory=str(swagger_ui_dir())), name="swagger-ui")
    page = docs_page(f"{app.title} — API", app.openapi_url or "/openapi.json")

    @app.get(path, include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(page)
