"""The authenticated caller of a service function."""

from __future__ import annotations

from dataclasses import dataclass

from registry.errors import Forbidden
from registry.models import Role


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    role: Role
    address: str

    def require(self, *roles: Role) -> None:
        """Raise Forbidden naming the missing role unless the actor holds one of `roles`."""
        if self.role not in roles:
            needed = " or ".join(r.value for r in roles)
            raise Forbidden(f"requires role {needed}; you are {self.role.value}")
