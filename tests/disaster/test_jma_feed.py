"""The JMA poller against a fake feed on loopback serving the official samples: each new
telegram fetched once, If-Modified-Since honoured, a polite interval, broken entries kept
aside without stopping the rest."""

from __future__ import annotations

import httpx
import pytest

from disaster.jobs import poll_jma_feeds
from disaster.warnings import feed
from disaster.warnings.models import CityWarning, Feed, Telegram
from tests.disaster import jma_samples as jma
from tests.disaster.jma_samples import sample


def test_new_entries_are_fetched_once_and_an_unchanged_feed_answers_304(db, fake_jma_feed):
    fake_jma_feed.publish(sample(jma.KANAGAWA_WARNINGS), title="気象警報・注意報（Ｈ２７）")
    fake_jma_feed.publish(sample(jma.QUAKE_DETAIL), title="震源・震度に関する情報")
    first = feed.poll(fake_jma_feed.feed_url)
    assert first.status == 200 and len(first.fetched) == 2
    assert sorted(CityWarning.objects.values_list("name", flat=True)) == ["強風注意報", "震度２"]

    again = feed.poll(fake_jma_feed.feed_url, force=True)
    assert again.status == 304 and again.fetched == []
    assert fake_jma_feed.requests[-1][1] == Feed.objects.get().last_modified != ""
    telegram_gets = [path for path, _ in fake_jma_feed.requests if path.startswith("/data/")]
    assert len(telegram_gets) == 2


def test_a_feed_is_not_polled_again_within_the_interval(db, fake_jma_feed, settings):
    settings.JMA_POLL_INTERVAL_S = 60
    assert feed.poll(fake_jma_feed.feed_url).status == 200
    assert feed.poll(fake_jma_feed.feed_url).status is None
    assert len(fake_jma_feed.requests) == 1


def test_a_new_entry_after_a_poll_is_fetched_by_the_next(db, fake_jma_feed):
    fake_jma_feed.publish(sample(jma.KANAGAWA_LANDSLIDE[0]), title="土砂災害警戒情報")
    feed.poll(fake_jma_feed.feed_url)
    fake_jma_feed.last_modified = fake_jma_feed.last_modified.replace(year=2099)
    fake_jma_feed.publish(sample(jma.KANAGAWA_LANDSLIDE[1]), title="土砂災害警戒情報")
    polled = feed.poll(fake_jma_feed.feed_url, force=True)
    assert polled.status == 200 and len(polled.fetched) == 1
    assert Telegram.objects.get(pk=polled.fetched[0]).serial == 2


def test_entries_of_kinds_sonae_does_not_read_are_not_fetched(db, fake_jma_feed):
    fake_jma_feed.publish(sample(jma.RECORD_RAIN), title="竜巻注意情報")
    assert feed.poll(fake_jma_feed.feed_url).fetched == []
    assert not Telegram.objects.exists()


def test_a_broken_entry_is_kept_aside_and_the_others_are_read(db, fake_jma_feed):
    fake_jma_feed.publish(b"<Report>not JMA</Report>", title="震度速報")
    fake_jma_feed.publish(sample(jma.QUAKE_DETAIL), title="震源・震度に関する情報")
    polled = feed.poll(fake_jma_feed.feed_url)
    assert len(polled.fetched) == 2
    outcomes = sorted(Telegram.objects.values_list("outcome", flat=True))
    assert outcomes == ["read", "refused"]


def test_an_unreachable_feed_is_logged_and_retried_later(db, settings, caplog):
    settings.JMA_HTTP_TIMEOUT_S = 1.0
    polled = feed.poll("http://127.0.0.1:9/feed.xml")
    assert polled.status is None and polled.fetched == []
    assert "ConnectError" in Feed.objects.get().error
    assert any(r.name == "disaster.warnings.feed" and r.exc_info is None for r in caplog.records)


def test_the_periodic_job_polls_every_configured_feed(db, fake_jma_feed):
    fake_jma_feed.publish(sample(jma.QUAKE_DETAIL), title="震源・震度に関する情報")
    assert poll_jma_feeds(timestamp=0) == {"feeds": 1, "telegrams": 1, "failed": 0}


@pytest.mark.django_db(transaction=True)
def test_several_threads_fetch_every_entry_once_and_answer_in_the_feeds_order(
    fake_jma_feed, settings
):
    """JMA_FETCH_THREADS at once, each on a database connection of its own for its share."""
    settings.JMA_FETCH_THREADS = 3
    names = [
        jma.KANAGAWA_WARNINGS,
        jma.QUAKE_DETAIL,
        jma.QUAKE_FLASH,
        jma.RECORD_RAIN,
        jma.RIVER_CAUTION,
        jma.RIVER_FLOODING,
        jma.OKAYAMA_LANDSLIDE,
    ]
    for name in names:
        fake_jma_feed.publish(sample(name), title="土砂災害警戒情報")
    listed = [e.id for e in feed.entries(httpx.get(fake_jma_feed.feed_url).content)]

    polled = feed.poll(fake_jma_feed.feed_url)

    assert polled.failed == 0 and len(polled.fetched) == len(names)
    # Each answer is the telegram of its own entry, in the order the feed lists them.
    entry_of = dict(Telegram.objects.values_list("pk", "entry_id"))
    assert [entry_of[pk] for pk in polled.fetched] == listed
    telegram_gets = [path for path, _ in fake_jma_feed.requests if path.startswith("/data/")]
    assert len(telegram_gets) == len(names)
