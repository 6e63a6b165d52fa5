"""Who held which chain role when, read from the trusted contracts' own `RoleGranted`/`RoleRevoked` events, so
that verify can check each act that needs a role against the chain rather than the exchange's accounts table.

An act is accepted when its signer held the role at some moment between the record's time and the block time
of the checkpoint that anchors it (the chain head's time while unanchored): a grant still being relayed when
the act was accepted passes, an act signed after the role was revoked (and not granted again before anchoring)
does not. Times are the chain's block timestamps, in whole seconds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ledger.chain_types import AUTHORITY_ROLE, EXCHANGE_ROLE, OPERATOR_ROLE, ROLE_NAMES

if TYPE_CHECKING:  # RoleAct is used where web3 is not loaded (ledger.record_check's workers)
    from ledger.contracts import Checkpoint, Ledger

# The chain role each kind of participant act needs, and on which contract (the contract that enforces the same
# act on chain). Acts of buyers, providers and auditors need none.
ROLE_OF_KIND: dict[str, tuple[str, bytes]] = {
    "authorization.revoked": ("DataRegistry", AUTHORITY_ROLE),
    "authorization.limited": ("DataRegistry", AUTHORITY_ROLE),
    "price_cap.set": ("Settlement", AUTHORITY_ROLE),
    "price_cap_rule.set": ("Settlement", AUTHORITY_ROLE),
    "voucher.issue": ("Settlement", AUTHORITY_ROLE),
    "voucher_programme.create": ("Settlement", AUTHORITY_ROLE),
    "voucher.reclaim": ("Settlement", AUTHORITY_ROLE),  # VoucherProgrammes reads Settlement's role
    "public_welfare.set": ("Settlement", AUTHORITY_ROLE),
    "revenue_allowance.set": ("Settlement", AUTHORITY_ROLE),  # the authority's pricing act, like price_cap.set
    "review.started": ("DataRegistry", EXCHANGE_ROLE),
    "review.decided": ("DataRegistry", EXCHANGE_ROLE),
    "notice.started": ("DataRegistry", EXCHANGE_ROLE),
    "objection.resolved": ("DataRegistry", EXCHANGE_ROLE),
    "revision.decided": ("DataRegistry", EXCHANGE_ROLE),
    "revision.proposed": ("DataRegistry", OPERATOR_ROLE),
    "revision.published": ("DataRegistry", OPERATOR_ROLE),
    "correction.decided": ("DataRegistry", EXCHANGE_ROLE),  # correction.filed: the operator or the exchange
    "cancellation.applied": ("DataRegistry", OPERATOR_ROLE),
    "cancellation.decided": ("DataRegistry", EXCHANGE_ROLE),
    "offer.publish": ("DataRegistry", OPERATOR_ROLE),
    "offer.withdraw": ("DataRegistry", OPERATOR_ROLE),
    "budget_policy.set": ("DataRegistry", OPERATOR_ROLE),
    "cost.declared": ("DataRegistry", OPERATOR_ROLE),  # the operator's own act about its product
}
_Key = tuple[str, bytes, str]  # (contract, role, lower-case address)


@dataclass(frozen=True)
class RoleAct:
    """A signed act that needs a chain role: which record, what kind, who signed it, when (unix seconds)."""

    seq: int
    kind: str
    signer: str
    at: int

    @staticmethod
    def of(record: dict[str, object], signer: str) -> RoleAct | None:
        kind = str(record.get("kind"))
        if kind not in ROLE_OF_KIND:
            return None
        at = int(datetime.fromisoformat(str(record["at"])).timestamp())
        return RoleAct(int(str(record["seq"])), kind, signer, at)


class RoleHistory:
    """Spans (granted at, revoked at or None) per (contract, role, address), from the chain."""

    def __init__(self, ledger: Ledger, spans: dict[_Key, list[tuple[int, int | None]]]) -> None:
        self.ledger = ledger
        self.spans = spans
        self._checkpoint_time: dict[int, int] = {}

    @classmethod
    def read(cls, ledger: Ledger) -> RoleHistory:
        """Every grant and revocation on DataRegistry and Settlement since the deployment block, in chain order."""
        from ledger.events import read_events

        spans: dict[_Key, list[tuple[int, int | None]]] = defaultdict(list)
        times: dict[int, int] = {}
        for name in ("DataRegistry", "Settlement"):
            for ev in read_events(ledger.client, name, ledger.contracts[name], ledger.deployment.deployment_block,
                                  names={"RoleGranted", "RoleRevoked"}):
                if ev.block_number not in times:
                    times[ev.block_number] = ledger.client.block_time(ev.block_number)
                key = (name, bytes(ev.args["role"]), str(ev.args["account"]).lower())
                t, held = times[ev.block_number], spans[key]
                if ev.name == "RoleGranted" and not (held and held[-1][1] is None):
                    held.append((t, None))
                elif ev.name == "RoleRevoked" and held and held[-1][1] is None:
                    held[-1] = (held[-1][0], t)
        return cls(ledger, dict(spans))

    def anchored_by(self, cp: Checkpoint | None) -> int:
        """The block time of checkpoint `cp` (read from the contract when the caller's copy has none), or the
        chain head's time for records no checkpoint covers yet."""
        if cp is None:
            client = self.ledger.client
            return client.block_time(client.block_number())
        if cp.timestamp:
            return cp.timestamp
        if cp.index not in self._checkpoint_time:
            self._checkpoint_time[cp.index] = self.ledger.checkpoint(cp.index).timestamp
        return self._checkpoint_time[cp.index]

    def problem(self, act: RoleAct, until: int) -> str | None:
        """Why `act`'s signer did not hold its role at any time in [act.at, until], or None when it did."""
        contract, role = ROLE_OF_KIND[act.kind]
        for granted, revoked in self.spans.get((contract, role, act.signer.lower()), []):
            if granted <= until and (revoked is None or revoked >= act.at):
                return None
        return (f"{act.kind} is signed by {act.signer}, which held no {ROLE_NAMES[role]} on {contract} between the "
                f"record's time ({act.at}) and its anchoring ({until})")
