"""Every view of the warehouse, domain by domain, in the order they are created (a domain's views may
read the views of the domains before it). ``c2c views`` rebuilds them all; an asset refreshes only
its own domain's (``warehouse.refresh_views(home, <domain>.VIEWS)``)."""

from __future__ import annotations

from c2c_assets.analysis.views import VIEWS as ANALYSIS_VIEWS
from c2c_assets.attributes.views import VIEWS as ATTRIBUTE_VIEWS
from c2c_assets.embeddings.store import VIEWS as EMBEDDING_VIEWS
from c2c_assets.home import C2cHome
from c2c_assets.image_to_text.views import VIEWS as IMAGE_TO_TEXT_VIEWS
from c2c_assets.ingest.views import VIEWS as INGEST_VIEWS
from c2c_assets.pricing.views import VIEWS as PRICING_VIEWS
from c2c_assets.quality.views import VIEWS as QUALITY_VIEWS
from c2c_assets.warehouse import View, refresh_views

ALL_VIEWS: list[View] = [
    *INGEST_VIEWS, *ATTRIBUTE_VIEWS, *EMBEDDING_VIEWS, *ANALYSIS_VIEWS, *IMAGE_TO_TEXT_VIEWS, *QUALITY_VIEWS, *PRICING_VIEWS,
]


def refresh_all(home: C2cHome) -> list[str]:
    return refresh_views(home, ALL_VIEWS)


def refresh(home: C2cHome, changed: list[View]) -> list[str]:
    """Recreate the ``changed`` views, and create any view the warehouse does not have yet (a new home),
    so that every view answers, empty until its asset is materialized."""
    return refresh_views(home, ALL_VIEWS, changed=changed)
