"""/docs works offline: Swagger UI comes from the installed swagger_ui_bundle package, the page
loads nothing from another host and starts Swagger from a static script (no inline script)."""

from __future__ import annotations

import re

from app_fixtures import AppHarness


def test_docs_page_loads_swagger_from_the_app_itself(harness: AppHarness) -> None:
    client = harness.client_for(None)
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources), sources
    assert "http://" not in page.text and "https://" not in page.text
    assert re.search(r"<script>[^<]", page.text) is None  # every script is a file
    for source in sources:
        response = client.get(source)
        assert response.status_code == 200, source
        assert len(response.content) > 100, source
    bundle = client.get("/static/swagger-ui/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text
    assert 'data-openapi-url="/openapi.json"' in page.text
    assert client.get("/openapi.json").json()["paths"]
