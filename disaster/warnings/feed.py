"""Polling JMA's Atom feeds politely: at most once per JMA_POLL_INTERVAL_S per feed, with
`If-Modified-Since` (JMA answers 304 when nothing changed), fetching each new entry of a kind
Sonae reads (and, with JMA_OFFICES, from those offices) once, oldest first.

A feed or an entry that cannot be fetched is logged and tried again at the next poll (an
entry is only remembered once its telegram is stored); a broken telegram is kept aside by
`services.ingest`. Nothing here raises to the periodic job.
"""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
from django import db
from django.conf import settings
from django.utils import timezone
from lxml import etree

from disaster.warnings import services
from disaster.warnings.models import Feed, Telegram
from disaster.warnings.schema import safe_parser

log = logging.getLogger(__name__)

ATOM = {"a": "http://www.w3.org/2005/Atom"}
# The feed entries' titles (each telegram's Control/Title) of the kinds Sonae reads.
READ_TITLES = (
    "気象警報・注意報",
    "土砂災害警戒情報",
    "指定河川洪水予報",
    "記録的短時間大雨情報",
    "震度速報",
    "震源・震度に関する情報",
)
USER_AGENT = "Sonae (municipal disaster system; JMA XML poller)"


@dataclass
class Entry:
    id: str
    title: str
    author: str
    url: str
    updated: str


@dataclass
class Polled:
    """What one poll of one feed did."""

    url: str
    status: int | None = None  # HTTP status of the feed; None when not polled (too soon)
    fetched: list[int] = field(default_factory=list)  # ids of telegrams stored
    failed: int = 0


def entries(document: bytes) -> list[Entry]:
    """The feed's entries, oldest first."""
    root = etree.fromstring(document, safe_parser())
    found = []
    for entry in root.findall("a:entry", ATOM):
        link = entry.find("a:link", ATOM)
        found.append(
            Entry(
                id=(entry.findtext("a:id", "", ATOM) or "").strip(),
                title=(entry.findtext("a:title", "", ATOM) or "").strip(),
                author=(entry.findtext("a:author/a:name", "", ATOM) or "").strip(),
                url=link.get("href", "") if link is not None else "",
                updated=(entry.findtext("a:updated", "", ATOM) or "").strip(),
            )
        )
    return sorted(found, key=lambda e: e.updated)


def wanted(entry: Entry) -> bool:
    if not entry.title.startswith(READ_TITLES) or not entry.url:
        return False
    offices = settings.JMA_OFFICES
    # 記録的短時間大雨情報 and earthquakes are published by 気象庁 itself.
    return not offices or entry.author == "気象庁" or any(o in entry.author for o in offices)


def _client() -> httpx.Client:
    return httpx.Client(
        timeout=settings.JMA_HTTP_TIMEOUT_S,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
    )


def poll(url: str, *, force: bool = False, client: httpx.Client | None = None) -> Polled:
    """Poll one feed unless it was polled less than JMA_POLL_INTERVAL_S ago (`force`: now)."""
    feed, _ = Feed.objects.get_or_create(url=url)
    now = timezone.now()
    interval = dt.timedelta(seconds=settings.JMA_POLL_INTERVAL_S)
    result = Polled(url)
    if not force and feed.polled_at and now - feed.polled_at < interval:
        return result
    feed.polled_at = now
    own = client or _client()
    try:
        headers = {"If-Modified-Since": feed.last_modified} if feed.last_modified else {}
        response = own.get(url, headers=headers)
        result.status = response.status_code
        if response.status_code == 304:
            feed.ok_at, feed.error = now, ""
            return result
        response.raise_for_status()
        found = [e for e in entries(response.content) if wanted(e)]
        seen = set(
            Telegram.objects.filter(entry_id__in=[e.id[:200] for e in found])
            .order_by()
            .values_list("entry_id", flat=True)
        )
        new = [e for e in found if e.id[:200] not in seen]
        for stored in _fetch_all(own, new):
            if stored is None:
                result.failed += 1
            else:
                result.fetched.append(stored)
        feed.last_modified = response.headers.get("Last-Modified", "")[:100]
        feed.ok_at, feed.error = now, "" if not result.failed else f"{result.failed} entries failed"
    except (httpx.HTTPError, etree.XMLSyntaxError) as error:
        feed.error = f"{type(error).__name__}: {error}"[:2000]
        log.warning("JMA feed %s: %s", url, feed.error)
    finally:
        feed.save()
        if client is None:
            own.close()
    return result


def _fetch(client: httpx.Client, entry: Entry) -> int | None:
    try:
        response = client.get(entry.url)
        response.raise_for_status()
    except httpx.HTTPError as error:
        log.warning("JMA telegram %s (%s): %s", entry.url, entry.id, error)
        return None
    return services.ingest(response.content, source=entry.url, entry_id=entry.id).telegram.pk


def _fetch_all(client: httpx.Client, new: list[Entry]) -> list[int | None]:
    """Each entry's telegram id (None: not fetched), in order. JMA_FETCH_THREADS at once
    when there are several (fetching and storing wait on the network and the database),
    each thread taking every n-th entry on one database connection of its own; one thread,
    on the caller's connection and transaction, when set to 1 (the tests)."""
    threads = min(settings.JMA_FETCH_THREADS, len(new))
    if threads <= 1:
        return [_fetch(client, entry) for entry in new]
    shares = [new[first::threads] for first in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        done = list(pool.map(lambda share: _fetch_share(client, share), shares))
    ids: list[int | None] = [None] * len(new)
    for first, share_ids in enumerate(done):
        ids[first::threads] = share_ids
    return ids


def _fetch_share(client: httpx.Client, share: list[Entry]) -> list[int | None]:
    """`_fetch` of each entry on a pool thread, which closes its database connection once,
    when its share is done (not after each telegram: a new connection costs more than a
    telegram)."""
    try:
        return [_fetch(client, entry) for entry in share]
    finally:
        db.connection.close()


def poll_all(*, force: bool = False) -> list[Polled]:
    """Poll every feed in JMA_FEED_URLS (one connection pool for all)."""
    with _client() as client:
        return [poll(url, force=force, client=client) for url in settings.JMA_FEED_URLS]
