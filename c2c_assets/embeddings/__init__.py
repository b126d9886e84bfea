"""Per-encoder embedding partitions, ``lake/post_embeddings/date=<d>/encoder=<e>/part-0.parquet``.

- ``store``: the layout, the schema, the current-vector readers and the views (``embeddings``: the
  current vector of every current post, one row per post and encoder; ``embeddings_all``: every scrape's);
- ``embed``: the incremental run that writes one partition;
- ``checks``: what a written partition must satisfy.
"""
