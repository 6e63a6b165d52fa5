"""The only place where domain errors become HTTP responses: `{"error": code, "detail": text}`."""

from __future__ import annotations

from typing import Any

import sqlalchemy.exc as sa_exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.authfirst import refusal_first
from api.security import security_event
from api.websecurity import CSP, HEADERS
from ledger.canonical import RecordFormatError
from ledger.errors import ChainError, ChainUnavailable, ContractRevert
from privacy.errors import PolicyRefused, PrivacyError, ProviderPolicyError, QueryError
from registry.errors import (
    ChainUnavailableError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    RegistryError,
    RuleViolation,
    Unauthenticated,
)
from registry.signing import SignatureRequired

STATUS: list[tuple[type[RegistryError], int]] = [
    (NotFound, 404), (SignatureRequired, 428), (Unauthenticated, 401), (Forbidden, 403), (InvalidInput, 422),
    (Conflict, 409), (RuleViolation, 409), (ChainUnavailableError, 503), (RateLimited, 429),
]
RETRY_AFTER = "5"


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail, **extra}


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or ".".join(str(p) for p in loc)


async def registry_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RegistryError)
    status = next(code for cls, code in STATUS if isinstance(exc, cls))
    if status in (401, 403):
        security_event(request, exc.code, status, exc.detail)
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, InvalidInput):
        extra["field"] = exc.field
    if isinstance(exc, SignatureRequired):
        extra["requests"] = exc.requests
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, ChainUnavailableError):
        headers["Retry-After"] = RETRY_AFTER
    if isinstance(exc, RateLimited):
        extra.update(limit=exc.limit, allowed=exc.allowed, retry_after=exc.retry_after)
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(error_body(exc.code, exc.detail, **extra), status_code=status, headers=headers)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    refusal = await refusal_first(request)
    if refusal is not None:
        return await registry_error(request, refusal)
    errors = exc.errors()
    fields = [{"field": _field_of(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))} for e in errors]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return JSONResponse(error_body("invalid_input", detail, field=fields[0]["field"] if fields else None,
                                   fields=fields), status_code=422)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # a body that is not JSON: authentication first
        refusal = await refusal_first(request)
        if refusal is not None:
            return await registry_error(request, refusal)
    code = {400: "invalid_input", 404: "not_found", 405: "method_not_allowed", 401: "unauthenticated",
            403: "forbidden"}.get(
        exc.status_code, "http_error")
    if exc.status_code in (401, 403):
        security_event(request, code, exc.status_code, str(exc.detail))
    return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def chain_unavailable(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(error_body("chain_unavailable", str(exc)), status_code=503,
                        headers={"Retry-After": RETRY_AFTER})


async def chain_error(_: Request, exc: Exception) -> JSONResponse:
    """Any other chain refusal (not a contract rule): the write did not happen; retry shortly."""
    return JSONResponse(error_body("chain_unavailable", f"the chain refused the transaction: {exc}"),
                        status_code=503, headers={"Retry-After": RETRY_AFTER})


async def contract_revert(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ContractRevert)
    return JSONResponse(error_body(exc.name, str(exc)), status_code=409)


async def too_deep(request: Request, exc: Exception) -> JSONResponse:
    """JSON nested beyond the parser's recursion limit is bad input, not a server fault."""
    refusal = await refusal_first(request)
    if refusal is not None:
        return await registry_error(request, refusal)
    return JSONResponse(error_body("invalid_input", "request body is nested too deeply", field="body"),
                        status_code=400)


async def record_format(_: Request, exc: Exception) -> JSONResponse:
    """A value the ledger cannot record canonically (too deep, too large): a limit of the input, not a fault."""
    return JSONResponse(error_body("invalid_input", f"cannot be recorded: {exc}", field="body"), status_code=422)


async def privacy_error(_: Request, exc: Exception) -> JSONResponse:
    """Privacy errors carry their own status and code (e.g. `invalid_query` 400 naming the token,
    `not_enough_providers` 503, `privacy_budget_exceeded` 403, `provider_policy_refused` 409 naming the node,
    the rule of its policy, and carrying its signed refusal)."""
    assert isinstance(exc, PrivacyError)
    extra: dict[str, Any] = {"token": exc.token} if isinstance(exc, QueryError) else {}
    if isinstance(exc, ProviderPolicyError):
        extra = {"node": exc.node, "rule": exc.rule}
        if isinstance(exc, PolicyRefused) and exc.refusal is not None:
            extra["refusal"] = exc.refusal
    return JSONResponse(error_body(exc.code, exc.detail, **extra), status_code=exc.http_status)


async def database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    """The database dropped or refused the connection (e.g. PostgreSQL restarting): retry shortly."""
    return JSONResponse(error_body("database_unavailable", "the database is unavailable; retry shortly"),
                        status_code=503, headers={"Retry-After": RETRY_AFTER})


async def integrity_error(_: Request, exc: Exception) -> JSONResponse:
    """A unique constraint met a concurrent request doing the same (e.g. one signed request sent twice at
    once): nothing was written by this one."""
    return JSONResponse(error_body("conflict", "a concurrent request wrote the same thing; nothing was written by "
                                               "this one (a signed request is accepted once: sign a new one)"),
                        status_code=409)


async def internal_error(_: Request, exc: Exception) -> JSONResponse:
    # Sent from outside every middleware (Starlette's error handler), so it carries the security headers itself.
    return JSONResponse(error_body("internal", f"{type(exc).__name__}"), status_code=500,
                        headers={"content-security-policy": CSP, **dict(HEADERS)})


def install(app: FastAPI) -> None:
    app.add_exception_handler(RegistryError, registry_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(ChainUnavailable, chain_unavailable)
    app.add_exception_handler(ContractRevert, contract_revert)
    app.add_exception_handler(sa_exc.IntegrityError, integrity_error)
    app.add_exception_handler(ChainError, chain_error)
    app.add_exception_handler(PrivacyError, privacy_error)
    app.add_exception_handler(RecursionError, too_deep)
    app.add_exception_handler(RecordFormatError, record_format)
    app.add_exception_handler(sa_exc.OperationalError, database_unavailable)
    app.add_exception_handler(sa_exc.InterfaceError, database_unavailable)
    app.add_exception_handler(Exception, internal_error)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "the body is not JSON, or nested too deeply to parse (after authentication)",
          "content": {"application/json": {"example": error_body(
              "invalid_input", "request body is nested too deeply", field="body")}}},
    401: {"description": "missing or unknown API key",
          "content": {"application/json": {"example": error_body("unauthenticated", "unknown API key")}}},
    403: {"description": "the caller lacks the role named in `detail`",
          "content": {"application/json": {"example": error_body(
              "forbidden", "requires role exchange; you are buyer")}}},
    404: {"description": "no such object (or not visible to the caller)",
          "content": {"application/json": {"example": error_body("not_found", "product PX-2026-000001 not found")}}},
    409: {"description": "illegal transition or a chain rule: `error` is the contract's custom error name",
          "content": {"application/json": {"example": error_body(
              "AuthorizationInactive", "AuthorizationInactive(authorizationId=0x.., revoked=True, ...)")}}},
    422: {"description": "invalid input; `field` names the offending field",
          "content": {"application/json": {"example": error_body(
              "invalid_input", "title: String should have at least 1 character", field="title")}}},
    413: {"description": "the request body is over the size limit (1 MiB)",
          "content": {"application/json": {"example": error_body(
              "payload_too_large", "request body exceeds 1048576 bytes")}}},
    503: {"description": "the chain or the database is unavailable, or the chain has not caught up yet: retry "
                         "after `Retry-After` seconds",
          "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
          "content": {"application/json": {"example": error_body(
              "chain_unavailable", "the chain is unreachable; retry shortly")}}},
}
