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
    # Swagger UI 4 (the package's) renders OpenAPI 3.0 only: the page reads the 3.0 document
    assert 'data-openapi-url="/openapi-3.0.json"' in page.text
    full = client.get("/openapi.json").json()
    assert full["openapi"].startswith("3.1") and full["paths"]
    said = client.get("/openapi-3.0.json").json()
    assert said["openapi"] == "3.0.3" and said["paths"].keys() == full["paths"].keys()
    text = str(said)
    assert "'type': 'null'" not in text and "'const'" not in text


def test_openapi_30_says_31_nullables_examples_and_bounds_in_30() -> None:
    from serving.app.api_docs import openapi_30

    document = {
        "openapi": "3.1.0",
        "components": {
            "schemas": {
                "A": {
                    "properties": {
                        "budget": {"anyOf": [{"type": "number"}, {"type": "null"}]},
                        "plan": {"anyOf": [{"$ref": "#/components/schemas/B"}, {"type": "null"}]},
                        "risk": {"type": "number", "exclusiveMinimum": 0, "examples": [0.9]},
                        "kind": {"const": "fix"},
                    }
                }
            }
        },
    }
    said = openapi_30(document)
    properties = said["components"]["schemas"]["A"]["properties"]
    assert said["openapi"] == "3.0.3"
    assert properties["budget"] == {"type": "number", "nullable": True}
    assert properties["plan"] == {"allOf": [{"$ref": "#/components/schemas/B"}], "nullable": True}
    assert properties["risk"] == {
        "type": "number",
        "minimum": 0,
        "exclusiveMinimum": True,
        "example": 0.9,
    }
    assert properties["kind"] == {"enum": ["fix"]}
