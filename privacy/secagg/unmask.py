"""Checked unmasking: every reconstruction is verified, a faulty node is named and left out.

Two independent checks, so that a bad share can never produce a wrong total:

* **Spare shares.** With m > t unmasking replies, all shares of all secrets must lie on polynomials
  of degree < t (Reed-Solomon consistency). One random linear combination of the secrets checks them
  all at once (:func:`~privacy.secagg.shamir.random_combination`).
* **Check lanes.** Every provider appends :data:`~privacy.secagg.constants.CHECK_LANES` zero lanes to
  its vector; a wrongly reconstructed self-mask seed or mask key leaves pseudo-random values there, so
  the unmasked total must end in zeros (false accept <= 2^-64). This holds with exactly t shares too.

When a check fails, each reply is left out in turn; the one whose absence makes the rest pass is the
faulty node, and the total from the others is released (it is correct: it passed both checks). If no
single node explains the failure, or the remaining shares are fewer than t, nothing is released.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from privacy.errors import IntegrityCheckFailed
from privacy.secagg import shamir
from privacy.secagg.constants import CHECK_LANES
from privacy.secagg.masks import pair_key, self_mask_key
from privacy.secagg.ring import Ring
from privacy.secagg.sessions import Session

Replies = dict[str, dict[str, Any]]


@dataclass
class Unmasked:
    """The decoded total (check lanes removed), and the replies left out and why."""

    values: list[int]
    excluded: dict[str, str]


@dataclass
class _Job:
    ring: Ring
    total: int
    session: Session
    slot: int
    u3: list[str]
    dropped: list[str]
    threshold: int

    def secrets(self) -> list[tuple[str, str]]:
        """(field, node) of every secret to reconstruct, in a fixed order."""
        return [("b_shares", v) for v in self.u3] + [("s_shares", u) for u in self.dropped]


def _shares(reply: dict[str, Any], wanted: list[tuple[str, str]]) -> list[int] | None:
    try:
        return [int(str(reply[f][node]), 16) for f, node in wanted]
    except (KeyError, ValueError, TypeError):
        return None


def _unmask(job: _Job, xs: Sequence[int], rows: dict[int, list[int]]) -> list[int] | None:
    """Reconstruct from the first t points, remove the masks, decode; None if a check lane is off."""
    xs = list(xs)[: job.threshold]
    coeffs = shamir.lagrange_at_zero(xs)
    order = job.session.participants
    acc = job.total
    try:
        for i, (f, node) in enumerate(job.secrets()):
            secret = shamir.combine(xs, [rows[x][i] for x in xs], coeffs)
            if f == "b_shares":
                acc += job.ring.neg(job.ring.prg(self_mask_key(secret, job.session.sid, job.slot)))
                continue
            sk = X25519PrivateKey.from_private_bytes(secret)
            iu = order.index(node)
            for v in job.u3:
                if v not in job.session.graph[node]:
                    continue
                mask = job.ring.prg(pair_key(sk, job.session.s_pks[v][job.slot], job.session.sid, job.slot))
                # y_v holds +mask if v precedes u in the order, else -mask: cancel it.
                acc += job.ring.neg(mask) if order.index(v) < iu else mask
            acc = job.ring.reduce(acc)
    except ValueError:
        return None
    values = job.ring.decode(acc)
    if any(values[-CHECK_LANES:]):
        return None
    return values[:-CHECK_LANES]


def _consistent(job: _Job, rows: dict[int, list[int]]) -> bool:
    """Whether the shares of every secret lie on one polynomial of degree < t (needs > t rows)."""
    xs = sorted(rows)
    combined = shamir.random_combination([[rows[x][i] for x in xs] for i in range(len(job.secrets()))])
    return not combined or shamir.on_polynomial(xs, combined, job.threshold)


def _attempt(job: _Job, rows: dict[int, list[int]]) -> list[int] | None:
    """The total from these replies if they pass both checks."""
    if len(rows) < job.threshold or (len(rows) > job.threshold and not _consistent(job, rows)):
        return None
    return _unmask(job, sorted(rows), rows)


def unmask_checked(
    ring: Ring, total: int, session: Session, slot: int, u3: list[str], replies: Replies, threshold: int
) -> Unmasked:
    """Remove self masks of u3 and pairwise masks of u2 minus u3, checked as the module says."""
    job = _Job(ring, total, session, slot, u3, [u for u in session.u2 if u not in u3], threshold)
    wanted = job.secrets()
    index = {n: session.participants.index(n) + 1 for n in replies}
    excluded: dict[str, str] = {}
    rows: dict[int, list[int]] = {}
    for node, reply in replies.items():
        row = _shares(reply, wanted)
        if row is None:
            excluded[node] = "unmask reply lacks shares it must hold; left out"
        else:
            rows[index[node]] = row
    values = _attempt(job, rows)
    if values is not None:
        return Unmasked(values, excluded)
    names = {i: n for n, i in index.items()}
    if len(rows) > threshold and _consistent(job, rows):
        raise IntegrityCheckFailed("every unmask share agrees but the total's check lanes are not zero: "
                                   "a provider's masked input is malformed; no total was released")
    if len(rows) > threshold:
        for x in sorted(rows):
            values = _attempt(job, {k: v for k, v in rows.items() if k != x})
            if values is not None:
                excluded[names[x]] = "sent unmask shares that disagree with the others; left out"
                return Unmasked(values, excluded)
    suspects = ", ".join(sorted(names[x] for x in rows))
    raise IntegrityCheckFailed(
        f"the unmasked total failed its check and no single faulty node explains it "
        f"({len(rows)} usable unmask replies, threshold {threshold}; one of {suspects} sent a bad "
        f"share or input){'; ' + '; '.join(f'{n}: {w}' for n, w in excluded.items()) if excluded else ''}; "
        "no total was released"
    )
