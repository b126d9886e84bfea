"""The data root, ``C2C_HOME`` (default ``./.c2c``), and where everything lives under it.

The lake (Parquet) and the photo store may live elsewhere, on object storage shared by several
machines: ``C2C_LAKE_URL`` and ``C2C_IMAGES_URL`` take any fsspec URL (``s3://bucket/lake``...).
Everything else (the DuckDB catalog, FAISS indexes, reports, model caches, Dagster's files) is
per machine under ``C2C_HOME`` and is rebuilt from the lake.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from c2c_assets.storage import Location, location

DEFAULT_HOME = ".c2c"
# Photo paths in post_images are ``images/<sha[:2]>/<sha>.jpg``: relative to the home, whatever holds them.
IMAGES_PREFIX = "images/"


@dataclass(frozen=True)
class C2cHome:
    root: Path
    lake_url: str | None = None  # None: <root>/lake
    images_url: str | None = None  # None: <root>/images

    @classmethod
    def from_env(
        cls, root: str | os.PathLike[str] | None = None, *, lake_url: str | None = None, images_url: str | None = None
    ) -> C2cHome:
        """Arguments if given, else ``$C2C_HOME`` / ``$C2C_LAKE_URL`` / ``$C2C_IMAGES_URL``, else under
        ``./.c2c``; read at call time, never at import."""
        chosen = root or os.environ.get("C2C_HOME") or DEFAULT_HOME
        return cls(
            Path(chosen).expanduser().resolve(),
            lake_url or os.environ.get("C2C_LAKE_URL") or None,
            images_url or os.environ.get("C2C_IMAGES_URL") or None,
        )

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def images(self) -> Location:
        return location(self.images_url) if self.images_url else self.root / "images"

    @property
    def lake(self) -> Location:
        return location(self.lake_url) if self.lake_url else self.root / "lake"

    def stored_image(self, relative: str) -> Location:
        """Where a ``post_images`` path (``images/ab/<sha>.jpg``) is stored."""
        if not relative.startswith(IMAGES_PREFIX):
            raise ValueError(f"not a stored photo path: {relative!r}")
        return self.images / relative[len(IMAGES_PREFIX) :]

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
