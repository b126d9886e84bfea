"""An encoder's explorer end to end: data (lake), the app (reports/<encoder>/explorer/) and the PNG map."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from c2c_assets.analysis.settings import AnalysisSettings
from c2c_assets.explorer import data as explorer_data
from c2c_assets.explorer.app import write_app
from c2c_assets.home import C2cHome
from c2c_assets.storage import Location

__all__ = ["ExplorerResult", "build_explorer", "explorer_folder", "export_explorer"]


@dataclass(frozen=True)
class ExplorerResult:
    posts: int
    sample_size: int
    data: Location
    data_bytes: int
    page: Path
    png: Path
    refitted: bool  # UMAP fitted in this run (else the stored fit placed only the new and changed posts)
    kept: int  # posts that kept their previous coordinates
    neighbours_searched: int  # posts whose neighbours were searched (the others kept theirs)


def explorer_folder(home: C2cHome, encoder: str) -> Path:
    return home.reports / encoder / "explorer"


def _title(encoder: str, n: int) -> str:
    return f"{encoder}: {n:,} posts"


def build_explorer(home: C2cHome, encoder: str, settings: AnalysisSettings, inbox: Path | None) -> ExplorerResult:
    from c2c_assets.reporting.map_png import write_map_png

    built = explorer_data.build(home, encoder, settings, inbox)
    location = explorer_data.write(home, encoder, built)
    table = built.table
    page = write_app(home, table, built.labels, explorer_folder(home, encoder), title=_title(encoder, table.num_rows))
    xy = np.column_stack([table.column("x").to_numpy(), table.column("y").to_numpy()])
    png = write_map_png(
        home.reports / encoder / "map.png", xy, table.column("cluster").to_numpy(),
        f"{encoder}: UMAP of {table.num_rows:,} posts ({built.sample_size:,} fitted), coloured by cluster",
        names=built.labels,
    )  # fmt: skip
    return ExplorerResult(
        table.num_rows, built.sample_size, location, location.stat().st_size, page, png, built.layout.refitted, built.layout.kept,
        built.neighbours_searched,
    )


def export_explorer(home: C2cHome, encoder: str, target: Path, *, thumbnails: str = "copy") -> Path:
    """The explorer of the last ``explorer`` materialization, written as a standalone folder at ``target``."""
    from c2c_assets.explorer.data import cluster_label

    table = explorer_data.read(home, encoder)
    names = {}
    for cluster, label in zip(table.column("cluster").to_pylist(), table.column("label").to_pylist(), strict=True):
        names.setdefault(int(cluster), label or cluster_label(int(cluster), []))
    return write_app(home, table, names, target, title=_title(encoder, table.num_rows), thumbnails=thumbnails)
