"""Portal notes live in the database: a POST served by one API worker leaves what the redirected GET, served by
another, shows; each session sees only its own, flash messages show once, and a session keeps its newest few."""

from __future__ import annotations

from pathlib import Path

from registry.db import make_engine, migrate
from registry.portal_notes import RESULTS_PER_SESSION, Notes


def test_notes_cross_workers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'provex.db'}"
    one, two = make_engine(url), make_engine(url)  # two API processes, one database
    migrate(one)
    first, second = Notes(one), Notes(two)
    note = first.keep("sess-a", "query", {"result": [1, 2.5, None], "values": {"q": "x"}})
    assert second.result("sess-a", "query", note) == {"result": [1, 2.5, None], "values": {"q": "x"}}
    assert second.result("sess-a", "report", note) is None, "a note answers only for its own kind"
    assert second.result("sess-b", "query", note) is None, "another session's note is not shown"

    first.flash("sess-a", "saved")
    first.flash("sess-a", "approved", "err")  # a newer message replaces a waiting one
    assert second.take_flash("sess-b") is None
    assert second.take_flash("sess-a") == ("err", "approved")
    assert first.take_flash("sess-a") is None, "a flash shows once"

    ids = [first.keep("sess-a", "query", {"n": i}) for i in range(RESULTS_PER_SESSION)]
    assert second.result("sess-a", "query", note) is None, "the oldest result made room"
    assert second.result("sess-a", "query", ids[-1]) == {"n": RESULTS_PER_SESSION - 1}
    assert second.result("sess-a", "query", ids[0]) == {"n": 0}

    second.forget("sess-a")
    assert first.result("sess-a", "query", ids[-1]) is None, "sign-out drops what the session kept"
    one.dispose()
    two.dispose()
