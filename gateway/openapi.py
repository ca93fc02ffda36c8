"""The OpenAPI 3.1 document, built from what the app really is: its route table (paths,
methods, path parameters), the least role each handler declares (`@requires`), and msgspec's
JSON schemas of the Structs that handlers decode and answer with. What the routes cannot say
of themselves (query parameters, which Struct a dict-built answer follows, which statuses a
handler gives) is declared per route in `gateway.api_docs`, as `Doc`s.

Every route gets the answers that the edge gives anywhere: `400` (a bad query, body,
header or URL), `503` (busy or stopping: retry), and for a route with a bearer token `401`,
and `403` above the agent role; `404` where the path names something; `413` with a body.
A route without a `Doc` is still listed (marked `x-undocumented`), and `missing_docs` names
it: a test keeps the two tables equal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal

import msgspec
from aiohttp import web

from gateway.api_shapes import ErrorBody

REF = "#/components/schemas/{name}"
JSON = "application/json"
PATH_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")
# aiohttp's default pattern for `{name}`: one path segment, without braces.
SEGMENT = {"type": "string", "pattern": "^[^{}/]+$"}
RANKS = {"agent": 1, "supervisor": 2, "admin": 3}
EMPTY = {"type": "string", "maxLength": 0}


@dataclass(frozen=True)
class Param:
    """A query parameter or a header of a route."""

    name: str
    schema: Mapping[str, Any]
    description: str = ""
    where: Literal["query", "header"] = "query"
    required: bool = False


@dataclass(frozen=True)
class Answer:
    """One status of a route: what it means, and its body (a type msgspec can describe,
    or a JSON schema; `media` None for no body)."""

    description: str
    type: Any = None
    media: str | None = JSON


@dataclass(frozen=True)
class Doc:
    """What a route takes and answers, beyond what its registration says."""

    summary: str
    tag: str
    answers: Mapping[int, Answer]
    params: Sequence[Param] = ()
    body: Any = None
    open_body: bool = False  # keys the body's type does not name are taken too (custom fields)
    description: str = ""
    path_params: Mapping[str, str] = field(default_factory=dict)  # name -> description


def json(type_: Any, description: str) -> Answer:
    return Answer(description, type_)


def error(description: str) -> Answer:
    return Answer(description, ErrorBody)


def integer(low: int, high: int | None = None, default: int | None = None) -> dict[str, Any]:
    """A whole number in a query (ASCII digits); empty is the same as not given."""
    number: dict[str, Any] = {"type": "integer", "minimum": low}
    if high is not None:
        number["maximum"] = high
    schema: dict[str, Any] = {"anyOf": [number, EMPTY]}
    if default is not None:
        schema["default"] = default
    return schema


def text(*choices: str) -> dict[str, Any]:
    """Text in a query: one of `choices` if any (empty is the same as not given)."""
    return {"type": "string", "enum": [*choices, ""]} if choices else {"type": "string"}


def day() -> dict[str, Any]:
    return {"anyOf": [{"type": "string", "format": "date"}, EMPTY]}


Key = tuple[str, str]  # (method, path as registered)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    role: str | None
    handler: Any

    @property
    def key(self) -> Key:
        return (self.method, self.path)

    @property
    def path_params(self) -> list[str]:
        return PATH_PARAM.findall(self.path)


def routes_of(app: web.Application) -> list[Route]:
    """Every route of the app, HEAD left out where it mirrors a GET."""
    found: dict[Key, Route] = {}
    for route in app.router.routes():
        if route.resource is None:
            continue
        path = route.resource.canonical
        role = getattr(route.handler, "min_role", None)
        found[(route.method, path)] = Route(route.method, path, role, route.handler)
    return [r for r in found.values() if not (r.method == "HEAD" and ("GET", r.path) in found)]


def missing_docs(app: web.Application, docs: Mapping[Key, Doc]) -> tuple[list[Key], list[Key]]:
    """(registered routes without a Doc, Docs naming no registered route)."""
    keys = {r.key for r in routes_of(app)}
    return sorted(keys - set(docs)), sorted(set(docs) - keys)


def build(app: web.Application, docs: Mapping[Key, Doc], title: str) -> dict[str, Any]:
    routes = sorted(routes_of(app), key=lambda r: (r.path, r.method))
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        doc = docs.get(route.key)
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, doc, schemas)
    tags = sorted({doc.tag for doc in docs.values()})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": _version(),
            "description": (
                "Built by the gateway from its route table and its msgspec schemas. Errors "
                'are `{"error": {"code", "message", "field"}}`. `x-role` is the least role of '
                "a route (agent < supervisor < admin); routes without it need no token. "
                "Every GET also answers HEAD."
            ),
        },
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": schemas.components(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an operator's token, or the admin's of [auth] admin_token_env",
                },
                "token_query": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "token",
                    "description": "the same token in `?token=`: on the WebSocket only",
                },
            },
        },
    }


def _version() -> str:
    try:
        return metadata.version("wa-gateway")
    except metadata.PackageNotFoundError:
        return "0"


def _operation(route: Route, doc: Doc | None, schemas: _Schemas) -> dict[str, Any]:
    handler = route.handler
    op: dict[str, Any] = {
        "operationId": f"{handler.__module__.rpartition('.')[2]}.{handler.__name__}",
        "summary": doc.summary if doc else "(undocumented)",
        "tags": [doc.tag] if doc else ["undocumented"],
    }
    if doc is None:
        op["x-undocumented"] = True
    if doc and doc.description:
        op["description"] = doc.description
    if route.role is None:
        op["security"] = []
    else:
        op["x-role"] = route.role
        op["security"] = [{"bearer": []}]
        if route.path.endswith("/ws"):
            op["security"].append({"token_query": []})
    params = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": SEGMENT,
            **({"description": doc.path_params[name]} if doc and name in doc.path_params else {}),
        }
        for name in route.path_params
    ]
    for p in doc.params if doc else ():
        entry = {"name": p.name, "in": p.where, "required": p.required, "schema": dict(p.schema)}
        if p.description:
            entry["description"] = p.description
        params.append(entry)
    if params:
        op["parameters"] = params
    if doc and doc.body is not None:
        schema = schemas.ref(doc.body, open_=doc.open_body)
        op["requestBody"] = {
            "required": _requires_body(doc.body),
            "content": {JSON: {"schema": schema}},
        }
    op["responses"] = {
        str(status): _response(answer, schemas)
        for status, answer in sorted(_answers(route, doc).items())
    }
    return op


def _requires_body(type_: Any) -> bool:
    """An empty body is `{}`: it is needed only when the type has required fields."""
    info = msgspec.inspect.type_info(type_)
    if isinstance(info, msgspec.inspect.StructType):
        return any(f.required for f in info.fields)
    return False


def _answers(route: Route, doc: Doc | None) -> dict[int, Answer]:
    answers: dict[int, Answer] = {
        400: error("bad input: a query parameter, the body, a header or the URL (`field`)"),
        503: error("`busy`, `not_ready` or `shutting_down`: retry"),
    }
    if route.role is not None:
        answers[401] = error("no valid bearer token")
        if RANKS[route.role] > RANKS["agent"]:
            answers[403] = error(f"this needs the {route.role} role")
    if route.path_params:
        answers[404] = error("nothing by that name")
    if doc is None:
        answers[200] = Answer("undocumented", None, None)
        return answers
    if doc.body is not None:
        answers[413] = error("the body is over `[server] max_body_bytes`")
    return {**answers, **doc.answers}


def _response(answer: Answer, schemas: _Schemas) -> dict[str, Any]:
    response: dict[str, Any] = {"description": answer.description}
    if answer.media is not None:
        schema = schemas.ref(answer.type) if answer.type is not None else {}
        response["content"] = {answer.media: {"schema": schema}}
    return response


class _Schemas:
    """The types the document names, made into components in one msgspec call (so that a
    Struct used in many places is one component)."""

    def __init__(self) -> None:
        self._types: list[Any] = []
        self._open: set[str] = set()
        self._refs: list[tuple[Any, dict[str, Any]]] = []

    def ref(self, type_: Any, *, open_: bool = False) -> dict[str, Any]:
        """A placeholder filled in by `components()` (the document is built first)."""
        if isinstance(type_, Mapping):
            return dict(type_)
        placeholder: dict[str, Any] = {}
        self._types.append(type_)
        self._refs.append((type_, placeholder))
        if open_:
            self._open.add(type_.__name__)
        return placeholder

    def components(self) -> dict[str, Any]:
        if not self._types:
            return {}
        unique = list(dict.fromkeys(self._types))
        found, components = msgspec.json.schema_components(unique, ref_template=REF)
        by_type = dict(zip(unique, found, strict=True))
        for type_, placeholder in self._refs:
            placeholder.update(by_type[type_])
        for name in self._open:
            components[name].pop("additionalProperties", None)
        for schema in _nodes(components):
            schema.pop("title", None)
        return components


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    """The component schemas themselves (their titles repeat their names)."""
    if isinstance(value, dict):
        yield from (v for v in value.values() if isinstance(v, dict))
