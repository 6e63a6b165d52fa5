"""Calling registry services directly as a participant who signs, the way the API does for a signed request:
run once to learn the chain acts, sign them with the participant's key, run again with the signatures."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from eth_account.signers.local import LocalAccount
from sqlmodel import Session

from api.client.signer import sign_forward
from ledger.records import SIGNED_STATEMENT
from ledger.statements import new_nonce
from registry.actor import Actor
from registry.signing import ForwardSig, SignatureRequired, SigningScope, finish, open_scope

T = TypeVar("T")


def _scoped(engine: sa.Engine, actor: Actor, statement: dict[str, str], forward: list[ForwardSig] | None) -> Session:
    session = Session(engine, expire_on_commit=False)
    open_scope(session, SigningScope(actor.id, actor.address, statement, forward))
    session.info[SIGNED_STATEMENT] = (actor.id, statement)
    return session


def as_signer(engine: sa.Engine, actor: Actor, key: LocalAccount, call: Callable[[Session], T]) -> T:
    """`call(session)` committed as `actor`'s signed request (its chain acts signed by `key`)."""
    statement = {"nonce": new_nonce()}
    with _scoped(engine, actor, statement, None) as s:
        try:
            out = call(s)
            finish(s)
            s.commit()
            return out
        except SignatureRequired as exc:
            requests = exc.requests
    forward = [ForwardSig(**e) for e in json.loads(sign_forward(key, requests))]
    with _scoped(engine, actor, statement, forward) as s:
        out = call(s)
        finish(s)
        s.commit()
        return out
