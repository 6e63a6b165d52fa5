"""The FastAPI application factory: chain runtime, database, migrations, outbox dispatcher, routers."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
from fastapi import FastAPI

from api import errors, idempotency
from api.background import chain_work_for, gateway_for
from api.deps import Services
from api.idempotency import IdempotencyMiddleware
from api.limits import BodyLimitMiddleware
from api.openapi_roles import install_role_extensions
from api.portal import routes as portal
from api.promise_header import PromiseHeaderMiddleware
from api.routers import (
    accounts,
    assets,
    audit,
    authorizations,
    catalog,
    certificates,
    destruction,
    dev,
    governance,
    health,
    licenses,
    negotiations,
    offers,
    orders,
    products,
    providers,
    public_welfare,
    queries,
    registration,
    reports,
    resources,
    reviews,
    schedule,
    statements,
    verifications,
    voucher_programmes,
    vouchers,
)
from api.security import attach_file_handler
from api.settings import Settings, get_settings
from api.websecurity import SecurityHeadersMiddleware
from ledger import promises
from ledger.runtime import ChainRuntime
from registry.db import make_engine, migrate
from registry.queries.providers import load_or_create_coordinator_key

log = logging.getLogger("provex.api")

DESCRIPTION = """Provex: the public-data exchange. Authenticate with `Authorization: Bearer <api key>`.
POST requests accept `Idempotency-Key` (per account; a response carrying an API key is never replayed).
Errors are `{"error": code, "detail": text}`."""

TAGS = [
    {"name": "accounts", "description": "participants, their roles and custodial chain addresses"},
    {"name": "resources", "description": "public data resources registered by the authority"},
    {"name": "authorizations", "description": "authorized operation (授权运营): authority -> operator"},
    {"name": "products", "description": "data products registered by operators"},
    {"name": "review", "description": "compliance review, listing, suspension, delisting (exchange)"},
    {"name": "catalog", "description": "find products"},
    {"name": "certificates", "description": "registration certificates, checkable against the chain"},
    {"name": "audit", "description": "ledger receipts, provenance traces, verification against the chain"},
    {"name": "providers", "description": "provider nodes and the exchange's coordinator identity"},
    {"name": "queries", "description": "federated aggregate queries under a license, with receipts"},
    {"name": "trading", "description": "offers, quotes, vouchers, negotiations, purchases, licenses, statements"},
    {"name": "reports", "description": "maximum allowed revenue (最高准许收入), annual disclosure, operating reports"},
    {"name": "assets", "description": "data-asset evidence (数据资产入表): declared costs, cost and revenue ledger, "
                                      "the accountant's evidence export"},
]


def _promiser(settings: Settings, rt: ChainRuntime) -> promises.Promiser:
    """Promises at write time, signed by the recorder key that must keep them (ledger.promises)."""
    assert rt.ledger is not None and rt.recorder is not None
    return promises.Promiser(rt.recorder, rt.ledger.client.chain_id, rt.ledger.checkpoints.address,
                             settings.promise_max_delay)


# py_ecc (imported by web3) raises the interpreter's recursion limit to 100,000, past what the C stack
# holds: a deeply nested JSON body then crashes the process instead of raising RecursionError.
SAFE_RECURSION_LIMIT = 4000


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def _lifespan(settings: Settings, runtime: ChainRuntime | None) -> Lifespan:
    """Start-up and shut-down: chain runtime (unless injected), database, outbox dispatcher, anchoring."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Every resource registers its own cleanup as it is acquired, so a failure part-way through
        # start-up (e.g. a migration) still stops the Anvil it started.
        with contextlib.ExitStack() as cleanup:
            rt = runtime
            if rt is None:
                rt = ChainRuntime(settings.chain_config()).start()
                cleanup.callback(rt.stop)
            engine = make_engine(settings.db_url, pool_size=settings.db_pool_size)
            cleanup.callback(engine.dispose)
            migrate(engine)
            promises.install(engine, _promiser(settings, rt))
            cleanup.callback(promises.install, engine, None)
            gateway = gateway_for(settings, rt)
            svc = Services(engine=engine, gateway=gateway, outbox_wakeup=threading.Event(), actors={},
                           reads=anyio.CapacityLimiter(settings.read_threads))
            app.state.services = svc
            app.state.runtime = rt
            app.state.coordinator_key = load_or_create_coordinator_key(settings.home)
            if settings.worker == "inline":  # else `provex worker` does it (api.background)
                work = chain_work_for(settings, engine, gateway, rt, svc.outbox_wakeup).start()
                cleanup.callback(work.stop)
                app.state.chain_work = work
            security_log = attach_file_handler(settings.home)
            cleanup.callback(logging.getLogger("provex.security").removeHandler, security_log)
            yield

    return lifespan


ROUTERS = (audit, destruction, health, accounts, governance, resources, authorizations, products, reviews, catalog,
           certificates, registration,
           providers, queries, verifications,
           offers, schedule, voucher_programmes, vouchers, public_welfare, orders, licenses, negotiations,
           statements, reports, assets)  # the last two lines: trading
DEV_ROUTERS = (dev,)  # mounted only when PROVEX_ENV=dev


def create_app(settings: Settings | None = None, runtime: ChainRuntime | None = None) -> FastAPI:
    """The app; its lifespan starts the chain runtime unless one is injected. Routers read `settings` from
    `app.state.settings` (`api.deps.SettingsDep`); the dev-only routers are mounted in dev only."""
    sys.setrecursionlimit(min(sys.getrecursionlimit(), SAFE_RECURSION_LIMIT))
    settings = settings or get_settings()
    app = FastAPI(title="Provex", version="0.1.0", description=DESCRIPTION, openapi_tags=TAGS,
                  lifespan=_lifespan(settings, runtime), responses=errors.ERROR_RESPONSES)
    app.state.settings = settings
    errors.install(app)
    install_role_extensions(app, idempotency.document)
    app.add_middleware(PromiseHeaderMiddleware)  # innermost: the write's committed promises as a header
    app.add_middleware(IdempotencyMiddleware)  # runs after the body checks
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, trust_forwarded_proto=settings.trust_forwarded_proto)  # outermost
    for module in ROUTERS + (DEV_ROUTERS if settings.env == "dev" else ()):
        app.include_router(module.router)
    portal.install(app)  # the web portal at / and /portal (server-rendered, same API underneath)
    return app


def app_from_env() -> FastAPI:
    """For `uvicorn --factory api.app:app_from_env`."""
    return create_app(get_settings())
