"""Participants' signed requests: the `Provex-*` headers of every state-changing request, checked against the
caller's bound address before the handler runs (docs/signing.md)."""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from ledger.records import SIGNED_STATEMENT
from ledger.statements import (
    RequestStatement,
    StatementError,
    body_hash,
    check_fresh,
    check_hex32,
    statement_domain,
    verify,
)
from registry.accounts import actor_of
from registry.actor import Actor
from registry.errors import Conflict, InvalidInput, Unauthenticated
from registry.models import Account, RequestNonce
from registry.signing import ForwardSig, SigningScope, open_scope

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STATEMENT_HEADERS = ("Provex-Signer", "Provex-Nonce", "Provex-Deadline", "Provex-Signature")
FORWARD_HEADER = "Provex-Forward"
MAX_FORWARD = 16


class StatementMissing(Unauthenticated):
    code = "statement_required"


class SignatureInvalid(Unauthenticated):
    code = "signature_invalid"


class RequestReplayed(Conflict):
    code = "request_replayed"


def target_of(request: Request) -> str:
    """The path as sent, with its query string: what the statement names."""
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    query = request.scope.get("query_string") or b""
    return raw.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")


def parse_forward(value: str | None) -> list[ForwardSig] | None:
    """The `Provex-Forward` header: None when absent; InvalidInput naming what is malformed."""
    if value is None:
        return None
    try:
        items = json.loads(value)
        if not isinstance(items, list) or len(items) > MAX_FORWARD:
            raise ValueError(f"a JSON list of at most {MAX_FORWARD} entries")
        return [ForwardSig(_uint(i["nonce"]), _uint(i["deadline"]), _uint(i["gas"]), str(i["signature"]))
                for i in items]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(FORWARD_HEADER, f"must be a JSON list of {{nonce, deadline, gas, signature}}: {exc}") \
            from None


def _uint(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**256:
        raise ValueError(f"{value!r} is not an unsigned integer")
    return value


def _seen(engine: Any, signer: str, nonce: str) -> bool:
    with Session(engine) as s:
        stmt = select(RequestNonce.pk).where(RequestNonce.signer == signer).where(RequestNonce.nonce == nonce)
        return s.exec(stmt).first() is not None


async def open_signed_request(request: Request, actor: Actor, session: Session, engine: Any, ledger: Any) -> None:
    """Check the request's statement; open its signing scope on `session` (the nonce is kept on commit)."""
    headers = request.headers
    missing = [h for h in STATEMENT_HEADERS if not headers.get(h)]
    if missing:
        raise StatementMissing(f"a state-changing request must be signed by its participant: missing "
                               f"{', '.join(missing)} (docs/signing.md)")
    if headers["Provex-Signer"].strip().lower() != actor.address.lower():
        raise SignatureInvalid(f"Provex-Signer is {headers['Provex-Signer']}; this account's bound address is "
                               f"{actor.address}")
    domain = statement_domain(ledger.deployment)
    signature = headers["Provex-Signature"].strip()
    try:
        nonce = check_hex32(headers["Provex-Nonce"], "Provex-Nonce")
        deadline = int(headers["Provex-Deadline"])
        check_fresh(deadline, int(time.time()))
        statement = RequestStatement(actor.address, request.method, target_of(request),
                                     body_hash(await request.body()), nonce, deadline)
        verify(domain, statement, signature, actor.address)
    except (StatementError, ValueError) as exc:
        raise SignatureInvalid(f"the request's signature does not hold: {exc}") from None
    forward = parse_forward(headers.get(FORWARD_HEADER))
    if await run_in_threadpool(_seen, engine, actor.address, nonce):
        raise RequestReplayed(f"this signed request (nonce {nonce}) was accepted before: sign a new one")
    record = {**statement.as_json(), "signature": signature.lower(), "chain_id": domain.chain_id,
              "verifying_contract": domain.verifying_contract}
    open_scope(session, SigningScope(actor.id, actor.address, record, forward))
    session.info[SIGNED_STATEMENT] = (actor.id, record)
    session.add(RequestNonce(signer=actor.address, nonce=nonce, deadline=deadline))


def _holder(engine: Any, address: str) -> Actor:
    with Session(engine) as s:
        row = s.exec(select(Account).where(sa.func.lower(Account.address) == address.lower())).first()
        if row is None:
            raise SignatureInvalid(f"no account is bound to {address}")
        return actor_of(row)


async def chain_key_holder(request: Request, session: Session, engine: Any, ledger: Any) -> Actor:
    """The account whose bound address signed this request (no API key: e.g. recovering a revoked one)."""
    signer = request.headers.get("Provex-Signer", "").strip()
    if not signer:
        raise StatementMissing("sign the request with the account's chain key (Provex-* headers, docs/signing.md)")
    actor = await run_in_threadpool(_holder, engine, signer)
    await open_signed_request(request, actor, session, engine, ledger)
    return actor
