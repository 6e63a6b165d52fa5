"""Trading refusals that no contract enforces: license usage, negotiation turns. Named like rules."""

from __future__ import annotations

from registry.errors import Conflict, Forbidden, RuleViolation


class UsageRefused(RuleViolation):
    """A query the license does not allow (expired, kind or column not licensed, quota or budget spent).

    `code` is the rule's name (e.g. `PrivacyBudgetExhausted`); the detail names the values, including
    what is left. No contract enforces these: the license's usage lives in the database.
    """


class NotYourTurn(Forbidden):
    """A negotiation party acting out of turn (or not a party to that step)."""

    code = "NotYourTurn"


class NegotiationClosed(Conflict):
    """The negotiation is finalized, terminated or expired; `code` says which."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(detail)
        self.code = name
