"""Issue 19 probes at the edge: authentication before the body, a documented Idempotency-Key limit, every
status code in the OpenAPI, private files, and security-log rotation and rate limiting."""

from __future__ import annotations

import json
import logging
import os
import stat
import uuid
from pathlib import Path

import pytest

from api.security import LOG_MAX_BYTES, LOG_NAME, NOISE_PER_KEY, attach_file_handler
from tests.utils.builders import resource_body
from tests.utils.server import Server

MALFORMED = [b"{not json", b"[" * 10_000 + b"]" * 10_000, json.dumps({"unexpected": True}).encode()]


@pytest.mark.parametrize("body", MALFORMED)
def test_authentication_comes_before_the_body(server: Server, body: bytes) -> None:
    headers = {"content-type": "application/json"}
    with server.client() as anonymous:
        r = anonymous.post("/resources", content=body, headers=headers)
        assert r.status_code == 401 and r.json()["error"] == "unauthenticated", r.text
    with server.client(key=f"px_{uuid.uuid4().hex}") as unknown:
        assert unknown.post("/resources", content=body, headers=headers).status_code == 401
    with server.client("buyer") as wrong_role:
        r = wrong_role.post("/resources", content=body, headers=headers)
        assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
    with server.client("authority") as allowed:
        r = allowed.post("/resources", content=body, headers=headers)
        assert r.status_code in (400, 422) and r.json()["error"] == "invalid_input", r.text


def test_invalid_query_parameters_of_a_protected_route_need_authentication(server: Server) -> None:
    with server.client() as anonymous:
        assert anonymous.get("/authorizations", params={"after": "x"}).status_code == 401


def test_over_long_idempotency_key(server: Server) -> None:
    headers = {"Idempotency-Key": "k" * 201}
    with server.client() as anonymous:
        assert anonymous.post("/resources", json=resource_body(), headers=headers).status_code == 401
    with server.client("authority") as c:
        r = c.post("/resources", json=resource_body(), headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "Idempotency-Key", r.text


def test_openapi_documents_every_status_and_the_idempotency_key(server: Server) -> None:
    with server.client() as c:
        doc = c.get("/openapi.json").json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            assert {"400", "401", "403", "413", "422", "503"} <= codes, (method, path, codes)
            if method == "post":
                header = [p for p in op.get("parameters", []) if p["name"] == "Idempotency-Key"]
                assert header and header[0]["schema"]["maxLength"] == 200, (method, path)


def test_database_and_logs_are_private(server: Server) -> None:
    with server.client(key=f"px_{uuid.uuid4().hex}") as c:
        assert c.get("/accounts/me").status_code == 401  # the security log exists
    files = [server.home / LOG_NAME]
    if server.backend == "sqlite":
        files.append(Path(server.db_url.split("///", 1)[1]))
    for path in files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


def test_unauthenticated_noise_is_rate_limited_before_the_log(server: Server) -> None:
    path = f"/licenses/{uuid.uuid4()}"
    with server.client(key=f"px_{uuid.uuid4().hex}") as noisy:
        for _ in range(NOISE_PER_KEY * 3):
            assert noisy.get(path).status_code == 401
    with server.client("auditor") as c:
        events = c.get("/audit/security-events", params={"limit": 5000}).json()
    logged = [e for e in events if e["path"] == path]
    assert 0 < sum(e["kind"] == "unauthenticated" for e in logged) <= NOISE_PER_KEY, logged
    assert [e["kind"] for e in logged].count("rate_limited") == 1, logged


def test_security_log_rotates_by_size_and_stays_private(tmp_path: Path) -> None:
    handler = attach_file_handler(tmp_path)
    log = logging.getLogger("provex.security")
    try:
        line = json.dumps({"kind": "probe", "detail": "x" * 500})
        for _ in range(3 * LOG_MAX_BYTES // 500):
            log.warning(line)
    finally:
        log.removeHandler(handler)
        handler.close()
    current, rotated = tmp_path / LOG_NAME, tmp_path / f"{LOG_NAME}.1"
    assert current.stat().st_size <= LOG_MAX_BYTES and rotated.exists()
    assert not (tmp_path / f"{LOG_NAME}.4").exists()
    for path in tmp_path.glob(f"{LOG_NAME}*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
