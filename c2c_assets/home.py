"""The data root, ``C2C_HOME`` (default ``./.c2c``), and where everything lives under it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = ".c2c"


@dataclass(frozen=True)
class C2cHome:
    root: Path

    @classmethod
    def from_env(cls, root: str | os.PathLike[str] | None = None) -> C2cHome:
        """``root`` if given, else ``$C2C_HOME``, else ``./.c2c``; read at call time, never at import."""
        chosen = root or os.environ.get("C2C_HOME") or DEFAULT_HOME
        return cls(Path(chosen).expanduser().resolve())

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def indexes(self) -> Path:
        return self.root / "indexes"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    def ensure(self) -> C2cHome:
        for folder in (self.root, self.images, self.lake, self.indexes, self.reports, self.dagster_home):
            folder.mkdir(parents=True, exist_ok=True)
        return self
