"""What every embedding partition must satisfy: one finite unit vector of the declared width per post
the encoder can embed, and nothing else."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from c2c_assets.embeddings.store import embedding_file
from c2c_assets.home import C2cHome
from c2c_assets.lake import partition_file, to_matrix
from c2c_assets.storage import read_table


@dataclass(frozen=True)
class VectorProblems:
    rows: int
    expected: int
    missing: list[str]
    extra: list[str]
    duplicates: list[str]
    wrong_width: int
    non_finite: int
    not_unit: int

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.duplicates or self.wrong_width or self.non_finite or self.not_unit)


def expected_post_ids(home: C2cHome, scrape_date: date, modalities: frozenset[str]) -> list[str]:
    """The posts of a date an encoder must embed: all of them, or those with a stored photo for photo-only encoders."""
    keys = {"date": scrape_date.isoformat()}
    columns = ["post_id", "n_images_ok"]
    table = read_table(partition_file(home.lake, "posts", keys), columns=columns)
    if "text" in modalities:
        return table.column("post_id").to_pylist()
    return [row["post_id"] for row in table.to_pylist() if row["n_images_ok"] > 0]


def check_partition(home: C2cHome, scrape_date: date, encoder: str, width: int, expected_ids: Sequence[str]) -> VectorProblems:
    """One finite unit vector of the declared width per expected post, and nothing else."""
    table = read_table(embedding_file(home, scrape_date, encoder), columns=["post_id", "vector"])
    ids = table.column("post_id").to_pylist()
    stored_width = table.schema.field("vector").type.list_size
    values = to_matrix(table.column("vector")).reshape(len(ids), stored_width)
    norms = np.linalg.norm(np.nan_to_num(values), axis=1)
    counts = Counter(ids)
    expected = set(expected_ids)
    return VectorProblems(
        rows=len(ids),
        expected=len(expected),
        missing=sorted(expected - counts.keys())[:20],
        extra=sorted(counts.keys() - expected)[:20],
        duplicates=sorted(pid for pid, n in counts.items() if n > 1)[:20],
        wrong_width=0 if stored_width == width else len(ids),
        non_finite=int((~np.isfinite(values).all(axis=1)).sum()),
        not_unit=int((np.abs(norms - 1) > 1e-3).sum()),
    )
