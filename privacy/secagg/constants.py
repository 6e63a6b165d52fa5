"""Names both halves of secure aggregation share: protocol id, signer, stages, routes, message types.

Modelled on Flower's ``secaggplus_constants``: the coordinator half
(:mod:`privacy.secagg.coordinator`) and the provider half (:mod:`privacy.secagg.provider`) read
every wire name from here, so the two can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

PROTOCOL = "provex-secagg-v1"
"""Protocol id: reported by ``GET /identity`` and prefixed to every signed message."""

SIG_DOMAIN = PROTOCOL.encode("ascii") + b"\x00"
"""Domain separator signed before the canonical JSON of a message body."""

COORDINATOR = "coordinator"
"""The signer name of every coordinator request."""


@dataclass(frozen=True)
class Stage:
    """One round: its name (as passed to round hooks), HTTP route, request and reply types."""

    name: str
    route: str
    request: str
    reply: str


ADVERTISE = Stage("advertise", "/secagg/advertise", "advertise_req", "advertise")
"""Round 0: each provider advertises its encryption key and one masking key per slot."""

SHARE = Stage("share", "/secagg/share", "share_req", "share")
"""Round 1: each provider Shamir-shares its mask keys and self-mask seeds, encrypted per peer."""

INPUT = Stage("input", "/secagg/input", "input_req", "masked_input")
"""Round 2 (per query): each provider sends its masked, noised local vector for one slot."""

UNMASK = Stage("unmask", "/secagg/unmask", "unmask_req", "unmask")
"""Round 3 (per query): survivors reveal the shares that remove the masks from the total."""

STAGES = (ADVERTISE, SHARE, INPUT, UNMASK)

REFUSAL = "refusal"
"""Reply type of a provider's signed refusal of a plan under its own policy (any per-query round)."""

REFUSAL_STATUS = 403
"""HTTP status a provider node answers a refused plan with; the body is the signed refusal."""

CHECK_LANES = 2
"""Zero lanes every provider appends to its vector; the unmasked total must end in zeros there."""

ATTACHMENTS = frozenset({"plan"})
"""Fields a request may carry beside its signed body; the body binds each by hash (``plan_hash``)."""
