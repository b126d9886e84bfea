"""Marketplace sources: one module per site, each exposing ``SOURCE`` (see ``base.Source``).

Modules are discovered, so adding a site is adding one module here.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from c2c_assets.sources.base import ParsedPost, QuarantineError, Source

__all__ = ["ParsedPost", "QuarantineError", "Source", "get_source", "source_names"]


@cache
def _registry() -> dict[str, Source]:
    sources: dict[str, Source] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        source = getattr(module, "SOURCE", None)
        if source is not None:
            sources[source.name] = source
    return sources


def source_names() -> list[str]:
    return sorted(_registry())


def get_source(name: str) -> Source:
    try:
        return _registry()[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; known sources: {', '.join(source_names())}") from None
