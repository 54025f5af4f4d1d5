"""Security headers on every response (each route in the OpenAPI schema, pages, errors, static
files), no inline script in any template, and compressed responses."""

from __future__ import annotations

import re

from app_fixtures import AppHarness

from serving.app.main import TEMPLATES_DIR

REQUIRED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def _assert_secure(response, what: str) -> None:  # type: ignore[no-untyped-def]
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, what
    script_src = re.search(r"script-src ([^;]*)", csp)
    assert script_src and "'unsafe-inline'" not in script_src.group(1), what
    for name, value in REQUIRED.items():
        assert headers.get(name) == value, (what, name)


def test_every_route_in_openapi_answers_with_the_security_headers(harness: AppHarness) -> None:
    admin = harness.client_for("admin")
    schema = admin.get("/openapi.json")
    _assert_secure(schema, "/openapi.json")
    checked = 0
    # logging out last: every other route is asked as a logged-in admin
    paths = sorted(schema.json()["paths"].items(), key=lambda item: "logout" in item[0])
    for path, operations in paths:
        url = re.sub(r"\{[^}]+\}", "x", path)
        for method in operations:
            response = admin.request(method.upper(), url, json={})
            _assert_secure(response, f"{method.upper()} {path} → {response.status_code}")
            assert response.headers.get("cache-control") == "no-store", path
            checked += 1
    assert checked >= 20
    anonymous = harness.client_for(None)
    for url in ("/", "/login", "/plans", "/api/me", "/no-such-page", "/health"):
        _assert_secure(anonymous.get(url), url)
    static = anonymous.get("/static/pages.js")
    _assert_secure(static, "static")
    assert static.headers.get("cache-control") == "public, max-age=3600"


def test_no_template_carries_inline_script_or_javascript_urls() -> None:
    for template in TEMPLATES_DIR.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (template.name, tag)
        assert "javascript:" not in text, template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name  # onclick= and the like


def test_large_pages_are_compressed(harness: AppHarness) -> None:
    admin = harness.client_for("admin")
    response = admin.get("/openapi.json", headers={"accept-encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"
    assert response.json()["paths"]  # the client decompresses it intact
