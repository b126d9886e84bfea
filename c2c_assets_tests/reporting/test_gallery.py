"""The search gallery page."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

from PIL import Image

from c2c_assets.home import C2cHome
from c2c_assets.reporting.gallery import write_gallery
from c2c_assets.search.service import Hit
from c2c_assets_tests.reporting.samples import draw_thumb


def test_gallery_cards_links_and_thumbnails(tmp_path: Path) -> None:
    home = C2cHome(tmp_path / "home")
    photo = home.stored_image("images/ab/abc.jpg")
    photo.parent.mkdir(parents=True)
    draw_thumb(photo, (200, 40, 40), 1)
    hits = [
        Hit(post_id="p1", score=0.91234, title="Brake pads", price_usd=1234.4, source="craigslist",
            url="https://example.com/p1?a=1&b=2", thumb_path="images/ab/abc.jpg", text_predicted=True),
        Hit(post_id="p2", score=0.5, title="Rotor <new>", price_usd=None, source="ebay", url="javascript:alert(1)",
            thumb_path=None),
    ]  # fmt: skip
    path = write_gallery(tmp_path / "out" / "gallery.html", home, hits, title="brake & rotor")
    text = path.read_text(encoding="utf-8")
    assert "<h1>brake &amp; rotor</h1>" in text and text.count('<figure class="hit"') == 2
    assert '<a href="https://example.com/p1?a=1&amp;b=2"' in text and "Brake pads</a>" in text
    assert '<span class="title">Rotor &lt;new&gt;</span>' in text and "javascript" not in text
    assert "$1,234" in text and "craigslist · 0.912 · text predicted from photos" in text
    (b64,) = re.findall(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', text)
    with Image.open(io.BytesIO(base64.b64decode(b64))) as im:
        assert im.format == "JPEG" and im.size == (240, 180)  # already small: not upscaled
    assert path.stat().st_mode & 0o777 == 0o644
    assert "No results." in write_gallery(tmp_path / "empty.html", home, [], "none").read_text(encoding="utf-8")
