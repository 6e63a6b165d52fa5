"""Publish each operation's role rule in the OpenAPI document as `x-roles`.

The rule is read from the route's own `require(...)` dependency, so the document cannot drift
from what the server enforces. Routes without one are `["public"]`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from api.deps import ROLES_ATTR

PUBLIC = "public"


def _roles(dependant: Dependant) -> tuple[str, ...] | None:
    for sub in dependant.dependencies:
        found = getattr(sub.call, ROLES_ATTR, None)
        if found is not None:
            return tuple(found)
        nested = _roles(sub)
        if nested is not None:
            return nested
    return None


def route_roles(app: FastAPI) -> dict[tuple[str, str], tuple[str, ...]]:
    """(METHOD, path) → roles allowed, for every API route (included routers flattened)."""
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute) and route.include_in_schema and ctx.path:
            roles = _roles(route.dependant) or (PUBLIC,)
            for method in ctx.methods or ():
                out[(method, ctx.path)] = roles
    return out


def install_role_extensions(app: FastAPI, *extras: Callable[[dict[str, Any]], None]) -> None:
    """Replace `app.openapi` with one that adds `x-roles` to every operation (then applies `extras`)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes, tags=app.openapi_tags)
        for (method, path), roles in route_roles(app).items():
            op = schema.get("paths", {}).get(path, {}).get(method.lower())
            if op is not None:
                op["x-roles"] = list(roles)
        for extra in extras:
            extra(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
