"""/api/docs/ works offline: Swagger UI comes from our static files, not a CDN."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_the_docs_page_loads_its_assets_from_our_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', page)
    assert assets, page[:500]
    for url in assets:
        assert url.startswith("/static/drf_spectacular_sidecar/"), url
        assert finders.find(url.removeprefix("/static/")), f"missing {url}"
    assert "cdn" not in page.lower()


def test_the_schema_it_reads_is_served(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert "/api/v1/tokens/" in response.json()["paths"]


def test_the_schema_validates_without_warnings(tmp_path):
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "scheme: bearer" in text and "/api/v1/incidents/{id}/ack/" in text


def test_every_operation_documents_the_standard_errors_in_the_one_shape(client):
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    operations = [
        (path, method, operation)
        for path, item in paths.items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
        if method in {"get", "put", "patch", "post", "delete"}
    ]
    assert len(operations) > 50
    for path, method, operation in operations:
        for code in ("400", "401", "403", "404", "429"):
            answer = operation["responses"].get(code)
            assert answer is not None, f"{method.upper()} {path}: no {code}"
            schema = answer["content"]["application/json"]["schema"]
            assert "error" in schema.get("properties", {}) or "$ref" in schema, (
                f"{method.upper()} {path} {code}: {schema}"
            )
