"""What the `provex` command line prints when the API or the chain does not answer: one red line on standard
error and an exit code (3: a service did not answer, 1: the API refused), never a traceback."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import httpx
import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from api.client import ApiError
from ledger.errors import ChainError, ChainUnavailable

UNREACHABLE = 3


def _exit(message: str, code: int) -> NoReturn:
    Console(stderr=True, soft_wrap=True, highlight=False).print(f"[red]{message}[/red]")
    sys.exit(code)


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (a chain error's JSON-RPC detail can span several)."""
    return " ".join(str(exc).split()) or type(exc).__name__


class Cli(typer.Typer):
    """A Typer app whose unreachable API or chain ends the command with one line instead of a traceback."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ChainUnavailable as exc:
            _exit(f"the chain did not answer: {one_line(exc)} (is the demo or `provex up` running? "
                  "`provex chain status` shows where it listens)", UNREACHABLE)
        except ChainError as exc:
            _exit(f"chain error: {one_line(exc)}", UNREACHABLE)
        except httpx.TransportError as exc:
            where = exc.request.url if _has_request(exc) else "the server"
            _exit(f"cannot reach {where}: {one_line(exc)} (is the API running? --api or PROVEX_API_URL names "
                  "it)", UNREACHABLE)
        except ApiError as exc:
            _exit(f"{exc.status} {exc.code}: {exc.detail}", 1)
        except SQLAlchemyError as exc:  # e.g. a home whose database was never created
            cause = getattr(exc, "orig", None) or exc
            _exit(f"the database cannot be read: {one_line(cause)} (PROVEX_HOME or PROVEX_DATABASE_URL names it)",
                  UNREACHABLE)


def _has_request(exc: httpx.TransportError) -> bool:
    try:
        exc.request  # noqa: B018 - raises RuntimeError when the error has no request
    except RuntimeError:
        return False
    return True
