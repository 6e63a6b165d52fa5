"""Catalog benchmark: N products, concurrent searches and product reads over real HTTP (uvicorn).

Usage: `python bench/catalog.py --quick` (10k products, under a minute) or without `--quick`
(100k). The products are bulk-loaded into the database (they are catalog rows; chain writes are
measured elsewhere); the API runs as its own uvicorn process with an embedded Anvil.
Last line: JSON with requests/s and p50/p99 latency (ms) per phase.
Targets on 2 cores: search p99 < 50 ms at 100k products; >= 1,000 product reads/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import sqlalchemy as sa
from eth_account import Account as EthAccount
from eth_account.signers.local import LocalAccount

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.client.signer import make_binding  # noqa: E402
from ledger.anvil import free_port  # noqa: E402
from ledger.statements import StatementDomain  # noqa: E402
from registry.accounts import create_account  # noqa: E402
from registry.bindings import SignedBinding  # noqa: E402
from registry.db import make_engine, migrate, session_scope  # noqa: E402
from registry.models import Authorization, Product, Resource, Role  # noqa: E402

WORDS = ["grassland", "rainfall", "livestock", "wheat", "corn", "traffic", "energy", "mining", "tourism",
         "water", "soil", "forest", "herd", "wind", "solar", "freight", "retail", "health", "school", "housing"]
SECTORS = ["agriculture", "ecology", "transport", "energy", "tourism", "health"]
REGIONS = ["150100", "150200", "152500", "110000", "150600"]


def binding_of(key: LocalAccount, domain: StatementDomain, role: str, name: str) -> SignedBinding:
    return SignedBinding.of(make_binding(key, domain, role, name), role, name, domain)


def load(db_url: str, n: int) -> tuple[str, list[str]]:
    """Accounts, one resource and authorization, then `n` listed products; returns buyer key and ids."""
    engine = make_engine(db_url)
    migrate(engine)
    domain = StatementDomain(31337, "0x" + "00" * 20)  # no chain here: accounts bound at a stand-in deployment
    with session_scope(engine) as s:
        operator, _ = create_account(s, None, role=Role.OPERATOR, name="bench operator",
                                     binding=binding_of(EthAccount.create(), domain, "operator", "bench operator"))
        _, buyer_key = create_account(s, None, role=Role.BUYER, name="bench buyer",
                                      binding=binding_of(EthAccount.create(), domain, "buyer", "bench buyer"))
        res = Resource(id=str(uuid.uuid4()), code="PXR-BENCH-1", name="r", department="d", sector="agriculture",
                       region_code="150100", classification="general", content_hash="0" * 64,
                       column_schema=[], update_frequency="daily", volume=1, metadata_hash="0" * 64,
                       registered_by=operator.id)
        authz = Authorization(id=str(uuid.uuid4()), code="PXA-BENCH-1", authority_id=operator.id,
                              operator_id=operator.id, resource_ids=[res.id], purposes=["bench"],
                              purpose_hash="0" * 64, valid_from=0, valid_until=2**31 - 1, max_classification="general")
        s.add(res)
        s.add(authz)
        op_id, authz_id, res_id = operator.id, authz.id, res.id
    rng = random.Random(7)
    ids: list[str] = []
    table = sa.Table(Product.__tablename__, Product.metadata)
    base = {"operator_id": op_id, "authorization_id": authz_id, "resource_ids": [res_id], "provider_ids": [],
            "publisher": "bench operator", "update_frequency": "monthly", "license": "standard",
            "source_statement": "bench", "authorization_basis": "PXA-BENCH-1", "classification": "general",
            "scale": "1k rows", "columns": [{"name": "v", "type": "number", "min": 0, "max": 1}],
            "sample": [], "quality": {"completeness": 1, "timeliness": 1, "accuracy": 1}, "offers": [],
            "status": "listed", "version": 1, "metadata_hash": "0" * 64, "chain_state": "confirmed",
            "temporal_start": None, "temporal_end": None}
    chunk = 5000
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for start in range(0, n, chunk):
            rows = []
            for i in range(start, min(n, start + chunk)):
                pid = str(uuid.uuid4())
                ids.append(pid)
                kw = rng.sample(WORDS, 3)
                rows.append({**base, "id": pid, "code": f"PX-BENCH-{i:07d}",
                             "title": f"{kw[0].title()} {kw[1]} statistics {i}",
                             "description": f"Monthly {kw[0]} and {kw[2]} figures for region {i % 97}.",
                             "sector": rng.choice(SECTORS), "keywords": kw, "keywords_text": " ".join(kw),
                             "region_code": rng.choice(REGIONS), "price_from_fen": rng.randrange(100, 10**6),
                             "created_at": now, "updated_at": now})
            conn.execute(sa.insert(table.metadata.tables["products"]), rows)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE products")  # as autovacuum would after a bulk load: plans need stats
    engine.dispose()
    return buyer_key, ids


def start_api(home: Path, db_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVEX_")}
    env.update(PROVEX_HOME=str(home), PROVEX_DATABASE_URL=db_url, PROVEX_PERSIST_CHAIN="false",
               PROVEX_KEYSTORE_SCRYPT_N="1024", PROVEX_DB_POOL_SIZE="20")
    uvicorn = Path(sys.executable).with_name("uvicorn")
    proc = subprocess.Popen([str(uvicorn), "--factory", "api.app:app_from_env", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning", "--no-access-log"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(home / "api.log", "wb"))  # noqa: SIM115
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError((home / "api.log").read_text()[-2000:])


def _cpu_seconds(root: int) -> float:
    """User + system CPU seconds of `root` and its descendants (uvicorn workers), Anvil excluded."""
    stats: dict[int, tuple[int, str, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        stats[int(entry.name)] = (int(fields[1]), comm, (int(fields[11]) + int(fields[12])) / tick)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats and stats[pid][1] != "anvil":
            total += stats[pid][2]
            todo += [child for child, (ppid, _, _) in stats.items() if ppid == pid]
    return total


def _summary(latencies: list[float], errors: int, elapsed: float, server_cpu: float,
             client_cpu: float) -> dict[str, float]:
    latencies.sort()
    n = len(latencies)
    return {"requests": n, "errors": errors, "rps": round(n / elapsed, 1),
            "p50_ms": round(statistics.median(latencies), 2), "p99_ms": round(latencies[int(n * 0.99) - 1], 2),
            # CPU accounting (robust on a shared machine where wall-clock figures are noisy):
            "server_cpu_ms_per_req": round(server_cpu * 1000 / n, 3),
            "client_cpu_ms_per_req": round(client_cpu * 1000 / n, 3),
            "client_cpu_share": round(client_cpu / (client_cpu + server_cpu), 3) if server_cpu + client_cpu else 0}


async def drive_httpx(url: str, key: str, make_path: Any, seconds: float, concurrency: int,
                      server_pid: int) -> dict[str, float]:
    """The original load generator (httpx.AsyncClient): heavy on the client side."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, limits=limits,
                                 timeout=30) as client:
        async def worker(seed: int) -> None:
            nonlocal errors
            rng = random.Random(seed)
            while time.perf_counter() < stop_at:
                path, params = make_path(rng)
                t0 = time.perf_counter()
                r = await client.get(path, params=params)
                latencies.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    errors += 1

        cpu0, scpu0, t0 = time.process_time(), _cpu_seconds(server_pid), time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - t0
        cpu, scpu = time.process_time() - cpu0, _cpu_seconds(server_pid) - scpu0
    return _summary(latencies, errors, elapsed, scpu, cpu)


async def drive(url: str, key: str, make_path: Any, seconds: float, concurrency: int,
                server_pid: int) -> dict[str, float]:
    """A light load generator: one HTTP/1.1 keep-alive connection per client on raw asyncio streams, so
    that the client takes as little as possible of the CPU it shares with the server."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    head = f" HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\n\r\n".encode()

    async def worker(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < stop_at:
                path, params = make_path(rng)
                target = (path + "?" + urlencode(params)) if params else path
                t0 = time.perf_counter()
                writer.write(b"GET " + target.encode() + head)
                header = await reader.readuntil(b"\r\n\r\n")
                lower = header.lower()
                at = lower.find(b"\r\ncontent-length:")
                if at < 0:
                    raise RuntimeError(f"no content-length: {header!r}")
                length = int(lower[at + 17:lower.index(b"\r\n", at + 2)])
                await reader.readexactly(length)
                latencies.append((time.perf_counter() - t0) * 1000)
                if header[9:12] != b"200":
                    errors += 1
        finally:
            writer.close()

    cpu0, scpu0, t0 = time.process_time(), _cpu_seconds(server_pid), time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - t0
    cpu, scpu = time.process_time() - cpu0, _cpu_seconds(server_pid) - scpu0
    return _summary(latencies, errors, elapsed, scpu, cpu)


def search_path(rng: random.Random) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"q": rng.choice(WORDS), "limit": 20}
    roll = rng.random()
    if roll < 0.3:
        params["sector"] = rng.choice(SECTORS)
    elif roll < 0.5:
        params["region_code"] = rng.choice(REGIONS)
    elif roll < 0.6:
        params["price_min"], params["price_max"] = 1000, 200000
    return "/catalog", params


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="10k products, short phases")
    ap.add_argument("--products", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=None, help="seconds per phase")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    ap.add_argument("--client", choices=("raw", "httpx"), default="raw",
                    help="load generator: raw HTTP/1.1 keep-alive sockets (light) or httpx (the original)")
    args = ap.parse_args()
    n = args.products or (10_000 if args.quick else 100_000)
    seconds = args.seconds or (8.0 if args.quick else 20.0)
    with tempfile.TemporaryDirectory(prefix="provex-bench-") as tmp:
        home = Path(tmp)
        db_url = args.database_url or f"sqlite:///{home / 'bench.db'}"
        t0 = time.perf_counter()
        key, ids = load(db_url, n)
        load_s = time.perf_counter() - t0
        print(f"loaded {n} products in {load_s:.1f}s", file=sys.stderr)
        proc, url = start_api(home, db_url)
        try:
            run = drive if args.client == "raw" else drive_httpx
            asyncio.run(run(url, key, search_path, 1.0, 4, proc.pid))  # warm-up
            search = asyncio.run(run(url, key, search_path, seconds, args.concurrency, proc.pid))
            print(f"search: {search}", file=sys.stderr)
            reads = asyncio.run(run(url, key, lambda rng: (f"/products/{rng.choice(ids)}", {}), seconds,
                                    args.concurrency, proc.pid))
            print(f"reads: {reads}", file=sys.stderr)
        finally:
            proc.terminate()
            proc.wait(10)
    db = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    print(json.dumps({"bench": "catalog", "products": n, "database": db, "concurrency": args.concurrency,
                      "client": args.client, "cores": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2),
                      "server": {"workers": 1, "loop": "uvloop" if find_spec("uvloop") else "asyncio",
                                 "http": "httptools" if find_spec("httptools") else "h11"},
                      "load_seconds": round(load_s, 1), "search": search, "product_reads": reads,
                      "targets": {"search_p99_ms": 50, "reads_rps": 1000}}))


if __name__ == "__main__":
    main()
