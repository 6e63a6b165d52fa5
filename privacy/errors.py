"""Domain errors of the privacy package; the API maps each ``code`` to an HTTP status."""

from __future__ import annotations


class PrivacyError(Exception):
    """Base class: ``code`` is a stable machine-readable identifier."""

    code = "privacy_error"
    http_status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def to_dict(self) -> dict[str, str]:
        return {"error": self.code, "detail": self.detail}


class QueryError(PrivacyError):
    """The SQL is malformed or uses something the query language refuses."""

    code = "invalid_query"

    def __init__(self, token: str, reason: str) -> None:
        self.token = token
        self.reason = reason
        super().__init__(f"{token!r}: {reason}")


class BudgetExceeded(PrivacyError):
    """The query's privacy cost exceeds what is left of the budget."""

    code = "privacy_budget_exceeded"
    http_status = 403


class NotEnoughProviders(PrivacyError):
    """Fewer than ``threshold`` providers survived; nothing was unmasked or revealed."""

    code = "not_enough_providers"
    http_status = 503


class ProviderAuthError(PrivacyError):
    """A protocol message had a bad signature, a wrong signer, or was replayed."""

    code = "provider_auth_failed"
    http_status = 502


class ProtocolError(PrivacyError):
    """A protocol message was well signed but inconsistent with the protocol state."""

    code = "protocol_error"
    http_status = 502


class DPConfigError(PrivacyError):
    """Differential-privacy parameters are invalid or not allowed for this product."""

    code = "invalid_dp_parameters"


class ProviderRefused(PrivacyError):
    """A provider node answered a round with an error (or a reply that fails the protocol's checks);
    the query is refused, nothing is revealed, and ``nodes`` names who refused and why."""

    code = "provider_refused"
    http_status = 502

    def __init__(self, reasons: dict[str, str]) -> None:
        self.nodes = dict(reasons)
        super().__init__("query refused by provider node(s): " +
                         "; ".join(f"{n}: {why}" for n, why in sorted(reasons.items())))


class IntegrityCheckFailed(PrivacyError):
    """The unmasked total could not be verified (bad shares that could not be attributed and
    excluded, or a failed check lane); no total is released."""

    code = "integrity_check_failed"
    http_status = 502
