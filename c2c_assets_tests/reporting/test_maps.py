"""The PNG map (and its Markdown): size, colours, cluster names and the density layer. The interactive\nmap is the explorer (c2c_assets_tests/explorer/)."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from c2c_assets.reporting.map_png import png_markdown, write_map_png


def test_map_png_has_the_expected_size(tmp_path: Path, posts: dict) -> None:
    path = write_map_png(tmp_path / "map.png", posts["coords"], posts["labels"], "UMAP of minilm")
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (1200, 900)
        # Not a blank canvas: the three cluster colours are on it.
        colours = {c for _, c in im.convert("RGB").getcolors(maxcolors=1 << 20)}
    assert {(31, 119, 180), (255, 127, 14), (44, 160, 44)} <= colours
    assert [p.name for p in tmp_path.iterdir()] == ["map.png"]  # atomic: no temp file left
    assert path.stat().st_mode & 0o777 == 0o644
    md = png_markdown(path, width=600)
    b64 = re.fullmatch(r"!\[map\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", md)
    assert b64 is not None
    with Image.open(io.BytesIO(base64.b64decode(b64.group(1)))) as small:
        assert small.size == (600, 450)
    assert len(md) < 200_000
    assert png_markdown(path, alt="a [map](javascript:x)").startswith("![a \\[map\\](javascript:x)](data:image/png;")


def test_map_png_handles_noise_and_many_clusters(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(-1, 45, size=5_000)
    path = write_map_png(tmp_path / "big.png", rng.normal(size=(5_000, 2)), labels, "45 clusters")
    with Image.open(path) as im:
        assert im.size == (1200, 900)
    with pytest.raises(ValueError, match="NaN"):
        write_map_png(tmp_path / "bad.png", np.array([[0.0, np.nan]]), [0], "bad")


def test_map_png_names_clusters_and_adds_a_density_layer(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    xy = np.concatenate([rng.normal(size=(3_000, 2)), rng.normal(size=(3_000, 2)) + 8])
    labels = np.repeat([0, 1], 3_000)
    names = {0: "brake · pads · rotor", 1: "headlight · led"}
    drawn = []
    from matplotlib.axes import Axes

    original = Axes.text

    def spy(self, x, y, s, *args, **kwargs):
        drawn.append(s)
        return original(self, x, y, s, *args, **kwargs)

    Axes.text = spy
    try:
        dense = write_map_png(tmp_path / "dense.png", xy, labels, "names", names=names, max_points=1_000)
        sparse = write_map_png(tmp_path / "sparse.png", xy, labels, "names", names=names)
    finally:
        Axes.text = original
    assert drawn.count("brake · pads · rotor") == 2 and drawn.count("headlight · led") == 2  # labels, not numbers
    assert "0" not in drawn and "1" not in drawn
    with Image.open(dense) as d, Image.open(sparse) as s:
        greys = lambda im: sum(n for n, (r, g, b) in im.convert("RGB").getcolors(1 << 20) if r == g == b and 60 < r < 230)  # noqa: E731
        # The density layer: grey cells under the drawn sample where there are more points than drawn.
        assert greys(d) > greys(s) + 1_000
