"""Domain errors of the privacy package; the API maps each ``code`` to an HTTP status."""

from __future__ import annotations

from typing import Any


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


class ComputeRefused(PrivacyError):
    """A provider could not compute a plan over its own data (types, missing columns, overflow)."""

    code = "provider_compute_refused"


class SourceUnavailable(PrivacyError):
    """A provider's database cannot be reached while it computes a plan (the node stays up)."""

    code = "provider_source_unavailable"
    http_status = 503


class DisclosureRefused(PrivacyError):
    """An exact (noise-off) query could reveal an aggregate over fewer rows than the minimum group
    size (:mod:`privacy.disclosure`); nothing was released."""

    code = "disclosure_refused"
    http_status = 403


class ProviderPolicyError(PrivacyError):
    """A provider node's own signed policy stopped the query; ``rule`` names the rule, ``node`` the node."""

    code = "provider_policy"
    http_status = 409

    def __init__(self, rule: str, detail: str, node: str | None = None) -> None:
        self.rule = rule
        self.node = node
        super().__init__(detail)


class PolicyRefused(ProviderPolicyError):
    """A provider node refused a plan under a rule of its own signed policy; nothing was revealed.

    ``reason`` is the node's own words; ``refusal`` is the node's signed refusal message, once the
    node has signed it (see :mod:`privacy.secagg.refusal`)."""

    code = "provider_policy_refused"

    def __init__(self, rule: str, reason: str, node: str | None = None,
                 refusal: dict[str, Any] | None = None) -> None:
        self.reason = reason
        self.refusal = refusal
        who = f"provider node {node!r}" if node else "the provider node"
        super().__init__(rule, f"{who} refused the query under its policy rule {rule!r}: {reason}", node)


class PolicyMismatch(ProviderPolicyError):
    """A provider node runs a policy other than the one registered for it with the exchange."""

    code = "provider_policy_mismatch"

    def __init__(self, node: str, running: str | None, registered: str | None) -> None:
        super().__init__("registered_policy",
                         f"provider node {node!r} runs policy {running or 'none'}, but policy "
                         f"{registered or 'none'} is registered for it; the provider must re-register "
                         "its node (POST /providers/me/node)", node)


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
