"""The client's transport: one httpx session with the API key, JSON in and out, errors as `ApiError`."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import httpx
from eth_account.signers.local import LocalAccount

from api.client.signer import SigningTransport

Json = dict[str, Any]


class ApiError(Exception):
    """The API answered with an error body `{"error": code, "detail": text[, "field": name]}`."""

    def __init__(self, status: int, code: str, detail: str, body: Json | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.body = body or {}

    @property
    def field(self) -> str | None:
        """The input field the error is about (validation and domain input errors)."""
        value = self.body.get("field")
        return str(value) if value else None

    @property
    def fields(self) -> dict[str, str]:
        """Every field named by a validation error, with its message."""
        out = {str(f.get("field")): str(f.get("message")) for f in self.body.get("fields") or []}
        if not out and self.field:
            out[self.field] = self.detail.split(": ", 1)[-1]
        return out


class BaseClient:
    """One API key against one exchange. Thread-compatible like `httpx.Client` (one per thread is safest)."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None, signer: LocalAccount | None = None) -> None:
        """`signer`: the participant's own key, which signs every state-changing request locally."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        if signer is not None:
            transport = SigningTransport(signer, transport)
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, transport=transport)
        self.promises: list[Json] = []  # every promise the exchange made to this client (Provex-Record-Promises)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None,
                idempotency_key: str | None = None) -> Any:
        """Send one request; return the decoded JSON or raise `ApiError`."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        r = self.http.request(method, path, json=json, params=clean, headers=headers)
        if r.status_code >= 400:
            try:
                body = r.json()
            except ValueError:
                body = {"error": "http_error", "detail": r.text[:500]}
            if not isinstance(body, dict):
                body = {"error": "http_error", "detail": str(body)[:500]}
            raise ApiError(r.status_code, str(body.get("error", "http_error")), str(body.get("detail", "")), body)
        promised = r.headers.get("Provex-Record-Promises")
        if promised:  # keep them: the exchange cannot take them back (`provex audit verify --promises`)
            self.promises.extend(jsonlib.loads(promised))
        if not r.content:
            return None
        return r.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None, idempotency_key: str | None = None) -> Any:
        return self.request("POST", path, json=body if body is not None else {}, idempotency_key=idempotency_key)
