"""Schedules of sources: a crontab or an interval, from a source's `schedule`.

A crontab is five fields, "minute hour day-of-month month day-of-week" ("0 2 * * *": every
night at 02:00 UTC, Celery's time zone). An interval is "every 30s" (s, m, h or d); a bare
number is seconds. The beat runs one entry per source with a schedule (sync.beat).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from celery.schedules import BaseSchedule, crontab, schedule

_INTERVAL = re.compile(r"(?:every\s+)?(\d+(?:\.\d+)?)\s*([smhd]?)", re.IGNORECASE)
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_FORMS = ('a crontab of five fields (minute hour day-of-month month day-of-week, "0 2 * * *") '
         'or an interval ("every 30s", "every 15m"; s, m, h or d)')


def parse(name: str, text: str, nowfun: Callable[[], datetime] | None = None) -> BaseSchedule:
    """The schedule `text` of the source `name`; a ValueError naming the source if it is none.

    `nowfun` tells the schedule the time (default: the Celery app's clock).
    """
    interval = _INTERVAL.fullmatch(text.strip())
    if interval:
        seconds = float(interval[1]) * _SECONDS[interval[2].lower()]
        if seconds <= 0:
            raise ValueError(f"source {name!r}: schedule {text!r}: an interval must be above 0")
        return schedule(timedelta(seconds=seconds), nowfun=nowfun)
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(f"source {name!r}: schedule {text!r} is not {_FORMS}")
    minute, hour, day_of_month, month, day_of_week = fields
    try:
        return crontab(minute, hour, day_of_week, day_of_month, month, nowfun=nowfun)
    except ValueError as exc:
        raise ValueError(f"source {name!r}: schedule {text!r} is a bad crontab: {exc}") from None


def next_run(name: str, text: str, now: datetime, last_run: datetime | None = None) -> datetime:
    """When the schedule `text` of the source `name` runs next, as of `now` (timezone-aware).

    `last_run` is the beat's last run of it (None: never, as if it ran now, which is how the
    beat counts a new entry); one that is overdue runs at once, so now.
    """
    rule = parse(name, text, nowfun=lambda: now)
    return max(now, now + rule.remaining_estimate(last_run or now))


def period(name: str, text: str, now: datetime) -> float:
    """Seconds between two runs of the schedule `text` of the source `name`, from `now` on."""
    first = next_run(name, text, now, now)
    return (next_run(name, text, first, first) - first).total_seconds()
