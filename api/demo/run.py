"""`provex demo`: generate the datasets, start Anvil, the API workers, the chain worker and three provider nodes,
play the story once, start the auditor's witness, print what happened with the portal URL, every role's API key,
the chain, the trust file and the witness, then serve until Ctrl-C.

State lives in PROVEX_HOME: a rerun finds `demo/state.json`, starts the same processes on the saved chain
and database, re-registers the nodes at their new ports, resumes the witness from `demo/witness/state.json` and
prints the summary again.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import threading
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.background import LEADING
from api.bootstrap import create_bootstrap_account
from api.client import ProvexClient
from api.client.signer import domain_from, make_binding
from api.demo import endpoint
from api.demo.cast import BOOTSTRAP, PEOPLE
from api.demo.datasets import REGISTRY_NODE, VERIFY_COLUMNS, Dataset, generate
from api.demo.keys import DEMO_PASSPHRASE, keystore_dir, participant_keys
from api.demo.processes import Supervisor, demo_env, listening_socket, provider_public_key, sign_node_policy
from api.demo.story import NodeInfo, Step, Story, StoryState
from api.demo.witness import WITNESS, DemoWitness, sign_demo_trust
from api.settings import Settings
from ledger.anvil import DEV_DEPLOYER_KEY
from ledger.rpc_file import RPC_FILE, running_endpoint

STATE_FILE = "state.json"
API_WORKERS = 2  # the demo runs the scaled-out process model: stateless API workers beside `provex worker`


class DemoStopped(Exception):
    """Ctrl-C or SIGTERM arrived while the demo was starting."""


def _save(path: Path, state: StoryState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(state.as_dict(), f, ensure_ascii=False, indent=1)
    tmp.replace(path)


def load_state(home: Path) -> StoryState | None:
    path = home / "demo" / STATE_FILE
    if not path.exists():
        return None
    return StoryState.from_dict(json.loads(path.read_text()))


def summary(console: Console, state: StoryState, portal: str, home: Path,
            witness: DemoWitness | None = None) -> None:
    """The table of what happened, the portal URL, each role's API key, and the chain, trust file and witness."""
    steps = Table(title=f"Provex demo: what happened (played {state.played_at})", show_lines=False)
    for col in ("#", "who", "did", "outcome", "ref"):
        steps.add_column(col, overflow="fold")
    for i, s in enumerate(state.steps, 1):
        steps.add_row(str(i), s.actor, s.action, s.outcome, s.ref)
    console.print(steps)
    keys = Table(title="Sign in to the portal with one of these API keys")
    keys.add_column("role", no_wrap=True)
    keys.add_column("account", overflow="fold")
    keys.add_column("API key", no_wrap=True, overflow="ignore")  # never folded: it must copy whole
    for who, acct in state.accounts.items():
        keys.add_row(who, acct["name"], acct["api_key"])
    console.print(keys)
    console.print(f"Portal: [bold cyan]{portal}/[/bold cyan]   API docs: {portal}/docs")
    console.print(f"API: {portal} (the CLI's default while the demo runs, from {home / endpoint.API_FILE}; "
                  "--api or PROVEX_API_URL override it)", soft_wrap=True, highlight=False)
    console.print(f"For the README's commands: . {home / endpoint.ENV_FILE}   (the buyer's key as PROVEX_API_KEY, "
                  "AUDITOR_KEY, BANK_KEY, VERIFY_LICENSE, RPC, WITNESS, the demo keystore)", soft_wrap=True,
                  highlight=False)
    if witness is not None:
        w = witness
        console.print(f"Chain: {w.rpc_url} (`provex chain status` shows it)", soft_wrap=True)
        console.print(f"Trust file, signed by the authority {w.authority}: {w.trust}", soft_wrap=True)
        console.print(f"Witness: the auditor {w.address} cosigns each checkpoint (`provex witness`, state in "
                      f"{w.state.parent})", soft_wrap=True)
        console.print("Verify an export against the chain, trusting only the trust file and the witness:")
        console.print(f"  provex audit export ./audit\n  {w.verify_command()}", soft_wrap=True, highlight=False)


class Demo:
    """Everything `provex demo` does, with the processes it started."""

    def __init__(self, settings: Settings, console: Console) -> None:
        self.settings = settings
        self.console = console
        self.home = settings.home.resolve()
        self.stop_event = threading.Event()
        self.supervisor: Supervisor | None = None
        self.witness: DemoWitness | None = None
        self.url = ""
        self.api_pid: int | None = None

    def check_stop(self) -> None:
        if self.stop_event.is_set():
            raise DemoStopped()

    def start(self, progress: Progress) -> tuple[StoryState, bool]:
        """Datasets, API, accounts, nodes; plays the story when it has not been played here yet."""
        task = progress.add_task("generating datasets", total=None)
        data = generate(self.home / "demo-data")
        state = load_state(self.home) or StoryState()
        keys = participant_keys(self.home, list(PEOPLE))
        sock = listening_socket(self.settings.api_host, self.settings.api_port)
        port = sock.getsockname()[1]
        if port != self.settings.api_port:
            progress.console.print(f"[yellow]port {self.settings.api_port} is taken; the API listens on {port}")
        env = {**demo_env(self.home, port), "PROVEX_GOVERNANCE_ADDRESS": keys["authority"].address}
        self.supervisor = sup = Supervisor(self.home / "demo" / "logs", env)
        progress.update(task, description="starting Anvil and deploying the contracts")
        self.start_chain(sup)
        progress.update(task, description=f"starting {API_WORKERS} API workers on port {port} and the chain worker")
        instance = secrets.token_hex(16)
        api = sup.start_api(sock, instance, API_WORKERS)
        self.url = api.url
        sup.wait_http(api, "/health", timeout=180, tick=self.check_stop, expect={"instance": instance})
        sup.wait_output(sup.start_worker(), LEADING, timeout=120, tick=self.check_stop)
        self.api_pid = api.proc.pid
        endpoint.publish(self.home, self.url, api.proc.pid)
        with ProvexClient(self.url) as anon:
            domain = domain_from(anon.signing())
        for who in BOOTSTRAP:
            if who not in state.accounts:
                role, name = PEOPLE[who]
                binding = make_binding(keys[who], domain, role, name)
                state.accounts[who] = create_bootstrap_account(self.settings, role, name, binding)
        _save(self.home / "demo" / STATE_FILE, state)
        progress.update(task, description="starting 3 provider nodes")
        nodes = self.start_nodes(sup, data)
        story = Story(self.url, state, data, nodes, keys, domain,
                      log=lambda s: progress.update(task, description=f"{s.actor}: {s.action}"))
        played = not state.played_at
        try:
            if played:
                progress.update(task, description="playing the story")
                story.play()
            else:
                story.register_nodes(nodes)
        finally:
            story.close()
            _save(self.home / "demo" / STATE_FILE, state)
        progress.update(task, description="starting the auditor's witness")
        self.witness = w = self.start_witness(sup, keys)
        endpoint.write_env(self.home, {
            "PROVEX_HOME": str(self.home), "PROVEX_API_KEY": state.accounts["buyer"]["api_key"],
            "AUDITOR_KEY": state.accounts["auditor"]["api_key"], "PROVEX_KEYSTORE": str(keystore_dir(self.home)),
            "PROVEX_KEYSTORE_PASSPHRASE": DEMO_PASSPHRASE, "RPC": w.rpc_url, "WITNESS": w.address,
            "BANK_KEY": state.accounts.get("bank", {}).get("api_key", ""),
            "VERIFY_LICENSE": state.ids.get("license_verify", "")})  # absent in a state saved by an older demo
        return state, played

    def start_chain(self, sup: Supervisor) -> None:
        """The chain as its own process; the API workers and the chain worker attach to it (the scaled-out
        process model: api.background)."""
        chain = sup.start_chain()
        sup.wait_output(chain, "chain is up", timeout=180, tick=self.check_stop)
        published = running_endpoint(self.home)
        if published is None:
            raise RuntimeError(f"the chain did not publish its RPC URL in {self.home / RPC_FILE}")
        sup.env.update(PROVEX_RPC_URL=published.rpc_url, PROVEX_DEPLOYER_KEY=DEV_DEPLOYER_KEY,
                       PROVEX_WORKER="external")

    def start_witness(self, sup: Supervisor, keys: dict[str, LocalAccount]) -> DemoWitness:
        """The authority signs the trust file with its own key; the auditor's witness follows the chain with its
        own key and state file (a rerun resumes from it)."""
        rpc, trust = sign_demo_trust(self.settings, self.home, keys["authority"])
        state = self.home / "demo" / "witness" / "state.json"
        child = sup.start_witness(rpc, trust, keystore_dir(self.home), WITNESS, DEMO_PASSPHRASE, state)
        sup.wait_output(child, '"last_cosigned"', timeout=120, tick=self.check_stop)
        return DemoWitness(rpc, trust, keys[WITNESS].address, keys["authority"].address, state)

    def start_nodes(self, sup: Supervisor, data: dict[str, Dataset]) -> dict[str, NodeInfo]:
        """Each livestock station's node, with its own signed policy (the ear tags are location data: noise
        required), and the herder registry's node, whose policy also allows verification calls on the herder id,
        the head count and the cattle."""
        with ProvexClient(self.url) as anon:
            coordinator = anon.coordinator_identity()["public_key"]
        nodes = {}
        livestock = data["livestock"]
        for part in livestock.partitions:
            key_dir = self.home / "providers" / part.node_id
            policy, policy_hash = sign_node_policy(key_dir, part.node_id, livestock.key, livestock.columns,
                                                   personal=True)
            child = sup.start_provider(part.node_id, part.path, key_dir, coordinator, policy)
            public_key = provider_public_key(key_dir)
            sup.wait_http(child, "/identity", timeout=60, tick=self.check_stop, expect={"public_key": public_key})
            nodes[part.node_id] = NodeInfo(child.url, public_key, policy_hash)
        registry = data["herders"]
        node_id = REGISTRY_NODE[0]
        key_dir = self.home / "providers" / node_id
        policy, policy_hash = sign_node_policy(key_dir, node_id, registry.key, registry.columns, personal=True,
                                               verify=VERIFY_COLUMNS)
        child = sup.start_provider(node_id, registry.path, key_dir, coordinator, policy)
        public_key = provider_public_key(key_dir)
        sup.wait_http(child, "/identity", timeout=60, tick=self.check_stop, expect={"public_key": public_key})
        nodes[node_id] = NodeInfo(child.url, public_key, policy_hash)
        return nodes

    def stop(self) -> None:
        if self.supervisor is not None:
            with self.console.status("stopping the witness, the provider nodes, the chain worker, the API and Anvil"):
                self.supervisor.stop()
        if self.api_pid is not None:
            endpoint.withdraw(self.home, self.api_pid)


def run_demo(settings: Settings, console: Console, *, fresh: bool = False, wait: bool = True) -> StoryState:
    """Start (and on first run play) the demo; serve until Ctrl-C/SIGTERM unless `wait` is False."""
    if fresh and settings.home.exists():
        shutil.rmtree(settings.home)
    demo = Demo(settings, console)
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def on_signal(*_: Any) -> None:
        demo.stop_event.set()

    for s in previous:
        signal.signal(s, on_signal)
    try:
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            state, played = demo.start(progress)
        console.print("[green]story played[/green]" if played else
                      f"[green]reusing the demo state in {settings.home}[/green] (`provex demo --fresh` starts over)")
        summary(console, state, demo.url, demo.home, demo.witness)
        if wait:
            console.print("Serving; [bold]Ctrl-C[/bold] stops every process the demo started.")
            while not demo.stop_event.wait(1.0):
                dead = [c.name for c in (demo.supervisor.children if demo.supervisor else [])
                        if c.proc.poll() is not None]
                if dead:
                    console.print(f"[red]{', '.join(dead)} stopped unexpectedly; see {demo.home / 'demo' / 'logs'}")
                    break
        return state
    except DemoStopped:
        console.print("[yellow]interrupted[/yellow]")
        raise
    finally:
        demo.stop()
        for s, handler in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(s, handler)


__all__ = ["Demo", "DemoStopped", "Step", "load_state", "run_demo", "summary"]
