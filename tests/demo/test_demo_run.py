"""`provex demo` end to end: the story, its summary, state reuse, and Ctrl-C stopping every process."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import httpx

from api.client import ProvexClient
from tests.utils.demo import DemoRun, LiveDemo

ROLES = ("authority", "exchange", "operator_xlg", "operator_hhht", "provider_xlg-east", "provider_xlg-west",
         "provider_xlg-south", "provider_xlg-registry", "buyer", "bureau", "bank", "auditor")


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
                     "takes a livestock license free of charge",
                     "fits the health model by federated regression", "licenses the health model",
                     "≥ 200 head: match; ≥ 5,000 head: no match",
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


def test_the_demo_serves_as_itself_while_another_server_holds_its_port(demo_run: DemoRun, live_demo: LiveDemo,
                                                                       impostor: int) -> None:
    """Issue 18's first run: another server answering `/health` held the preferred port (both starts)."""
    for out in (demo_run.output, "".join(live_demo.startup)):
        assert f"port {impostor} is taken" in out, out[-3000:]
    assert "story played" in demo_run.output
    assert not live_demo.url.endswith(f":{impostor}")
    published = json.loads((demo_run.home / "demo" / "api.json").read_text())
    assert published["api_url"] == live_demo.url and f"API: {live_demo.url} " in "".join(live_demo.startup)
    environ = Path(f"/proc/{published['pid']}/environ").read_bytes().split(b"\0")
    instance = next(e.split(b"=", 1)[1].decode() for e in environ if e.startswith(b"PROVEX_INSTANCE="))
    assert len(instance) == 32
    assert httpx.get(live_demo.url + "/health").json()["instance"] == instance  # its own API, this run's
    assert "instance" not in httpx.get(f"http://127.0.0.1:{impostor}/health").json()
    with ProvexClient(live_demo.url, live_demo.key("buyer")) as c:
        assert c.licenses()  # the story's license, on the port the demo printed
