"""Shared inputs for the page tests: 3 clusters, 30 posts with Pillow-drawn thumbnails, two of them
hostile, a metrics dict and comparison rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from c2c_assets.analysis.terms import top_terms
from c2c_assets.reporting.cluster_report import ClusterCard, NearestPost

HOSTILE = "<script>alert(1)</script>"
HOSTILE_2 = '"><img src=x onerror=alert(2)></script><script>alert(3)</script>'
HOSTILE_PRICE = 1234.5
HOSTILE_INDEX = 0  # the post with the hostile title, isolated on the map so hover finds it alone

CENTRES = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 9.0]])
TOPICS = {
    0: ["ceramic brake pads front", "brake rotor pads kit", "rear brake caliper pads"],
    1: ["led headlight assembly", "headlight bulb h11 led", "fog light led headlight"],
    2: ["alloy wheel rims set", "wheel tire 265/70r17", "steel wheel rim spare"],
}
COLOURS = [(200, 40, 40), (40, 160, 40), (40, 60, 200)]

METRICS = {"silhouette": 0.41234, "davies_bouldin": 0.87, "k": 3, "n_posts": 30, "note": "<b>bold?</b>"}
ROWS = [
    {"encoder": "clip-b32", "silhouette": 0.31, "davies_bouldin": 1.42, "n_clusters": 20, "embed_seconds": 812.4},
    {"encoder": "minilm+effnet", "silhouette": 0.38, "davies_bouldin": 1.10, "n_clusters": 20, "embed_seconds": 95.0},
    {"encoder": "<b>imagebind</b>", "silhouette": 0.35, "davies_bouldin": 1.25, "n_clusters": 18,
     "embed_seconds": 2310.7},
]  # fmt: skip


def draw_thumb(path: Path, colour: tuple[int, int, int], seed: int) -> Path:
    im = Image.new("RGB", (240, 180), (245, 245, 245))
    d = ImageDraw.Draw(im)
    d.ellipse((30 + seed % 40, 20, 200, 160), fill=colour)
    d.rectangle((10, 10, 60 + seed % 50, 50), fill=(30, 30, 30))
    im.save(path, format="JPEG", quality=90)
    return path


def make_posts(folder: Path) -> dict:
    """30 posts: coordinates, labels, titles, prices, urls, thumbnails (every 5th has none)."""
    rng = np.random.default_rng(7)
    labels = np.repeat([0, 1, 2], 10)
    coords = CENTRES[labels] + rng.normal(scale=0.8, size=(30, 2))
    titles, prices, urls, thumbs = [], [], [], []
    for i, label in enumerate(labels.tolist()):
        titles.append(f"{TOPICS[label][i % 3]} #{i}")
        prices.append(None if i % 7 == 3 else float(20 + 7 * i))
        urls.append(f"https://example.com/post/{i}?a=1&b=2")
        thumbs.append(None if i % 5 == 4 else draw_thumb(folder / f"{i}.jpg", COLOURS[label], i))
    # The hostile post: cluster 0, parked in the empty middle of the map, far from any other point.
    coords[HOSTILE_INDEX] = [5.0, 3.6]
    titles[HOSTILE_INDEX] = HOSTILE
    prices[HOSTILE_INDEX] = HOSTILE_PRICE
    titles[1] = HOSTILE_2
    urls[1] = "javascript:alert(4)"
    return {"coords": coords, "labels": labels, "titles": titles, "prices": prices, "urls": urls, "thumbs": thumbs}


def make_cards(posts: dict) -> list[ClusterCard]:
    labels, coords = posts["labels"], posts["coords"]
    texts = {c: [posts["titles"][i] for i in np.flatnonzero(labels == c)] for c in range(3)}
    terms = top_terms(texts, n=5)
    out = []
    for c in range(3):
        idx = np.flatnonzero(labels == c)
        dist = np.linalg.norm(coords[idx] - CENTRES[c], axis=1)
        order = idx[np.argsort(dist)][:6]
        if c == 0:  # make sure both hostile posts are on the card
            order = np.r_[[0, 1], [i for i in order if i not in (0, 1)][:4]]
        nearest = [
            NearestPost(
                post_id=f"p{i}",
                title=posts["titles"][i],
                price_usd=posts["prices"][i],
                url=posts["urls"][i],
                thumbnail=posts["thumbs"][i],
                distance=float(np.linalg.norm(coords[i] - CENTRES[c])),
            )
            for i in order
        ]
        share = 0.1 * (c + 1)
        out.append(
            ClusterCard(cluster_id=c, size=len(idx), multi_image_share=share, top_terms=terms[c], nearest=nearest)
        )
    return out
