"""What a post is worth and what it is: price comparables and flags (``comparables``), estimates for any
query (``estimate``), and category prediction (``categories``), per encoder. Plain Python; the Dagster
wiring is ``c2c_assets.defs.pricing``. ``c2c_assets.prices`` holds the one rule for which prices count."""
