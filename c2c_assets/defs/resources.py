"""The one resource every domain uses: where the data lives and how ingest behaves."""


import os
from pathlib import Path

import dagster as dg

from c2c_assets.home import C2cHome
from c2c_assets.ingest.fetcher import FetchSettings
from c2c_assets.ingest.images import ImageSettings
from c2c_assets.ingest.pipeline import IngestSettings


class C2cResource(dg.ConfigurableResource):
    """Data root and ingest settings. Unset paths resolve at run time, never at import."""

    home: str | None = None  # default: $C2C_HOME, else ./.c2c
    # Object storage shared by several machines: any fsspec URL (s3://bucket/lake, gs://...).
    lake_url: str | None = None  # default: $C2C_LAKE_URL, else <home>/lake
    images_url: str | None = None  # default: $C2C_IMAGES_URL, else <home>/images
    inbox: str | None = None  # default: $C2C_INBOX, else <home>/inbox
    allow_private_networks: bool = False  # let the image fetcher reach loopback/private addresses
    fetch_timeout_s: float = 10.0
    fetch_concurrency: int = 8
    max_image_bytes: int = 20 * 1024 * 1024
    max_image_pixels: int = 40_000_000

    def paths(self) -> C2cHome:
        return C2cHome.from_env(self.home, lake_url=self.lake_url, images_url=self.images_url)

    def inbox_path(self) -> Path:
        chosen = self.inbox or os.environ.get("C2C_INBOX")
        return Path(chosen).expanduser().resolve() if chosen else self.paths().inbox

    def ingest_settings(self) -> IngestSettings:
        return IngestSettings(
            image=ImageSettings(max_bytes=self.max_image_bytes, max_pixels=self.max_image_pixels),
            fetch=FetchSettings(
                timeout_s=self.fetch_timeout_s,
                concurrency=self.fetch_concurrency,
                max_bytes=self.max_image_bytes,
                allow_private_networks=self.allow_private_networks,
            ),
        )


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"c2c": C2cResource()})
