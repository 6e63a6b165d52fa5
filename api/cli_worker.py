"""`provex worker`: the process that runs the exchange's chain work (outbox dispatcher, anchoring) as the
database's leader, beside API workers started with PROVEX_WORKER=external (api.background)."""

from __future__ import annotations

import logging
import signal
import sys
from typing import Any

import typer

from api.settings import get_settings


def worker(
    poll: float = typer.Option(1.0, "--poll", min=0.1, help="seconds between tries while another worker leads"),
) -> None:
    """Run the chain work for this database: lead it, or wait and take over when the leader stops or dies.

    Needs the chain the API workers use (PROVEX_RPC_URL, deployed once by `provex chain deploy`) and their
    database (PROVEX_DB_URL). Run two for fail-over. Example: `PROVEX_WORKER=external uvicorn --workers 2
    --factory api.app:app_from_env` beside `provex worker`.
    """
    from api.background import chain_work_for, gateway_for
    from ledger.runtime import ChainRuntime
    from registry.db import make_engine, migrate

    settings = get_settings()
    if not settings.rpc_url:
        typer.echo("provex worker needs PROVEX_RPC_URL: the chain the API workers share (an embedded Anvil "
                   "belongs to one process)", err=True)
        raise typer.Exit(2)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    runtime = ChainRuntime(settings.chain_config()).start()
    engine = make_engine(settings.db_url, pool_size=4)
    try:
        migrate(engine)
        work = chain_work_for(settings, engine, gateway_for(settings, runtime), runtime)
        work.poll = poll

        def on_signal(*_: Any) -> None:
            work.stop_soon()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        logging.getLogger("provex.worker").info("worker %s started; campaigning for leadership", settings.home)
        work.run()
    finally:
        engine.dispose()
        runtime.stop()
