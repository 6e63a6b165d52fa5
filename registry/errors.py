"""Domain errors of the registry; `api/errors.py` maps each class to one HTTP status."""

from __future__ import annotations

from typing import Any, TypeVar

from ledger.errors import ContractRevert, render_call


class RegistryError(Exception):
    """Base class: `code` goes to the client as `error`, the message as `detail`."""

    code = "registry_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(RegistryError):
    code = "not_found"


T = TypeVar("T")


def found(row: T | None, what: str) -> T:
    """`row`, or NotFound naming `what` (e.g. `offer 1234`) when there is none."""
    if row is None:
        raise NotFound(f"{what} not found")
    return row


class Unauthenticated(RegistryError):
    code = "unauthenticated"


class Forbidden(RegistryError):
    """The actor lacks a role (named in the detail) or does not own the object."""

    code = "forbidden"


class InvalidInput(RegistryError):
    """Input that passed the schema but breaks a domain rule about one field."""

    code = "invalid_input"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field


class Conflict(RegistryError):
    code = "conflict"


class RuleViolation(RegistryError):
    """A refusal named by its rule: `code` is the rule's name, the detail `Name(key=value, ...)`.

    Where the chain enforces the rule too, the name is exactly the contract's custom error's.
    """

    def __init__(self, name: str, **args: Any) -> None:
        super().__init__(render_call(name, args))
        self.code = name
        self.args_by_name = args


class ChainRejected(RuleViolation):
    """The chain reverted the transaction; nothing was written."""

    def __init__(self, revert: ContractRevert) -> None:
        super().__init__(revert.name, **revert.args_by_name)
        self.revert = revert


class ChainUnavailableError(RegistryError):
    """The request needs the chain right now and it does not answer."""

    code = "chain_unavailable"


class RateLimited(RegistryError):
    """A rate limit is used up: `limit` names it (e.g. `per_minute`), `allowed` its size, `retry_after` the seconds
    until a call fits again."""

    code = "rate_limited"

    def __init__(self, limit: str, allowed: int, retry_after: int) -> None:
        super().__init__(f"rate limit {limit} reached: at most {allowed} calls {limit.replace('_', ' ')} per "
                         f"license; retry after {retry_after} s")
        self.limit, self.allowed, self.retry_after = limit, allowed, retry_after
