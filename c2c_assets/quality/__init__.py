"""Duplicates, reposts, stock photos and data-quality scores of posts and photos (plain Python, no Dagster).

- ``photos``: perceptual hashes and quality measurements of every stored photo, once per sha256.
- ``photo_groups``: near-duplicate photo groups (hash distance, FAISS binary k-NN, connected components)
  and stock photos.
- ``text``: text normalisation, MinHash near-duplicate texts, junk-text and placeholder-price rules.
- ``reposts``: repost groups per encoder (``repost_group_of`` for other domains).
- ``flags``: per-post flags with scores; ``scores``: uniqueness, representativeness, outlier per encoder.
- ``postfilter``: search hits deduplicated by repost group, flagged posts hidden.
- ``pipeline``: reading the lake, writing the tables; ``views``: the DuckDB views.

Thresholds live in ``thresholds`` (documented there and in the README), each rule once.
"""
