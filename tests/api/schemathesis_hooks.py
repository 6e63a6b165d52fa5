"""Schemathesis hooks: a check that no role outside an operation's `x-roles` ever gets a 2xx.

The role the run authenticates as comes from PROVEX_FUZZ_ROLE ("none" for no key).
"""

from __future__ import annotations

import os

import schemathesis


@schemathesis.check
def role_enforced(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> None:
    roles = case.operation.definition.raw.get("x-roles", [])
    role = os.environ.get("PROVEX_FUZZ_ROLE", "none")
    if "public" in roles or role in roles or case.method.upper() != case.operation.method.upper():
        return  # allowed, or a probe with a method the operation does not have (405 is right)
    if 200 <= response.status_code < 300:
        raise AssertionError(f"role {role} got {response.status_code} on {case.method} {case.path}; "
                             f"only {roles} may")
    # Authentication (and the role) come before the body and parameters: a caller outside the roles learns
    # nothing of what the route accepts. Only the edge's size and NUL checks answer before them.
    allowed = {401 if role == "none" else 403, 413}
    # An authenticated caller may learn that its own Idempotency-Key is malformed; nothing about the route.
    edge = response.status_code == 422 and ("NUL" in response.text or
                                             (role != "none" and "Idempotency-Key" in response.text))
    if response.status_code not in allowed and not edge:
        raise AssertionError(f"role {role} on {case.method} {case.path}: {response.status_code}, "
                             f"expected one of {sorted(allowed)}")
