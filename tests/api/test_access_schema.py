"""The access resources in the OpenAPI document."""

import json

import pytest
from django.urls import reverse


@pytest.fixture
def schema(anon) -> dict:
    return json.loads(anon.get(reverse("api-schema")).content)


ACCESS_PATHS = {
    "/api/v1/systems/": {"get"},
    "/api/v1/systems/{id}/": {"get"},
    "/api/v1/roles/": {"get"},
    "/api/v1/roles/{id}/": {"get"},
    "/api/v1/roles/{id}/holders/": {"get"},
    "/api/v1/accounts/": {"get"},
    "/api/v1/accounts/{id}/": {"get"},
    "/api/v1/grants/": {"get"},
    "/api/v1/grants/{id}/": {"get"},
    "/api/v1/grants/{id}/end/": {"post"},
    "/api/v1/grants/{id}/suspend/": {"post"},
    "/api/v1/grants/{id}/resume/": {"post"},
    "/api/v1/people/{id}/explain/": {"get"},
    "/api/v1/access-requests/": {"get", "post"},
    "/api/v1/access-requests/{id}/": {"get"},
    "/api/v1/access-requests/{id}/approve/": {"post"},
    "/api/v1/access-requests/{id}/reject/": {"post"},
    "/api/v1/access-requests/{id}/return/": {"post"},
    "/api/v1/access-requests/{id}/resubmit/": {"post"},
    "/api/v1/access-requests/{id}/cancel/": {"post"},
    "/api/v1/access-request-items/": {"get"},
    "/api/v1/access-request-items/{id}/": {"get"},
    "/api/v1/access-request-items/{id}/fulfil/": {"post"},
    "/api/v1/findings/": {"get"},
    "/api/v1/findings/{id}/": {"get"},
    "/api/v1/findings/evaluate/": {"post"},
}


@pytest.mark.django_db
def test_the_document_lists_the_access_resources(schema):
    paths = schema["paths"]
    for path, methods in ACCESS_PATHS.items():
        assert path in paths, path
        assert set(paths[path]) - {"parameters"} == methods, path


def _params(schema: dict, path: str, method: str = "get") -> set[str]:
    return {p["name"] for p in schema["paths"][path][method].get("parameters", [])}


@pytest.mark.django_db
def test_filters_and_paging_are_described(schema):
    paging = {"cursor", "page_size"}
    assert {"kind", "active", *paging} <= _params(schema, "/api/v1/systems/")
    assert {"q", "system", "sensitivity", "delegable", *paging} <= _params(schema, "/api/v1/roles/")
    holders = _params(schema, "/api/v1/roles/{id}/holders/")
    assert holders == {"id", "at", *paging}  # not the role list's filters
    assert {"person", "system", "state", *paging} <= _params(schema, "/api/v1/accounts/")
    assert {"person", "role", "system", "basis", "in_force_at", "ended"} <= _params(
        schema, "/api/v1/grants/"
    )
    assert {"state", "person"} <= _params(schema, "/api/v1/access-requests/")
    assert {"kind", "person", "org_unit", "resolved"} <= _params(schema, "/api/v1/findings/")
    assert {"id", "role", "at"} <= _params(schema, "/api/v1/people/{id}/explain/")
    types = {
        p["name"]: p["schema"].get("type")
        for p in schema["paths"]["/api/v1/findings/"]["get"]["parameters"]
    }
    assert types["org_unit"] == "integer" and types["resolved"] == "boolean"


@pytest.mark.django_db
def test_request_and_response_bodies_are_described(schema):
    def ref(part: dict) -> str:
        return part["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]

    create = schema["paths"]["/api/v1/access-requests/"]["post"]
    assert ref(create["requestBody"]) == "AccessRequestRequest"
    assert ref(create["responses"]["201"]) == "AccessRequest"
    assert {"400", "401", "403"} <= set(create["responses"])
    end = schema["paths"]["/api/v1/grants/{id}/end/"]["post"]
    assert ref(end["requestBody"]) == "EndGrantRequest" and ref(end["responses"]["200"]) == "Grant"
    holders = schema["paths"]["/api/v1/roles/{id}/holders/"]["get"]["responses"]["200"]
    assert ref(holders) == "PaginatedHolderList"
    components = schema["components"]["schemas"]
    item = components["AccessRequestItemRequest"]["properties"]
    assert {"kind", "system", "role", "grant", "valid_from", "valid_to"} <= set(item)
    grant = components["Grant"]["properties"]
    assert {"basis", "basis_duty", "basis_job_description", "basis_item", "basis_request"} <= set(
        grant
    )
    assert set(components["Fix"]["properties"]) == {"label", "url"}
