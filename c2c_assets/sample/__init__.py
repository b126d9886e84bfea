"""Deterministic synthetic inbox generator for demos and tests.

``generate_sample`` writes a scraper inbox that follows ``ingest-contract.md``:
Craigslist and OfferUp JSONL dumps, one folder per source and scrape date, their
photos, and ``labels.csv`` with the known category of every good post (to evaluate
clustering later).

All photos are synthetic drawings made with Pillow (no real photographs): each
category has its own simple drawing (tyre rings, spoked discs, lenses, seats, ...)
with seeded variation in position, scale, rotation, colour, background and noise.

The same arguments always give byte-identical files: every random choice comes
from ``random.Random`` / ``numpy`` generators seeded from ``seed`` (never from
``hash()``, set order, the clock or the file system), gzip is written with
``mtime=0`` and no file name, and the symbolic link uses a relative target.

With ``bad_inputs=True`` a small fraction of lines is bad on purpose; the summary
says exactly how many lines must be quarantined and how many image references
must be rejected, by reason code (see ``QUARANTINE_REASONS`` and
``IMAGE_REJECTION_REASONS``). Counting rules:

* ``dumps`` counts the non-blank lines of each dump file (quarantined ones included).
* ``n_posts`` counts distinct good listings; a listing re-scraped on a later date
  ("latest scrape wins") is one post.
* ``n_images`` counts the image references of the lines that must be accepted
  (good ones and the ones that must be rejected). Quarantined lines carry no
  image references.

Modules: ``vocabulary`` (the words), ``wording`` (one listing's title, description and price),
``pen`` / ``drawings`` / ``painter`` (the photos and their encodings), ``posts`` (listings in memory
and the seeded post generator), ``bad_inputs`` (the bad lines and image references, with their
books), ``writer`` (JSON lines, gzip, files) and ``generator`` (``generate_sample``).
"""

from .bad_inputs import IMAGE_REJECTION_REASONS, MAX_LINE_BYTES, QUARANTINE_REASONS
from .generator import SampleSummary, generate_sample
from .painter import BOMB_PIXELS, BOMB_SIDE
from .vocabulary import CATEGORIES, SOURCES

__all__ = [
    "BOMB_PIXELS",
    "BOMB_SIDE",
    "CATEGORIES",
    "IMAGE_REJECTION_REASONS",
    "MAX_LINE_BYTES",
    "QUARANTINE_REASONS",
    "SOURCES",
    "SampleSummary",
    "generate_sample",
]
