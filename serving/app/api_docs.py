"""The API docs page (``/docs``) from the installed ``swagger_ui_bundle`` package: Swagger UI's
JavaScript and CSS are served by the app itself under ``/static/swagger-ui/``, so the page works
on a machine without internet, and it is started by a static script (no inline script, so a
Content-Security-Policy without ``'unsafe-inline'`` keeps it working).

The package ships Swagger UI 4, which refuses FastAPI's OpenAPI 3.1 document ("does not specify a
valid version field": a blank page). The docs page therefore reads ``/openapi-3.0.json``, the
same document said in OpenAPI 3.0 (:func:`openapi_30`); ``/openapi.json`` stays 3.1 for
clients. ``static/swagger-init.js`` and ``static/swagger-overrides.css`` keep the page within
WCAG 2.1 AA (axe-core, tests/serving/test_browser_api_docs.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_PREFIX = "/static/swagger-ui"
#: The OpenAPI document as Swagger UI 4 reads it (3.0).
OPENAPI_30_URL = "/openapi-3.0.json"
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
<link rel="stylesheet" href="/static/swagger-overrides.css">
<link rel="icon" type="image/png" href="{SWAGGER_PREFIX}/favicon-32x32.png">
</head>
<body>
<main><div id="swagger-ui" data-openapi-url="{openapi_url}"></div></main>
<script src="{SWAGGER_PREFIX}/swagger-ui-bundle.js"></script>
<script src="{SWAGGER_PREFIX}/swagger-ui-standalone-preset.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>"""


def openapi_30(document: Any) -> Any:
    """An OpenAPI 3.1 document (as FastAPI writes it) in OpenAPI 3.0: ``anyOf [X, null]`` as
    ``X`` with ``nullable``, ``examples`` lists as one ``example``, ``const`` as a one-value
    ``enum``, a numeric ``exclusiveMinimum``/``exclusiveMaximum`` as the bound with ``true``."""
    if isinstance(document, list):
        return [openapi_30(item) for item in document]
    if not isinstance(document, dict):
        return document
    variants = document.get("anyOf")
    nullable = isinstance(variants, list) and {"type": "null"} in variants
    if isinstance(variants, list) and nullable:
        document = document | {"anyOf": [v for v in variants if v != {"type": "null"}]}
    out = {key: openapi_30(value) for key, value in document.items()}
    if str(out.get("openapi", "")).startswith("3.1"):
        out["openapi"] = "3.0.3"
    if nullable:
        rest = out.pop("anyOf")
        if len(rest) == 1 and "$ref" not in rest[0]:
            out = rest[0] | out
        elif len(rest) == 1:
            out["allOf"] = rest
        else:
            out["anyOf"] = rest
        out["nullable"] = True
    if out.get("type") == "null":
        out.pop("type")
        out["nullable"] = True
    if isinstance(out.get("examples"), list):  # a schema's 3.1 list; 3.0's are maps
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    if "const" in out:
        out["enum"] = [out.pop("const")]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = out.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[plain] = value
            out[bound] = True
    return out


def install_api_docs(app: FastAPI, path: str = "/docs") -> None:
    """Serve Swagger UI at ``path`` from the installed package (the app is built with
    ``docs_url=None`` so FastAPI's CDN-loading page is not added), reading the 3.0 document."""
    app.mount(SWAGGER_PREFIX, StaticFiles(directory=str(swagger_ui_dir())), name="swagger-ui")
    page = docs_page(f"{app.title} — API", OPENAPI_30_URL)

    @app.get(path, include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get(OPENAPI_30_URL, include_in_schema=False)
    def openapi_document_30() -> JSONResponse:
        return JSONResponse(openapi_30(app.openapi()))
