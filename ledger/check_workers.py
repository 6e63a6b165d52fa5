"""`check_chunk` over a whole log, in order, inline or in worker processes of its own.

Workers are plain subprocesses (`python -m ledger.check_workers`) reading pickled chunks on stdin and writing
pickled results on stdout, length-prefixed: nothing is forked (safe in a threaded server) and a worker imports
only what checking needs (no web3 until a signed record comes), where multiprocessing's spawn would re-import
the caller's main module. One feeder thread per worker keeps a pipe from ever blocking both ends.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from ledger.record_check import CHUNK, Checked, Domain, Row, check_chunk, chunks

if TYPE_CHECKING:
    from ledger.statements import StatementDomain

_LEN = 8  # bytes of each message's length prefix
_AHEAD = 2  # chunks in flight per worker


def _send(pipe: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(len(data).to_bytes(_LEN, "big") + data)
    pipe.flush()


def _receive(pipe: IO[bytes]) -> object | None:
    head = pipe.read(_LEN)
    if len(head) < _LEN:
        return None
    return pickle.loads(pipe.read(int.from_bytes(head, "big")))


class _Worker:
    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        self.proc = subprocess.Popen([sys.executable, "-m", "ledger.check_workers"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env)
        self.jobs: queue.Queue[object | None] = queue.Queue()
        self.feeder = threading.Thread(target=self._feed, daemon=True)
        self.feeder.start()

    def _feed(self) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        with contextlib.suppress(OSError):  # a broken pipe: the worker died or was stopped; `result` says so
            while (job := self.jobs.get()) is not None:
                _send(stdin, job)
        with contextlib.suppress(OSError):
            stdin.close()

    def result(self) -> Checked:
        assert self.proc.stdout is not None
        out = _receive(self.proc.stdout)
        if not isinstance(out, Checked):
            raise RuntimeError(f"a verify worker stopped (exit code {self.proc.poll()})")
        return out

    def stop(self, abandon: bool) -> None:
        """Let the worker finish and exit; `abandon`: results are still coming that nobody will read."""
        if abandon:
            self.proc.kill()
        self.jobs.put(None)
        self.feeder.join(5)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def checked_chunks(rows: Iterable[Row], domain: StatementDomain | None, workers: int,
                   size: int = CHUNK) -> Iterator[Checked]:
    """`check_chunk` over every chunk of `size` rows, in order: inline, or round-robin over `workers` worker
    processes with at most `_AHEAD` chunks each in flight."""
    plain = (domain.chain_id, domain.verifying_contract) if domain is not None else None
    if workers <= 1:
        for start, batch in chunks(rows, size):
            yield check_chunk(plain, start, batch)
        return
    pool = [_Worker() for _ in range(workers)]
    sent = received = 0
    try:
        for start, batch in chunks(rows, size):
            pool[sent % workers].jobs.put((plain, start, [*map(tuple, batch)]))  # plain tuples pickle fastest
            sent += 1
            if sent - received >= _AHEAD * workers:
                yield pool[received % workers].result()
                received += 1
        while received < sent:
            yield pool[received % workers].result()
            received += 1
    finally:
        for w in pool:
            w.stop(abandon=received < sent)


def _serve() -> None:
    """The worker's loop: (domain, start, rows) in, `Checked` out, until stdin closes."""
    while (job := _receive(sys.stdin.buffer)) is not None:
        domain, start, batch = cast(tuple[Domain, int, list[Row]], job)
        _send(sys.stdout.buffer, check_chunk(domain, start, batch))


if __name__ == "__main__":
    _serve()
