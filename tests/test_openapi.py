"""The OpenAPI document: every registered route in it and nothing else, each with the role
its handler requires (the same as the role matrix's), its refs resolvable, served without a
token; and the page that shows it."""

from __future__ import annotations

from typing import Any

import schemathesis

from gateway.api_docs import DOCS
from gateway.api_openapi import document
from gateway.api_shapes import StoredEvent
from gateway.openapi import Doc, missing_docs, routes_of
from storage.views import InboxRecord
from tests.sim import Sim
from tests.test_roles import PUBLIC_API, ROUTES, canonical

METHODS = {"get", "put", "post", "patch", "delete", "head"}


def operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def refs(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["$ref"]} if isinstance(value.get("$ref"), str) else set()
        return found.union(*(refs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(refs(v) for v in value))
    return set()


async def test_every_route_has_a_doc_and_every_doc_a_route(sim: Sim) -> None:
    """A route added without its Doc (or a Doc left behind by a removed route) fails here."""
    assert missing_docs(sim.client.app, DOCS) == ([], [])


async def test_the_document_lists_every_route_once(sim: Sim) -> None:
    """A valid OpenAPI 3.1 document; each route is one operation (HEAD only as GET's
    mirror), with a unique operationId."""
    doc = document(sim.client.app)
    assert doc["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(doc).validate()  # against OpenAPI 3.1's own schema
    ops = operations(doc)
    assert set(ops) == {r.key for r in routes_of(sim.client.app)}
    assert not any(op.get("x-undocumented") for op in ops.values())
    ids = [op["operationId"] for op in ops.values()]
    assert len(ids) == len(set(ids))


async def test_roles_are_the_role_matrix(sim: Sim) -> None:
    """`x-role` and `security` say what tests/test_roles.py checks each route needs."""
    ops = operations(document(sim.client.app))
    for method, template, _, least, _ in ROUTES:
        op = ops[(method, canonical(template))]
        assert op["x-role"] == least, (method, template)
        assert {"bearer": []} in op["security"]
        assert "401" in op["responses"]
        assert ("403" in op["responses"]) or least == "agent"
    public = [key for key, op in ops.items() if "x-role" not in op]
    assert {k for k in public if k[1].startswith("/api")} == set(PUBLIC_API)
    for key in public:
        assert ops[key]["security"] == [], key
        assert "401" not in ops[key]["responses"] or key[1].startswith("/webhooks"), key


async def test_statuses_have_bodies_of_known_schemas(sim: Sim) -> None:
    """Every $ref names a component; every error status answers the error shape."""
    doc = document(sim.client.app)
    components = doc["components"]["schemas"]
    for ref in refs(doc):
        assert ref.removeprefix("#/components/schemas/") in components, ref
    for (method, path), op in operations(doc).items():
        for status, answer in op["responses"].items():
            if int(status) >= 400:
                schema = answer["content"]["application/json"]["schema"]
                assert schema["$ref"].endswith(("/ErrorBody", "/Refusal", "/Health")), (
                    method,
                    path,
                    status,
                )


async def test_bodies_are_the_handlers_structs(sim: Sim) -> None:
    """A body decoded into a Struct is that Struct's schema; it is required only when the
    Struct has required fields (an empty body is `{}`)."""
    ops = operations(document(sim.client.app))
    body = ops[("PUT", "/api/conversations/{id}/pause")]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PauseBody"
    }
    assert ops[("POST", "/api/agent/sessions/{id}/release")]["requestBody"]["required"] is False
    schemas = document(sim.client.app)["components"]["schemas"]
    assert schemas["PauseBody"]["additionalProperties"] is False
    assert "additionalProperties" not in schemas["MetadataBody"]  # custom fields are taken


async def test_documents_are_served_without_a_token(sim: Sim) -> None:
    """/api/openapi.json is the built document; /api/docs its page, under a strict CSP."""
    response = await sim.client.get("/api/openapi.json")
    assert response.status == 200
    assert await response.json() == document(sim.client.app)
    page = await sim.client.get("/api/docs")
    assert page.status == 200 and page.content_type == "text/html"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "apidocs.js" in await page.text()
    script = await sim.client.get("/api/docs/apidocs.js")
    assert script.status == 200 and script.content_type == "text/javascript"
    for name in ("nope.js", "..", "%2e%2e%2fapp.py"):
        missing = await sim.client.get(f"/api/docs/{name}")
        assert missing.status == 404, name


def test_stored_events_show_every_field_but_the_payload() -> None:
    """`StoredEvent` (the document's) is `InboxRecord` with `raw` for `payload`."""
    fields = set(InboxRecord.__struct_fields__) - {"payload"}
    assert fields == set(StoredEvent.__struct_fields__) - {"raw"}


def test_a_doc_needs_a_summary_and_a_success() -> None:
    """Every Doc says what the route is and at least one answer below 400."""
    for key, doc in DOCS.items():
        assert isinstance(doc, Doc) and doc.summary and doc.tag, key
        assert any(status < 400 for status in doc.answers), key
