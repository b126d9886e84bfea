"""A self-contained HTML gallery of search hits (thumbnails inlined, so the file can be moved)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from c2c_assets.home import C2cHome
from c2c_assets.search.service import Hit


def write_gallery(path: Path, home: C2cHome, hits: list[Hit], title: str) -> Path:
    cards = []
    for hit in hits:
        image = ""
        thumb = home.stored_image(hit.thumb_path) if hit.thumb_path else None
        if thumb is not None and thumb.exists():
            data = base64.b64encode(thumb.read_bytes()).decode()
            image = f'<img src="data:image/jpeg;base64,{data}" alt="">'
        price = "" if hit.price_usd is None else f"${hit.price_usd:,.0f}"
        link = f'<a href="{html.escape(hit.url)}">{html.escape(hit.title)}</a>' if hit.url else html.escape(hit.title)
        cards.append(
            f'<figure class="hit">{image}<figcaption>{link}<br><span class="price">{price}</span> '
            f'<span class="meta">{html.escape(hit.source)} · {hit.score:.3f}'
            f'{" · text predicted from photos" if hit.text_predicted else ""}</span></figcaption></figure>'
        )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:1.5rem}}.grid{{display:flex;flex-wrap:wrap;gap:1rem}}
.hit{{width:200px;margin:0}}.hit img{{width:200px;height:150px;object-fit:cover;border-radius:6px;background:#eee}}
.price{{font-weight:600}}.meta{{color:#666;font-size:.85em}}</style></head>
<body><h1>{html.escape(title)}</h1><div class="grid">{"".join(cards) or "<p>No results.</p>"}</div></body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
