"""Request dependencies: the settings, the authenticated actor (with the route's roles), the session, the gateway.

Handlers take them through the `Annotated` aliases at the end (`SessionDep`, `BuyerCtx`, ...), so a route
states who may call it in its signature and nowhere else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import anyio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.promise_header import STATE_KEY as PROMISES_STATE_KEY
from api.settings import Settings
from api.signed import UNSAFE_METHODS, chain_key_holder, open_signed_request
from ledger.promises import DELIVERED as DELIVERED_PROMISES
from registry.access import OVERSEERS
from registry.accounts import authenticate, hash_api_key
from registry.actor import Actor
from registry.chain import ChainGateway, has_pending
from registry.errors import Unauthenticated
from registry.models import Role
from registry.queries.egress import NodeAddressPolicy
from registry.queries.providers import coordinator_identity
from registry.queries.serving import NodeReach
from registry.sessions import resolve_session
from registry.signing import finish


@dataclass
class Services:
    """What the app's lifespan puts on `app.state.services`."""

    engine: Any
    gateway: ChainGateway
    outbox_wakeup: threading.Event
    actors: dict[str, tuple[Actor, float]]  # api key hash -> (actor, monotonic expiry)
    reads: anyio.CapacityLimiter  # the read routes' own threads (`Ctx.read`, PROVEX_READ_THREADS)


# The dependencies are `async def` so that FastAPI runs them on the event loop: a sync dependency costs
# a worker-thread round trip each (and a generator two), more than the work they do. Only the handler
# itself, which runs the queries, goes to the thread pool.

async def app_settings(request: Request) -> Settings:
    """The settings the app was created with (`create_app` puts them on `app.state.settings`)."""
    settings: Settings = request.app.state.settings
    return settings


async def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


async def coordinator_key(request: Request) -> Ed25519PrivateKey:
    """The exchange's coordinator signing key (loaded or created under PROVEX_HOME at start)."""
    key: Ed25519PrivateKey = request.app.state.coordinator_key
    return key


async def node_reach(request: Request) -> NodeReach:
    """How the exchange asks provider nodes: its coordinator key and the node address allow-list."""
    settings: Settings = request.app.state.settings
    return NodeReach(coordinator_identity(request.app.state.coordinator_key)["public_key"],
                     NodeAddressPolicy.from_settings(settings.provider_allow, dev=settings.env == "dev"))


async def session(request: Request, svc: Services = Depends(services)) -> AsyncIterator[Session]:
    s = Session(svc.engine, expire_on_commit=False)  # connects lazily, in the handler's thread
    delivered = request.scope.get("state", {}).get(PROMISES_STATE_KEY)
    if delivered is not None:  # committed records' promises go to the response (api.promise_header)
        s.info[DELIVERED_PROMISES] = delivered
    try:
        yield s
    finally:
        if svc.engine.dialect.name == "sqlite":
            s.close()  # returning an embedded connection (a rollback at most) takes microseconds
        else:
            await run_in_threadpool(s.close)  # a server round trip: not on the event loop


def _authenticate(engine: Any, token: str) -> Actor:
    with Session(engine) as s:
        return authenticate(s, token)


def _session_actor(engine: Any, session_id: str) -> Actor:
    with Session(engine) as s:
        return resolve_session(s, session_id).actor


ACTOR_TTL_S = 5.0  # how long an authenticated key is trusted without a database look-up


async def current_actor(request: Request, svc: Services = Depends(services)) -> Actor:
    """The caller: `Bearer <api key>`, or `Session <portal session id>` (how the portal calls this API for
    its signed-in browser; sessions are looked up every time, so sign-out and expiry take effect at once)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "session" and token.strip():
        return await run_in_threadpool(_session_actor, svc.engine, token.strip())
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send `Authorization: Bearer <api key>`")
    key_hash = hash_api_key(token.strip())
    cached = svc.actors.get(key_hash)
    now = time.monotonic()
    if cached is not None and cached[1] > now:
        return cached[0]
    # first use of this key in this process, or its entry has aged out (a key revoked through another API
    # process stops working here within ACTOR_TTL_S): one query, off the event loop
    actor = await run_in_threadpool(_authenticate, svc.engine, token.strip())
    svc.actors[key_hash] = (actor, now + ACTOR_TTL_S)
    return actor


T = TypeVar("T")
ROLES_ATTR = "provex_roles"


def require(*roles: Role) -> Callable[..., Awaitable[Actor]]:
    """A dependency giving the actor, or 403 naming the roles this route needs."""

    async def dep(actor: Actor = Depends(current_actor)) -> Actor:
        actor.require(*roles)
        return actor

    dep.__name__ = "require_" + "_or_".join(r.value for r in roles)
    setattr(dep, ROLES_ATTR, tuple(r.value for r in roles))  # read by api.openapi_roles for `x-roles`
    return dep


ANY_ROLE = tuple(Role)


@dataclass
class Ctx:
    """What a handler needs: actor, session, gateway; `commit()` ends the unit of work."""

    actor: Actor
    session: Session
    svc: Services

    @property
    def gateway(self) -> ChainGateway:
        return self.svc.gateway

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a read-only `fn(*args)` on the read routes' few threads (an `async def` read route's work):
        reads then neither wait behind writes in the shared thread pool nor contend with each other for
        the interpreter lock in dozens of threads."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.svc.reads)

    def commit(self) -> None:
        """Commit, then wake the outbox dispatcher if chain jobs are waiting."""
        finish(self.session)
        pending = has_pending(self.session)
        self.session.commit()
        if pending:
            self.svc.outbox_wakeup.set()


def ctx(*roles: Role) -> Callable[..., Awaitable[Ctx]]:
    """Dependency factory: `Depends(ctx(Role.EXCHANGE))`."""
    needed = roles or ANY_ROLE

    async def dep(request: Request, actor: Actor = Depends(require(*needed)), s: Session = Depends(session),
                  svc: Services = Depends(services)) -> Ctx:
        if request.method in UNSAFE_METHODS:
            await open_signed_request(request, actor, s, svc.engine, svc.gateway.ledger)
        return Ctx(actor, s, svc)

    return dep


async def key_holder_ctx(request: Request, s: Session = Depends(session), svc: Services = Depends(services)) -> Ctx:
    """A request authenticated by the account's chain-key signature alone (no API key)."""
    return Ctx(await chain_key_holder(request, s, svc.engine, svc.gateway.ledger), s, svc)


# -- aliases: what handlers declare ----------------------------------------------------------------------------
SettingsDep = Annotated[Settings, Depends(app_settings)]
ServicesDep = Annotated[Services, Depends(services)]
SessionDep = Annotated[Session, Depends(session)]
CoordinatorKey = Annotated[Ed25519PrivateKey, Depends(coordinator_key)]
NodeReachDep = Annotated[NodeReach, Depends(node_reach)]

R = Role
AnyCtx = Annotated[Ctx, Depends(ctx())]  # any signed-in participant
KeyHolderCtx = Annotated[Ctx, Depends(key_holder_ctx)]  # signed by the account's chain key; no API key
AuthorityCtx = Annotated[Ctx, Depends(ctx(R.AUTHORITY))]
OperatorCtx = Annotated[Ctx, Depends(ctx(R.OPERATOR))]
ProviderCtx = Annotated[Ctx, Depends(ctx(R.PROVIDER))]
ExchangeCtx = Annotated[Ctx, Depends(ctx(R.EXCHANGE))]
BuyerCtx = Annotated[Ctx, Depends(ctx(R.BUYER))]
AuditorCtx = Annotated[Ctx, Depends(ctx(R.AUDITOR))]
OverseerCtx = Annotated[Ctx, Depends(ctx(*OVERSEERS))]  # the overseeing roles
ReaderCtx = Annotated[Ctx, Depends(ctx(R.AUTHORITY, R.OPERATOR, R.EXCHANGE, R.AUDITOR))]  # overseers and operators
ExchangeOrAuthorityCtx = Annotated[Ctx, Depends(ctx(R.EXCHANGE, R.AUTHORITY))]
OperatorOrExchangeCtx = Annotated[Ctx, Depends(ctx(R.OPERATOR, R.EXCHANGE))]  # who files a correction
BuyerOrExchangeCtx = Annotated[Ctx, Depends(ctx(R.BUYER, R.EXCHANGE))]
NegotiatorCtx = Annotated[Ctx, Depends(ctx(R.BUYER, R.OPERATOR))]  # either party to a negotiation
PublisherCtx = Annotated[Ctx, Depends(ctx(R.AUTHORITY, R.OPERATOR))]  # who publishes an annual report
PartyCtx = Annotated[Ctx, Depends(ctx(R.AUTHORITY, R.OPERATOR, R.PROVIDER, R.EXCHANGE, R.BUYER))]  # all but auditor
