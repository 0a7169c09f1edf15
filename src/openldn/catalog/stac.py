"""Searching STAC APIs (pystac-client) and static STAC catalogues (pystac) for the items of a dataset.

A STAC API with the *item-search* conformance class is searched with :mod:`pystac_client` (bbox, datetime,
collection and the optional query extension, following ``next`` links). A static catalogue (a ``catalog.json`` or an
API without ``/search``) is walked with :mod:`pystac` and filtered locally on the same criteria.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from openldn.catalog._definitions import DatasetDef
from openldn.exceptions import DataAccessError

__all__ = ["item_sha256", "search_items", "sign_planetary_computer"]

BBox = tuple[float, float, float, float]


def _datetime_range(years: Sequence[int] | None) -> str | None:
    if not years:
        return None
    return f"{min(years)}-01-01T00:00:00Z/{max(years)}-12-31T23:59:59Z"


def _item_interval(item: Any) -> tuple[dt.datetime, dt.datetime]:
    props = item.properties
    start = props.get("start_datetime") or props.get("datetime")
    end = props.get("end_datetime") or props.get("datetime")
    if item.datetime is not None and start is None:
        return item.datetime, item.datetime
    parse = _parse_dt
    return parse(start), parse(end)


def _parse_dt(value: str) -> dt.datetime:
    text = value.replace("Z", "+00:00")
    out = dt.datetime.fromisoformat(text)
    return out if out.tzinfo else out.replace(tzinfo=dt.UTC)


def _matches_query(item: Any, query: Mapping[str, Any] | None) -> bool:
    if not query:
        return True
    ops = {
        "eq": lambda a, b: a == b,
        "neq": lambda a, b: a != b,
        "lt": lambda a, b: a is not None and a < b,
        "lte": lambda a, b: a is not None and a <= b,
        "gt": lambda a, b: a is not None and a > b,
        "gte": lambda a, b: a is not None and a >= b,
        "in": lambda a, b: a in b,
    }
    for prop, cond in query.items():
        value = item.properties.get(prop)
        conds = cond if isinstance(cond, Mapping) else {"eq": cond}
        for op, ref in conds.items():
            if op not in ops or not ops[op](value, ref):
                return False
    return True


def _bbox_intersects(a: Sequence[float] | None, b: BBox | None) -> bool:
    if a is None or b is None:
        return True
    return not (a[2] < b[0] or a[0] > b[2] or a[3] < b[1] or a[1] > b[3])


def _static_items(root: Any, collection: str, bbox: BBox | None, years: Sequence[int] | None,
                  query: Mapping[str, Any] | None) -> list[Any]:
    coll = root.get_child(collection, recursive=True) if hasattr(root, "get_child") else None
    if coll is None:
        raise DataAccessError(f"collection {collection!r} is not in the STAC catalogue {root.get_self_href()}.")
    lo = dt.datetime(min(years), 1, 1, tzinfo=dt.UTC) if years else None
    hi = dt.datetime(max(years), 12, 31, 23, 59, 59, tzinfo=dt.UTC) if years else None
    out = []
    for item in coll.get_items(recursive=True):
        if not _bbox_intersects(item.bbox, bbox):
            continue
        if lo is not None and hi is not None:
            start, end = _item_interval(item)
            if end < lo or start > hi:
                continue
        if _matches_query(item, query):
            out.append(item)
    return out


def search_items(
    entry: DatasetDef,
    *,
    bbox: BBox | None,
    years: Sequence[int] | None,
    timeout: float = 30.0,
    retries: int | None = None,
) -> list[Any]:
    """Items of ``entry``'s collection that intersect ``bbox`` (lon/lat) and fall in ``years``.

    Parameters
    ----------
    entry : DatasetDef
        A catalogue entry with a STAC source.
    bbox : tuple of float, optional
        (west, south, east, north) in degrees.
    years : sequence of int, optional
        Calendar years wanted (the search covers first to last year); None for static data.
    timeout : float
        Request timeout in seconds.
    retries : int, optional
        Retries (with exponential backoff) of each request on connection errors and 429/5xx answers (default
        ``$OPENLDN_HTTP_RETRIES`` or 4, backoff ``$OPENLDN_HTTP_BACKOFF`` or 0.5 s).

    Returns
    -------
    list of pystac.Item
        Sorted by datetime, then id; hrefs signed when the entry asks for it.

    Raises
    ------
    DataAccessError
        The API or catalogue could not be reached, or the collection does not exist.
    """
    import pystac
    import requests
    from pystac_client import Client
    from pystac_client.exceptions import APIError
    from pystac_client.stac_api_io import StacApiIO
    from urllib3.util.retry import Retry

    from openldn.catalog.download import http_retry_settings

    env_retries, backoff = http_retry_settings()
    retries = env_retries if retries is None else retries
    src = entry.source
    assert src.api is not None and src.collection is not None
    retry = Retry(total=retries, backoff_factor=backoff, status_forcelist=[429, 500, 502, 503, 504],
                  allowed_methods=None)
    what = f"dataset {entry.id}: STAC {src.api} collection {src.collection}"
    try:
        if src.api.endswith(".json") and not src.api.startswith(("http://", "https://")):
            items = _static_items(pystac.Catalog.from_file(src.api), src.collection, bbox, years, src.query)
        else:
            with warnings.catch_warnings():
                # a static catalogue has no conformance classes: expected, it is walked below
                warnings.simplefilter("ignore", category=UserWarning)
                client = Client.open(src.api, stac_io=StacApiIO(max_retries=retry, timeout=timeout), timeout=timeout)
            if client.conforms_to("ITEM_SEARCH"):
                search = client.search(
                    collections=[src.collection],
                    bbox=list(bbox) if bbox is not None else None,
                    datetime=_datetime_range(years),
                    query=dict(src.query) if src.query else None,
                    limit=100,
                )
                items = list(search.items())
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", category=UserWarning)
                    items = _static_items(client, src.collection, bbox, years, src.query)
    except DataAccessError:
        raise
    except (requests.RequestException, APIError, OSError, pystac.STACError, ValueError) as err:
        msg = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        raise DataAccessError(f"{what} cannot be searched ({msg}): check the network or the catalogue URL.") from err
    items.sort(key=lambda it: (_item_interval(it)[0], it.id))
    if src.sign == "planetary_computer":
        items = sign_planetary_computer(items, collection=src.collection, timeout=timeout)
    return items


def item_sha256(item: Any, asset: str) -> str | None:
    """The sha256 of an item's asset from the STAC ``file:checksum`` field, when it is a sha2-256 multihash."""
    from openldn.catalog.download import multihash_to_sha256

    a = item.assets.get(asset)
    if a is None:
        return None
    return multihash_to_sha256(a.extra_fields.get("file:checksum"))


_PC_TOKEN_URL = "https://planetarycomputer.microsoft.com/api/sas/v1/token/{collection}"


def sign_planetary_computer(items: list[Any], *, collection: str, timeout: float = 30.0,
                            token_url: str = _PC_TOKEN_URL) -> list[Any]:
    """Append a Planetary Computer SAS token to the hrefs of the items' blob-storage assets.

    Uses the ``planetary_computer`` package when installed, else the public token endpoint ``token_url``.
    Assets outside ``*.blob.core.windows.net`` are left untouched.
    """
    try:
        import planetary_computer  # type: ignore[import-not-found]
    except ImportError:
        planetary_computer = None
    if planetary_computer is not None:
        return [planetary_computer.sign(it) for it in items]
    needs = [a for it in items for a in it.assets.values() if ".blob.core.windows.net" in a.href]
    if not needs:
        return items
    import requests

    try:
        resp = requests.get(token_url.format(collection=collection), timeout=timeout)
        resp.raise_for_status()
        token = resp.json()["token"]
    except (requests.RequestException, KeyError, ValueError) as err:
        raise DataAccessError(
            f"collection {collection}: no Planetary Computer access token ({err}): check the network."
        ) from err
    for asset in needs:
        if "?" not in asset.href:
            asset.href = f"{asset.href}?{token}"
    return items
