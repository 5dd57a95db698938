"""Where channels get their texts: a catalog provider, called per request.

In the app the provider is ``ChannelContext.catalog`` (the catalog of the core's latest reload), so
a reload reaches every channel. Standalone use (the rich-menu CLI, a test mounting one router) gets
the catalogs on disk, read once on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from translations.catalog import Catalog

#: Returns the current catalog; cheap to call (it is called per request).
CatalogSource = Callable[[], Catalog]


def catalog_source(catalog: CatalogSource | None) -> CatalogSource:
    """``catalog``, or the catalogs on disk read once (standalone use)."""
    if catalog is not None:
        return catalog
    return cache(Catalog.load)
