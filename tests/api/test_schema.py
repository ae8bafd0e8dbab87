"""The OpenAPI document and the human-readable reference page."""

import json

import pytest
from django.urls import reverse
from drf_spectacular.validation import validate_schema


@pytest.fixture
def schema(anon) -> dict:
    response = anon.get(reverse("api-schema"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return json.loads(response.content)


@pytest.mark.django_db
def test_the_document_is_valid_openapi(schema):
    validate_schema(schema)  # raises on any violation of the OpenAPI 3 JSON schema
    assert schema["openapi"].startswith("3.")


@pytest.mark.django_db
def test_the_document_lists_the_people_resources(schema):
    paths = schema["paths"]
    assert set(paths["/api/v1/people/"]) == {"get", "post"}
    assert set(paths["/api/v1/people/{id}/"]) == {"get", "put", "patch"}
    assert set(paths["/api/v1/people/{id}/personal-code/"]) == {"post"}
    assert "/api/v1/org-units/" in paths and "/api/v1/positions/{id}/" in paths
    params = {p["name"] for p in paths["/api/v1/people/"]["get"]["parameters"]}
    assert {"q", "org_unit", "status", "position", "cursor", "page_size"} <= params


@pytest.mark.django_db
def test_the_document_declares_bearer_auth(schema):
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token issued with `tugi token create USERNAME`.",
    }
    for item in schema["paths"].values():
        for operation in item.values():
            assert {"bearerAuth": []} in operation["security"]


@pytest.mark.django_db
def test_the_personal_code_is_write_only(schema):
    components = schema["components"]["schemas"]
    assert "personal_code" not in components["Person"]["properties"]
    assert "personal_code" in components["PersonRequest"]["properties"]
    assert components["Person"]["properties"]["has_personal_code"]["readOnly"] is True


@pytest.mark.django_db
def test_errors_are_described(schema):
    responses = schema["paths"]["/api/v1/people/"]["post"]["responses"]
    assert {"201", "400", "401", "403"} <= set(responses)
    assert responses["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    pages = schema["components"]["schemas"]["PaginatedPersonList"]["properties"]
    assert set(pages) == {"next", "previous", "results"}


@pytest.mark.django_db
def test_the_reference_page_needs_no_cdn(anon):
    response = anon.get(reverse("api-docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/v1/people/{id}/personal-code/" in html
    assert 'href="/api/v1/openapi.json"' in html
    assert "<script" not in html and "https://" not in html


@pytest.mark.django_db
def test_the_generator_gives_no_warnings(tmp_path):
    """Every filter, field and response is typed: nothing falls back to a guess."""
    from django.core.management import call_command

    target = tmp_path / "openapi.json"
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--lang",
        "en",
        "--format",
        "openapi-json",
        "--file",
        str(target),
    )
    assert "/api/v1/people/" in json.loads(target.read_text())["paths"]
