"""Sources' schedules: crontabs and intervals read, bad ones named, the next run as of a
given time, and the beat's entries and process profiles built from them."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from ingest_tasks.core.keys import SOURCES_QUEUE
from ingest_tasks.core.settings import Settings
from ingest_tasks.sync.beat import SCHEDULER, entries
from ingest_tasks.sync.schedule import next_run, parse
from ingest_tasks.sync.sources import Source
from ingest_tasks.sync.tasks import SYNC
from workers import beat_argv, pools

NOW = datetime(2026, 3, 5, 10, 17, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, seconds", [("every 30s", 30), ("every 15m", 900), ("45", 45),
                                           ("every 2h", 7200), ("every 1d", 86400),
                                           ("every 1.5s", 1.5)])
def test_intervals_are_read_in_their_units(text, seconds):
    assert parse("docs", text).run_every == timedelta(seconds=seconds)


def test_a_crontab_is_minute_hour_day_of_month_month_day_of_week():
    rule = parse("docs", "30 2 1 6 *")
    assert (rule.minute, rule.hour, rule.day_of_month, rule.month_of_year) == ({30}, {2}, {1}, {6})
    assert rule.day_of_week == set(range(7))


@pytest.mark.parametrize("text, says", [
    ("0 2 * *", "is not a crontab of five fields"), ("every", "is not a crontab"),
    ("every 3w", "is not a crontab"), ("61 * * * *", "bad crontab: Invalid end range: 61 > 59"),
    ("0 2 31 2 *", "bad crontab"), ("every 0s", "an interval must be above 0"),
])
def test_a_bad_schedule_is_a_value_error_naming_its_source(text, says):
    with pytest.raises(ValueError, match=re.escape(f"source 'docs': schedule '{text}'")) as error:
        parse("docs", text)
    assert says in str(error.value)


def test_a_crontab_runs_next_at_its_next_slot_after_now():
    assert next_run("docs", "0 2 * * *", NOW) == datetime(2026, 3, 6, 2, 0, tzinfo=timezone.utc)
    assert next_run("docs", "*/15 * * * *", NOW) == NOW.replace(minute=30, second=0)
    assert next_run("docs", "0 9 * * mon-fri", NOW.replace(day=6, hour=12)) == datetime(
        2026, 3, 9, 9, 0, tzinfo=timezone.utc)  # Friday noon -> Monday 09:00


def test_an_interval_runs_next_one_interval_after_the_beats_last_run():
    assert next_run("docs", "every 30s", NOW) == NOW + timedelta(seconds=30)  # never ran
    last = NOW - timedelta(seconds=10)
    assert next_run("docs", "every 30s", NOW, last) == last + timedelta(seconds=30)


def test_an_overdue_schedule_runs_now():
    a_day_ago = NOW - timedelta(days=1, hours=1)
    assert next_run("docs", "every 30s", NOW, a_day_ago) == NOW
    assert next_run("docs", "0 2 * * *", NOW, a_day_ago) == NOW  # the beat was down at 02:00


def test_the_beat_has_an_entry_per_scheduled_source_running_its_sync():
    sources = [Source("docs", "/d", schedule="0 2 * * *"), Source("notes", "/n"),
               Source("wiki", "/w", schedule="every 30s")]
    found = entries(sources)
    assert sorted(found) == ["docs", "wiki"]
    assert found["wiki"]["task"] == SYNC and found["wiki"]["args"] == ("wiki",)
    assert found["wiki"]["schedule"].run_every == timedelta(seconds=30)
    # a tick not taken before the next is dropped: syncs never pile up while the pool is down
    assert (found["wiki"]["options"], found["docs"]["options"]) == ({"expires": 30.0},
                                                                    {"expires": 86400.0})
    with pytest.raises(ValueError, match="source 'bad'"):
        entries([*sources, Source("bad", "/b", schedule="nightly")])


def test_the_sources_pool_runs_one_sync_at_a_time_and_the_beat_runs_redbeat():
    settings = Settings()
    pool = pools(settings)["sources"]
    assert (pool.queue, pool.concurrency, pool.prefetch) == (SOURCES_QUEUE, 1, 1)
    argv = beat_argv(settings)
    assert argv[argv.index("-A") + 1:argv.index("beat") + 1] == ["ingest_tasks", "beat"]
    assert argv[argv.index("-S") + 1] == SCHEDULER
