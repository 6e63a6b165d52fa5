"""The outbox dispatcher: send queued chain jobs in order; reconcile jobs the chain already has."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ledger.client import Receipt
from ledger.errors import ChainUnavailable, ContractRevert
from ledger.ids import chain_id_of
from registry.chain import ChainGateway, apply_result, record_receipt, run_job
from registry.models import ChainState, ChainTx

# Revert name -> (contract, event, indexed argument, payload key) proving the job already landed.
ALREADY_DONE: dict[str, tuple[str, str, str, str]] = {
    "ResourceExists": ("DataRegistry", "ResourceRegistered", "resourceId", "resource_id"),
    "AuthorizationExists": ("DataRegistry", "AuthorizationGranted", "authorizationId", "authorization_id"),
    "AuthorizationAlreadyRevoked": ("DataRegistry", "AuthorizationRevoked", "authorizationId",
                                    "authorization_id"),
    "ProductExists": ("DataRegistry", "ProductRegistered", "productId", "product_id"),
}


PURCHASE_GRACE_S = 5.0


@dataclass
class DrainReport:
    sent: int = 0
    reconciled: int = 0
    failed: int = 0
    remaining: int = 0


def _reconcile(gateway: ChainGateway, job: ChainTx, exc: ContractRevert) -> Receipt | None:
    """The receipt of the earlier send when `exc` only says the job was already done, else None."""
    ledger = gateway.ledger
    found = []
    if exc.name in ALREADY_DONE:
        contract, event, arg, key = ALREADY_DONE[exc.name]
        found = ledger.find_events(contract, event, **{arg: chain_id_of(job.payload[key])})
    elif job.action == "product.status" and exc.name == "IllegalStatusTransition" \
            and exc.args_by_name.get("fromStatus") == job.payload["status"]:
        found = [ev for ev in ledger.find_events("DataRegistry", "ProductStatusChanged",
                                                 productId=chain_id_of(job.payload["product_id"]))
                 if ev.args["toStatus"] == job.payload["status"]]
    elif job.action == "authorization.limit" and exc.name == "LimitChangesNothing":
        found = [ev for ev in ledger.find_events("DataRegistry", "AuthorizationLimited",
                                                 authorizationId=chain_id_of(job.payload["authorization_id"]))
                 if ev.args["validUntil"] == job.payload["valid_until"]]
    return found[-1].receipt() if found else None


def drain(engine: Engine, gateway: ChainGateway, limit: int = 500) -> DrainReport:
    """Send pending jobs oldest first, one transaction each; stop at the first ChainUnavailable."""
    report = DrainReport()
    for _ in range(limit):
        with Session(engine, expire_on_commit=False) as session:
            # A purchase is first sent by the request that placed it; the dispatcher takes it over only
            # after a grace period, so the two never send the same purchase at once.
            grace = datetime.now(UTC) - timedelta(seconds=PURCHASE_GRACE_S)
            job = session.exec(select(ChainTx).where(ChainTx.state == ChainState.PENDING)
                               .where(~sa.and_(col(ChainTx.action) == "license.buy", col(ChainTx.created_at) > grace))
                               .order_by(col(ChainTx.pk)).limit(1)).first()
            if job is None:
                return report
            try:
                receipt = run_job(gateway, session, job, burn=True)
            except IntegrityError:
                session.rollback()  # a request thread completed this job concurrently; re-read it
                continue
            except ChainUnavailable:
                job.attempts += 1
                session.add(job)
                session.commit()
                break
            except ContractRevert as exc:
                earlier = _reconcile(gateway, job, exc)
                if earlier is None:
                    job.state, job.error = ChainState.FAILED, str(exc)
                    job.attempts += 1
                    report.failed += 1
                else:
                    record_receipt(job, earlier)
                    job.error = f"reconciled after {exc.name}"
                    report.reconciled += 1
            else:
                record_receipt(job, receipt)
                if any(e.get("adopted") for e in job.payload.get("forward") or ()):
                    job.error = "reconciled: the forwarder had executed it"
                    report.reconciled += 1
                else:
                    report.sent += 1
            session.add(job)
            apply_result(session, job)
            session.commit()
    with Session(engine) as session:
        report.remaining = len(session.exec(select(ChainTx.pk).where(ChainTx.state == ChainState.PENDING)).all())
    return report


def unsent(entry: dict[str, Any]) -> dict[str, Any]:
    """A signed request as it was before it was sent."""
    return {k: v for k, v in entry.items() if k not in ("done", "adopted")}


@dataclass
class RollbackWatch:
    """Notices the chain forgetting blocks it had (a node restarted from an older state, a reorg) and
    re-queues confirmed jobs whose transactions the chain no longer has; `drain` then sends them again
    (every action is keyed by its object's id, so a resend cannot duplicate anything)."""

    lookback: int = 256
    head: int = -1
    head_hash: bytes = b""

    def check(self, engine: Engine, gateway: ChainGateway) -> int:
        """Re-queue lost jobs; returns how many. Raises ChainUnavailable when the chain is down.

        Each pass checks the receipts of jobs confirmed since the last pass's head (so a transaction
        mined just before a crash is covered too); when the chain no longer has the last pass's head
        block, it rechecks the last `lookback` blocks' worth of jobs.
        """
        client = gateway.ledger.client
        latest = client.head()
        if self.head < 0:
            since = latest.number - self.lookback  # first pass: the chain may have restarted while we were down
        elif latest.number < self.head or client.block_hash(self.head) != self.head_hash:
            since = self.head - self.lookback
        else:
            since = self.head - 1
        requeued = self._requeue_lost(engine, gateway, since)
        if requeued:
            client.forget_nonces()
        self.head, self.head_hash = latest.number, latest.hash
        return requeued

    def _requeue_lost(self, engine: Engine, gateway: ChainGateway, since_block: int) -> int:
        client = gateway.ledger.client
        count = 0
        with Session(engine) as session:
            jobs = session.exec(select(ChainTx).where(ChainTx.state == ChainState.CONFIRMED)
                                .where(col(ChainTx.block_number) >= since_block)).all()
            for job in jobs:
                if job.tx_hash is None or client.has_transaction(job.tx_hash):
                    continue
                job.state, job.tx_hash, job.block_number, job.log_index = ChainState.PENDING, None, None, None
                job.error = "re-queued: the chain no longer has this transaction"
                if job.payload.get("forward"):  # the forwarder forgot their nonces too: the signatures hold again
                    job.payload = {**job.payload, "forward": [unsent(e) for e in job.payload["forward"]]}
                session.add(job)
                apply_result(session, job)
                count += 1
            session.commit()
        return count
