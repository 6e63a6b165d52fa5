"""Authentication before the body: on a protected route, a caller that is not authenticated, or lacks the
route's role, is refused (401 or 403) even when its body or parameters are malformed or invalid, so such
a caller learns nothing about what the route accepts. Used by the error handlers of bad input."""

from __future__ import annotations

from fastapi.routing import APIRoute
from starlette.requests import Request

from api.deps import current_actor
from api.openapi_roles import _roles
from registry.errors import Forbidden, RegistryError, Unauthenticated
from registry.models import Role


async def refusal_first(request: Request) -> RegistryError | None:
    """The 401/403 the route's own dependency would give this caller, or None (public route, or allowed)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return None
    roles = _roles(route.dependant)
    if roles is None:
        return None
    try:
        actor = await current_actor(request, request.app.state.services)
        actor.require(*(Role(r) for r in roles))
    except (Unauthenticated, Forbidden) as exc:
        return exc
    return None
