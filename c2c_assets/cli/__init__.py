"""``c2c``: the command line over the same Dagster assets the UI runs.

One module per command group (``ingest``, ``embed``, ``search``, ``pricing``, ``analysis``, ``warehouse``,
``demo``); this one holds the app, the consoles, the shared options and helpers. Heavy imports
(dagster, pyarrow, duckdb, torch) happen inside the commands so that ``c2c --help`` answers at once.
Runs go through ``c2c_assets.runner.materialize``. An expected condition (nothing ingested yet, an
unknown encoder, a bad option) is one ``error:`` line and exit status 1, never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from c2c_assets.home import C2cHome

app = typer.Typer(
    help="c2c_assets: ingest, embed, cluster and search C2C car-parts marketplace posts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
# Errors and progress; soft_wrap: an error line is never broken (a path stays whole).
err = Console(stderr=True, soft_wrap=True, highlight=False)

HomeOption = Annotated[Path | None, typer.Option("--home", help="Data root (default: $C2C_HOME, else ./.c2c).")]
InboxOption = Annotated[
    Path | None, typer.Option("--inbox", help="Inbox of scraped dumps (default: $C2C_INBOX, else <home>/inbox).")
]
TAGS = {"c2c/launched_by": "cli"}

M = TypeVar("M")


def fail(message: str) -> NoReturn:
    """Print ``error: message`` as one unwrapped line (no markup is read from it) and exit 1."""
    err.print(Text.assemble(("error:", "bold red"), " ", " ".join(message.split())), soft_wrap=True)
    raise typer.Exit(code=1)


def report_failures(failures: Mapping[str, str]) -> None:
    """One ``<what> failed: <why>`` line each; exit 1 if there is any."""
    for key, message in failures.items():
        err.print(Text.assemble((f"{key} failed:", "bold red"), " ", " ".join(message.split())), soft_wrap=True)
    if failures:
        raise typer.Exit(code=1)


def home_paths(home: Path | None, *, create: bool = True) -> C2cHome:
    resolved = C2cHome.from_env(home)
    return resolved.ensure() if create else resolved


def inbox_path(home: C2cHome, inbox: Path | None) -> Path:
    chosen = inbox or (Path(os.environ["C2C_INBOX"]) if os.environ.get("C2C_INBOX") else None)
    return chosen.expanduser().resolve() if chosen else home.inbox


def default(model: Any, name: str) -> Any:
    """A settings model's default for a field: the CLI's defaults are the models', never re-typed."""
    return model.model_fields[name].default


def describe(model: Any, name: str) -> str | None:
    return model.model_fields[name].description


def build(model: type[M], **values: Any) -> M:
    """``model(**values)``, or one ``error: --option: ...`` line naming the option and what it accepts."""
    from pydantic import ValidationError

    try:
        return model(**values)
    except ValidationError as error:
        fail("; ".join(_option_problem(problem) for problem in error.errors()))


def _option_problem(problem: Mapping[str, Any]) -> str:
    option = "--" + ".".join(str(part) for part in problem["loc"]).replace("_", "-")
    message = str(problem["msg"]).removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    value = problem.get("input")
    return f"{option}: {message}" + (f", got {value!r}" if isinstance(value, (str, int, float)) and "got" not in message else "")


def parse_date(value: str | None, option: str = "--date") -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} should be YYYY-MM-DD, got {value!r}")


def lake_dates(home: C2cHome) -> list[date]:
    """Scrape dates with an ingested ``posts`` partition."""
    return sorted(date.fromisoformat(p.parent.name.split("=", 1)[1]) for p in home.lake.glob("posts/date=*/part-0.parquet"))


def known_encoder(home: C2cHome, encoder: str) -> None:
    from c2c_assets.encoders import encoder_configs

    if encoder not in encoder_configs(home.root):
        fail(f"unknown encoder {encoder!r}: see `c2c encoders list`, or register it with `c2c encoders add {encoder} --family ...`")


def need_embeddings(home: C2cHome, encoder: str) -> None:
    """Unknown encoder, or no embeddings for it yet: one line saying what to run first."""
    known_encoder(home, encoder)
    if not any(home.lake.glob(f"post_embeddings/date=*/encoder={encoder}/part-0.parquet")):
        fail(f"encoder {encoder!r} has no embeddings yet: run `c2c embed -e {encoder}` first")


# Registers the commands, in the order `c2c --help` lists them.
from c2c_assets.cli import ingest, embed, search, pricing, analysis, quality, explore, warehouse, demo  # noqa: F401,I001
