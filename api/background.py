"""The leader's chain work: the outbox dispatcher and the anchoring worker.

Exactly one process per database runs it: whichever holds the database's leadership (registry.leadership).
`provex worker` is that process in a scaled-out deployment (API workers then run with PROVEX_WORKER=external);
with PROVEX_WORKER=inline (the default) every API process is a candidate, so `uvicorn --workers N` stays safe.
A candidate that is not the leader polls every `poll` seconds and takes over when the leader dies.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from api.settings import Settings
from ledger.anchor import Anchorer, AnchorPolicy
from ledger.errors import ChainUnavailable
from ledger.runtime import ChainRuntime
from registry.chain import ChainGateway
from registry.jobs import make_gateway
from registry.leadership import Leadership, leadership_for
from registry.outbox import RollbackWatch, drain

log = logging.getLogger("provex.worker")
LEADING = "leader: running the outbox dispatcher and the anchoring worker"  # logged on taking over


def gateway_for(settings: Settings, rt: ChainRuntime) -> ChainGateway:
    """The chain gateway of a started runtime: relays participants' acts, runs the exchange's own."""
    assert rt.ledger is not None and rt.deployer is not None
    return make_gateway(rt.ledger, rt.deployer, house=rt.house, governance=rt.governance, minter=rt.minter,
                        fund_wei=settings.dev_fund_wei if settings.env == "dev" else 0)


def chain_work_for(settings: Settings, engine: Engine, gateway: ChainGateway, rt: ChainRuntime,
                   wakeup: threading.Event | None = None) -> ChainWork:
    """The leader's chain work as the settings configure it (the recorder key signs checkpoints)."""
    policy = AnchorPolicy(settings.anchor_batch_size, settings.anchor_max_age, settings.confirmations)
    return ChainWork(engine, gateway, rt, policy, settings.outbox_interval, wakeup=wakeup or threading.Event())


def outbox_loop(engine: Engine, gateway: ChainGateway, wakeup: threading.Event, interval: float,
                stop: threading.Event) -> None:
    """Drain the outbox every `interval` s (sooner when woken) until `stop`; re-queue what a rollback lost."""
    watch = RollbackWatch()
    while not stop.is_set():
        wakeup.wait(interval)
        wakeup.clear()
        if stop.is_set():
            break
        try:
            if watch.check(engine, gateway):
                log.warning("the chain lost confirmed transactions; they are queued again")
            drain(engine, gateway)
        except ChainUnavailable:
            pass  # jobs stay pending; the next pass retries
        except Exception:  # keep the dispatcher alive; the job stays pending
            log.exception("outbox drain failed")


@dataclass
class ChainWork:
    """Campaigns for leadership and, while leading, runs the outbox dispatcher and the anchoring worker."""

    engine: Engine
    gateway: ChainGateway
    runtime: ChainRuntime
    policy: AnchorPolicy
    outbox_interval: float
    wakeup: threading.Event = field(default_factory=threading.Event)
    poll: float = 1.0
    leadership: Leadership | None = None
    leading: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _duties: tuple[threading.Event, threading.Thread, Anchorer] | None = None

    def __post_init__(self) -> None:
        if self.leadership is None:
            self.leadership = leadership_for(self.engine)

    def run(self) -> None:
        """Campaign and work until `stop` (blocks; `start` runs it in a thread)."""
        assert self.leadership is not None
        try:
            while not self._stop.is_set():
                self._tick(self.leadership)
                self._stop.wait(self.poll)
        finally:
            self._step_down()
            self.leadership.release()

    def _tick(self, leadership: Leadership) -> None:
        try:
            if self.leading and not leadership.held():
                log.warning("lost leadership (the database connection holding it broke); stepping down")
                self._step_down()
            elif not self.leading and leadership.try_acquire():
                log.info(LEADING)
                self._lead()
        except Exception:  # the database is away: try again next poll
            log.exception("leadership check failed")

    def _lead(self) -> None:
        rt = self.runtime
        assert rt.ledger is not None and rt.recorder is not None
        stop = threading.Event()
        outbox = threading.Thread(target=outbox_loop, name="provex-outbox", daemon=True,
                                  args=(self.engine, self.gateway, self.wakeup, self.outbox_interval, stop))
        outbox.start()
        anchorer = Anchorer(self.engine, rt.ledger, rt.recorder, self.policy)
        anchorer.start()
        self._duties = (stop, outbox, anchorer)
        self.leading = True
        self.wakeup.set()

    def _step_down(self) -> None:
        if self._duties is not None:
            stop, outbox, anchorer = self._duties
            stop.set()
            self.wakeup.set()
            outbox.join(timeout=10)
            anchorer.stop()
            self._duties = None
        self.leading = False

    def start(self) -> ChainWork:
        self._thread = threading.Thread(target=self.run, name="provex-leader", daemon=True)
        self._thread.start()
        return self

    def stop_soon(self) -> None:
        """Ask `run` to step down and return (safe from a signal handler)."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
