"""`provex demo` end to end: the story, its summary, state reuse, and Ctrl-C stopping every process."""

from __future__ import annotations

import re
import socket

from tests.utils.demo import DemoRun, LiveDemo

ROLES = ("authority", "exchange", "operator_xlg", "operator_hhht", "provider_xlg-east", "provider_xlg-west",
         "provider_xlg-south", "buyer", "auditor")


def listening(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, int(port))) == 0


def test_demo_plays_the_story_and_prints_the_summary(demo_run: DemoRun) -> None:
    out = demo_run.output
    assert demo_run.returncode == 0, out[-4000:]
    assert "story played" in out
    for expected in ("registers 4 public data resources", "authorizes 2 operators", "rejects the clinic-visits",
                     "lists the livestock product", "is refused listing the electricity product",
                     "buys a license", "federated queries over 3 provider nodes", "budget runs low",
                     "traces the livestock product", "database matches the chain"):
        assert expected in out, expected
    assert re.search(r"Portal: http://127\.0\.0\.1:\d+/", out)
    keys = re.findall(r"pxk_[A-Za-z0-9_-]{20,}", out)
    assert len(set(keys)) == len(ROLES)
    state = demo_run.state
    assert set(state["accounts"]) == set(ROLES)
    assert [s["actor"] for s in state["steps"]][-2:] == ["auditor", "auditor"]
    assert demo_run.seconds < 150, f"the demo took {demo_run.seconds:.0f}s"


def test_demo_data_is_deterministic(demo_run: DemoRun) -> None:
    from api.demo.datasets import generate

    again = generate(demo_run.home / "regenerated")
    resources = {s["ref"] for s in demo_run.state["steps"] if "resources" in s["action"]}
    assert resources  # registered once, with these files' hashes as content hashes
    for name, ds in again.items():
        original = demo_run.home / "demo-data" / ds.path.relative_to(demo_run.home / "regenerated")
        if ds.partitions:
            for part in ds.partitions:
                assert (original / part.path.name).read_bytes() == part.path.read_bytes(), name
        else:
            assert original.read_bytes() == ds.path.read_bytes(), name


def test_rerun_reuses_the_state(live_demo: LiveDemo) -> None:
    text = "".join(live_demo.startup)
    assert "reusing the demo state" in text
    assert "story played" not in text
    assert "database matches the chain" in text  # the same summary again
    assert listening(live_demo.url)
