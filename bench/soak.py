"""Soak: a mixed workload from concurrent clients with faults injected on a schedule.

Starts its own Anvil (with a state file) and the demo exchange on it (API + 3 provider nodes + the
story), then for the set duration runs catalog reads, purchases, queries and product reviews from
concurrent clients while, on a schedule, the chain stops and comes back, a provider node is killed and
restarted, and the API process is killed and restarted. Finally it waits for the outbox and the
anchoring worker to settle and runs the audit verification.

Last line: JSON with operations per kind, error rates by status, p99 latencies, records anchored and
the verification result. Usage: python bench/soak.py [--quick] [--seconds N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account import Account as EthAccount
from rich.console import Console
from rich.progress import Progress

from api.client import ApiError, ProvexClient
from api.client.signer import domain_from, make_binding
from api.demo.keys import participant_keys
from api.demo.run import Demo
from api.demo.story import CHECKLIST_OK, QUERIES
from api.settings import Settings
from ledger.anvil import DEV_DEPLOYER_KEY, Anvil
from ledger.client import ChainClient
from ledger.compiler import compile_contracts
from ledger.contracts import Ledger
from ledger.deploy import Deployment
from registry.schemas import ProductIn


class Stats:
    """Per-kind latencies and status counts (0 = transport error: the server was not there)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, Counter[int]] = defaultdict(Counter)

    def record(self, kind: str, status: int, seconds: float) -> None:
        with self.lock:
            self.latency[kind].append(seconds)
            self.status[kind][status] += 1

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for kind, lat in sorted(self.latency.items()):
            lat = sorted(lat)
            counts = self.status[kind]
            total = sum(counts.values())
            ok = sum(n for s, n in counts.items() if 200 <= s < 300)
            out[kind] = {
                "ops": total, "ok": ok,
                "p50_ms": round(lat[len(lat) // 2] * 1000, 1),
                "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1),
                "by_status": {str(s): n for s, n in sorted(counts.items())},
                "error_rate": {str(s): round(n / total, 4) for s, n in sorted(counts.items()) if s >= 400 or s == 0},
            }
        return out


def timed(stats: Stats, kind: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    try:
        result = fn()
        stats.record(kind, 200, time.perf_counter() - start)
        return result
    except ApiError as exc:
        stats.record(kind, exc.status, time.perf_counter() - start)
    except Exception:  # connection refused/reset while the API restarts
        stats.record(kind, 0, time.perf_counter() - start)
        time.sleep(0.2)
    return None


class Soak:
    def __init__(self, home: Path, seconds: float, clients: int) -> None:
        self.home, self.seconds, self.clients = home, seconds, clients
        self.stats = Stats()
        self.stop = threading.Event()
        self.faults: list[dict[str, Any]] = []
        self.console = Console(stderr=True)

    # ------------------------------------------------------------------ stack

    def start(self) -> None:
        self.anvil = Anvil(state_file=self.home / "anvil-state.json", state_interval=1).start()
        os.environ.update(PROVEX_HOME=str(self.home), PROVEX_RPC_URL=self.anvil.url,
                          PROVEX_DEPLOYER_KEY=DEV_DEPLOYER_KEY, PROVEX_ANCHOR_MAX_AGE="1.0",
                          PROVEX_KEYSTORE_SCRYPT_N="1024")
        self.demo = Demo(Settings(), self.console)
        with Progress(console=self.console, transient=True) as progress:
            self.state, _ = self.demo.start(progress)
        self.url = self.demo.url
        self.keys = {who: a["api_key"] for who, a in self.state.accounts.items()}
        people = participant_keys(self.home, list(self.state.accounts))
        self.signers = {self.keys[who]: key for who, key in people.items()}  # each participant's own key
        with ProvexClient(self.url, self.keys["exchange"], signer=people["exchange"]) as ex:
            domain = domain_from(ex.signing())
            self.buyers = []
            for i in range(3):
                key, name = EthAccount.create(), f"soak buyer {i}"
                acct = ex.create_account("buyer", name, make_binding(key, domain, "buyer", name))
                self.signers[acct["api_key"]] = key
                self.buyers.append(acct)
            time.sleep(2)  # account chain setup
            for acct in self.buyers:
                ex.mint(acct["id"], 1_000_000_000)
        self.licenses: dict[str, str] = {}

    def stop_stack(self) -> None:
        self.demo.stop()
        self.anvil.stop()

    # --------------------------------------------------------------- workload

    def client(self, key: str) -> ProvexClient:
        return ProvexClient(self.url, key, timeout=30, signer=self.signers.get(key))

    def reader(self, rng: random.Random) -> None:
        with self.client(self.keys["buyer"]) as c:
            while not self.stop.is_set():
                page = timed(self.stats, "catalog_search", lambda: c.catalog(q=rng.choice(["牲畜", "电", "grazing"])))
                items = (page or {}).get("items") or []
                if items:
                    ref = rng.choice(items)["id"]
                    timed(self.stats, "product_read", lambda ref=ref: c.product(ref))

    def purchaser(self, buyer: dict[str, Any], rng: random.Random) -> None:
        offer = self.state.ids["offer_livestock"]
        with self.client(buyer["api_key"]) as c:
            while not self.stop.is_set():
                out = timed(self.stats, "purchase", lambda: c.order(offer, 1, idempotency_key=str(uuid.uuid4())))
                lic = (out or {}).get("license") or {}
                if lic.get("id"):  # paid (a pending order's license does not exist yet)
                    self.licenses[buyer["id"]] = lic["id"]
                self.stop.wait(rng.uniform(0.5, 1.5))

    def querier(self, buyer: dict[str, Any], rng: random.Random) -> None:
        with self.client(buyer["api_key"]) as c:
            while not self.stop.is_set():
                lic = self.licenses.get(buyer["id"])
                if lic is None:
                    self.stop.wait(0.5)
                    continue
                sql = rng.choice(QUERIES)
                timed(self.stats, "query", lambda lic=lic, sql=sql: c.query(lic, sql, epsilon=0.05))
                self.stop.wait(rng.uniform(0.1, 0.4))

    def reviewer(self, rng: random.Random) -> None:
        ids = self.state.ids
        with self.client(self.keys["operator_xlg"]) as op, self.client(self.keys["exchange"]) as ex:
            template = op.product(ids["product_livestock"])
            body = {k: template[k] for k in ProductIn.model_fields if k in template and template[k] is not None}
            while not self.stop.is_set():
                p = timed(self.stats, "register_product",
                          lambda: op.create_product({**body, "title": f"soak {uuid.uuid4().hex[:8]}"}))
                if p:
                    ref = p["id"]

                    def review(ref: str = ref) -> Any:
                        ex.start_review(ref)
                        ex.review(ref, "approve", CHECKLIST_OK, "soak")  # the demo's notice is zero-length
                        return ex.complete_listing(ref)

                    timed(self.stats, "submit", lambda ref=ref: op.submit_product(ref))
                    timed(self.stats, "review", review)
                self.stop.wait(rng.uniform(0.5, 1.0))

    # ----------------------------------------------------------------- faults

    def fault_schedule(self) -> None:
        plan: list[tuple[float, str, Callable[[], None]]] = [
            (0.25, "chain stopped for 6 s", self.chain_outage),
            (0.50, "provider node killed, restarted after 4 s", self.provider_crash),
            (0.75, "API process killed and restarted", self.api_crash),
        ]
        start = time.monotonic()
        for at, name, fault in plan:
            if self.stop.wait(max(0.0, start + at * self.seconds - time.monotonic())):
                return
            began = time.monotonic() - start
            fault()
            self.faults.append({"fault": name, "at_s": round(began, 1),
                                "lasted_s": round(time.monotonic() - start - began, 1)})

    def chain_outage(self) -> None:
        port = self.anvil.port
        self.anvil.stop()
        time.sleep(6)
        self.anvil.port = port
        self.anvil.start()

    def provider_crash(self) -> None:
        sup = self.demo.supervisor
        assert sup is not None
        child = next(c for c in sup.children if c.name.startswith("provider"))
        argv = list(child.proc.args)  # type: ignore[arg-type]
        child.proc.send_signal(signal.SIGKILL)
        child.proc.wait()
        time.sleep(4)
        sup.children.remove(child)
        sup.wait_http(sup.spawn(child.name, [str(a) for a in argv], child.url), "/identity", timeout=60)

    def api_crash(self) -> None:
        sup = self.demo.supervisor
        assert sup is not None
        child = next(c for c in sup.children if c.name == "api")
        argv = list(child.proc.args)  # type: ignore[arg-type]
        child.proc.send_signal(signal.SIGKILL)
        child.proc.wait()
        sup.children.remove(child)
        sup.wait_http(sup.spawn("api", [str(a) for a in argv], child.url), "/health", timeout=180)

    # ------------------------------------------------------------------- run

    def run(self) -> dict[str, Any]:
        rng = random.Random(7)
        workers = [threading.Thread(target=self.reader, args=(random.Random(i),)) for i in range(self.clients)]
        for i, buyer in enumerate(self.buyers):
            workers.append(threading.Thread(target=self.purchaser, args=(buyer, random.Random(100 + i))))
            workers.append(threading.Thread(target=self.querier, args=(buyer, random.Random(200 + i))))
        workers.append(threading.Thread(target=self.reviewer, args=(rng,)))
        started = time.monotonic()
        for w in workers:
            w.start()
        # Faults run on the main thread: children die with the thread that spawned them (PDEATHSIG).
        self.fault_schedule()
        self.stop.wait(max(0.0, started + self.seconds - time.monotonic()))
        self.stop.set()
        for w in workers:
            w.join(300)
        elapsed = time.monotonic() - started
        verification = self.settle()
        return {"bench": "soak", "seconds": round(elapsed, 1), "clients": self.clients + 2 * len(self.buyers) + 1,
                "operations": self.stats.summary(), "faults": self.faults, **verification}

    def settle(self, timeout: float = 180) -> dict[str, Any]:
        """Wait until every record is anchored, then verify the database against the chain."""
        deadline = time.monotonic() + timeout
        with self.client(self.keys["auditor"]) as auditor:
            while True:
                report = auditor.verify()
                if report["ok"] and report["unanchored"] == 0:
                    break
                if time.monotonic() > deadline:
                    break
                time.sleep(1.0)
        return {"records": report["records"], "records_anchored": report["anchored"],
                "unanchored": report["unanchored"], "verification_ok": report["ok"],
                "divergence": report.get("divergence"), **self.balances()}

    def balances(self) -> dict[str, Any]:
        """Conservation on chain: every fen minted is held by an account, the deployer or escrow."""
        manifest = Deployment.load(self.home / "deployment.json")
        assert manifest is not None
        build = compile_contracts(Settings().contracts_dir, self.home / "build")
        ledger = Ledger(ChainClient(self.anvil.url), manifest, build)
        with self.client(self.keys["exchange"]) as ex:
            holders = {a["address"] for a in ex.accounts()}
        holders |= {manifest.deployer, ledger.settlement.address}
        held = sum(ledger.balance_of(a) for a in holders)
        supply = int(ledger.raw_call("SettlementToken", "totalSupply"))
        return {"token_supply_fen": supply, "token_held_fen": held, "balances_conserved": held == supply}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 minutes")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--clients", type=int, default=4, help="catalog reader clients")
    parser.add_argument("--home", type=Path, default=None, help="keep state and logs here (default: a temp dir)")
    args = parser.parse_args()
    seconds = args.seconds or (120 if args.quick else 1800)
    with tempfile.TemporaryDirectory(prefix="provex-soak-") as tmp:
        home = args.home or Path(tmp)
        home.mkdir(parents=True, exist_ok=True)
        soak = Soak(home.resolve(), seconds, args.clients)
        try:
            soak.start()
            result = soak.run()
        finally:
            soak.stop_stack()
    print(json.dumps(result, ensure_ascii=False))
    sys.exit(0 if result["verification_ok"] and result["balances_conserved"] else 1)


if __name__ == "__main__":
    main()
