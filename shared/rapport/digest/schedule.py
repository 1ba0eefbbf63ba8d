"""When a member's digest is due and which local week it covers, in the member's own timezone.

Wall-clock arithmetic is done on local dates and hours, then converted to UTC, so DST changes
move the UTC instant, never the local hour.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: The due index is spread over this many partitions so no single one takes every member.
DUE_SHARDS = 8


@lru_cache(maxsize=1024)  # more than the IANA database has names
def zone_of(name: str) -> ZoneInfo:
    """A zone kept for the life of the process.

    ``ZoneInfo`` itself keeps only its eight most recent zones once nothing else refers to
    them, and rereads the zone file for any other: per event, with members in many zones.
    """
    return ZoneInfo(name)


@dataclass(frozen=True)
class DigestSchedule:
    timezone: str
    digest_day: str
    digest_hour: int

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.timezone)


def _local_instant(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """``day`` at ``hour`` local time as a UTC instant.

    With ``fold=0`` (PEP 495) a wall time inside a spring-forward gap is read with the offset
    before the gap, which lands on the same reading after it (02:30 becomes 03:30); an ambiguous
    fall-back time is its first occurrence.
    """
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def next_due_after(schedule: DigestSchedule, after: datetime) -> datetime:
    """The first due instant strictly after ``after``."""
    zone = schedule.zone
    local = after.astimezone(zone)
    target = WEEKDAYS.index(schedule.digest_day)
    day = local.date() + timedelta(days=(target - local.weekday()) % 7)
    for _ in range(3):
        due = _local_instant(day, schedule.digest_hour, zone)
        if due > after:
            return due
        day += timedelta(days=7)
    raise AssertionError("a weekly instant always exists within three weeks")


#: How often the scheduler runs (``cron(0 * * * ? *)`` in infra/template.yaml): each run sends
#: the digests that fell due since the previous one.
SCHEDULER_PERIOD = timedelta(hours=1)


def scheduled_run_for(schedule: DigestSchedule, week_start: date) -> datetime:
    """The scheduler run that sends the digest of ``week_start``: the first one (at the top of
    an hour, UTC) at or after the digest falls due, once the week has ended."""
    _, week_end = week_bounds(week_start, schedule.timezone)
    due = next_due_after(schedule, week_end - timedelta(microseconds=1))
    since_run = (due - datetime(2000, 1, 1, tzinfo=UTC)) % SCHEDULER_PERIOD
    return due if not since_run else due + (SCHEDULER_PERIOD - since_run)


def last_complete_week(instant: datetime, timezone: str) -> date:
    """The local Monday that starts the latest week that has fully ended at ``instant``."""
    local = instant.astimezone(zone_of(timezone)).date()
    this_monday = local - timedelta(days=local.weekday())
    return this_monday - timedelta(days=7)


def week_bounds(week_start: date, timezone: str) -> tuple[datetime, datetime]:
    """[local Monday 00:00, next local Monday 00:00) as UTC instants (167–169 hours around DST)."""
    zone = zone_of(timezone)
    start = datetime.combine(week_start, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(week_start + timedelta(days=7), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def due_shard(member_id: str) -> str:
    digest = hashlib.sha256(member_id.encode()).digest()
    return f"DUE#{digest[0] % DUE_SHARDS}"


def all_due_shards() -> list[str]:
    return [f"DUE#{index}" for index in range(DUE_SHARDS)]
