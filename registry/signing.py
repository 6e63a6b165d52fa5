"""Who signed this request, and the chain acts it makes: the signing scope of one unit of work.

A request's signed statement (`ledger.statements`, verified by the API before the handler runs) opens a
`SigningScope` on the request's database session (`session.info`). Within it:
- `new_id` derives object ids from the signer and the statement's nonce, so running the same signed
  request twice (once to learn which acts to sign, once with the signatures) makes the same ids, hence
  the same calldata;
- `sign_acts` turns the acts a service makes into forward requests: with no signatures yet it collects
  them (`prepare`), and the session refuses to commit (`SignatureRequired`, 428); with signatures it
  checks each against the signer's bound address, over exactly these acts and nonces, and returns them
  ready to relay (`ActChanged`, 409, when they do not match).
Acts the exchange makes on its own account (a refund a buyer asked for) are signed by its house key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session, col, select

from ledger.acts import Act
from ledger.forwarder import ForwarderDomain, ForwardRequest, SignedRequest, build_request, recover_signer
from registry.errors import Conflict, RegistryError
from registry.models import ChainState, ChainTx

ID_NAMESPACE = uuid.UUID("6f1c1f4e-7d1e-4d5e-9b0a-3c2f8e9a7b10")
OUTBOX_TTL_S = 7 * 86400  # a signed chain act stays valid this long: the outbox may hold it through an outage


class SignatureRequired(RegistryError):
    """428: the request makes chain acts its signer has not signed yet; `requests` are what to sign."""

    code = "signature_required"

    def __init__(self, requests: list[dict[str, Any]]) -> None:
        super().__init__(f"this request makes {len(requests)} chain act(s): sign each `requests[i].typed_data` "
                         "and send the same request again with the `Provex-Forward` header (docs/signing.md)")
        self.requests = requests


class ActChanged(Conflict):
    """409: the signatures sent do not match the acts this request makes now."""

    code = "act_changed"


@dataclass(frozen=True)
class ForwardSig:
    nonce: int
    deadline: int
    gas: int
    signature: str


@dataclass
class SigningScope:
    """One signed request: its signer, statement (with signature), and the forward signatures sent, if any."""

    account_id: str
    address: str
    statement: dict[str, Any]
    forward: list[ForwardSig] | None = None  # None: not sent yet (prepare)
    to_sign: list[dict[str, Any]] = field(default_factory=list)
    cursor: int = 0
    ids: int = 0

    @property
    def preparing(self) -> bool:
        return self.forward is None


def open_scope(session: Session, scope: SigningScope) -> None:
    session.info["signing"] = scope


def scope_of(session: Session) -> SigningScope | None:
    scope = session.info.get("signing")
    return scope if isinstance(scope, SigningScope) else None


def new_id(session: Session) -> str:
    """A fresh object id; within a signed request, the same sequence each time the request runs."""
    scope = scope_of(session)
    if scope is None:
        return str(uuid.uuid4())
    scope.ids += 1
    return str(uuid.uuid5(ID_NAMESPACE, f"{scope.account_id}:{scope.statement['nonce']}:{scope.ids}"))


RECENT_JOBS = 500  # beyond these, a signer's requests are long relayed: the forwarder's own nonce covers them


def stored_next_nonce(session: Session, signer: str) -> int:
    """One past the highest forward nonce of `signer` the exchange holds (pending or recent jobs), else 0."""
    recent = select(ChainTx.payload).order_by(col(ChainTx.pk).desc()).limit(RECENT_JOBS)
    pending = select(ChainTx.payload).where(ChainTx.state == ChainState.PENDING)
    nonces = [int(e["nonce"]) for stmt in (pending, recent) for p in session.exec(stmt).all()
              for e in p.get("forward") or () if e["from"].lower() == signer.lower()]
    return max(nonces) + 1 if nonces else 0


def entry_of(signed: SignedRequest, act: Act) -> dict[str, Any]:
    """A signed request as the outbox stores it (what relaying needs, and the act's event)."""
    r = signed.request
    return {"from": r.sender, "to": r.to, "gas": r.gas, "nonce": r.nonce, "deadline": r.deadline,
            "data": "0x" + r.data.hex(), "signature": "0x" + signed.signature.hex(),
            "contract": act.contract, "event": act.event}


def signed_of(entry: dict[str, Any]) -> tuple[SignedRequest, Act]:
    data = bytes.fromhex(entry["data"][2:])
    request = ForwardRequest(entry["from"], entry["to"], 0, int(entry["gas"]), int(entry["nonce"]),
                             int(entry["deadline"]), data)
    return (SignedRequest(request, bytes.fromhex(entry["signature"][2:])),
            Act(entry["contract"], entry["to"], data, entry["event"]))


def check_signed(scope: SigningScope, domain: ForwarderDomain, act: Act, expected_nonce: int) -> SignedRequest:
    """The next forward signature sent, checked against `act` at `expected_nonce`; ActChanged when it is not."""
    assert scope.forward is not None
    if scope.cursor >= len(scope.forward):
        raise ActChanged(f"this request now makes more chain acts than the {len(scope.forward)} signed: "
                         "prepare again (send it without Provex-Forward)")
    sig = scope.forward[scope.cursor]
    scope.cursor += 1
    request = build_request(scope.address, act, nonce=sig.nonce, gas=sig.gas, deadline=sig.deadline)
    signed = SignedRequest(request, bytes.fromhex(sig.signature.removeprefix("0x")))
    try:
        signer = recover_signer(signed, domain)
    except Exception:  # malformed signature bytes
        signer = ""
    if signer.lower() != scope.address.lower():
        raise ActChanged(f"forward signature {scope.cursor} is not {scope.address}'s over the act this request "
                         "makes now (it changed since it was prepared, or another key signed): prepare again")
    if sig.nonce != expected_nonce:
        raise ActChanged(f"forward signature {scope.cursor} uses nonce {sig.nonce}; the next free nonce of "
                         f"{scope.address} is {expected_nonce} (another request took it): prepare again")
    return signed


@event.listens_for(Session, "before_commit")
def _refuse_unsigned(session: sa.orm.Session) -> None:
    """Nothing is written while a request's chain acts wait for their signer's signatures."""
    scope = session.info.get("signing")
    if isinstance(scope, SigningScope) and scope.to_sign:
        raise SignatureRequired(scope.to_sign)


def finish(session: Session) -> None:
    """At the end of a signed request: every forward signature sent must have been used."""
    scope = scope_of(session)
    if scope is not None and scope.forward is not None and scope.cursor != len(scope.forward):
        raise ActChanged(f"{len(scope.forward)} forward signatures were sent; this request makes {scope.cursor} "
                         "chain act(s) now: prepare again")
