"""Governance: the authority (governance in the embedded setup) grants the admin accounts their chain roles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AuthorityCtx
from registry.governance import grant_roles

router = APIRouter(prefix="/governance", tags=["accounts"])


class RoleGrantsIn(BaseModel):
    account_ids: list[str] = Field(default_factory=list, max_length=50)
    house: bool = False

    model_config = ConfigDict(extra="forbid")


@router.post("/roles", summary="Grant authority/exchange accounts (and the exchange's house key) their chain roles "
                                "as governance's signed acts (authority)")
def roles(body: RoleGrantsIn, c: AuthorityCtx) -> dict[str, Any]:
    granted = grant_roles(c.session, c.gateway, c.actor, body.account_ids, body.house)
    c.commit()
    return {"granted": granted}
