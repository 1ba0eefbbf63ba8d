"""Due instants and local weeks, across DST changes and odd offsets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from rapport.digest.schedule import (
    DigestSchedule,
    due_shard,
    last_complete_week,
    next_due_after,
    scheduled_run_for,
    week_bounds,
)


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("timezone", "after", "expected"),
    [
        # Los Angeles leaves DST on Sunday 1 November 2026: Monday 8:00 is 15:00Z, then 16:00Z.
        ("America/Los_Angeles", _utc(2026, 10, 27), _utc(2026, 11, 2, 16)),
        ("America/Los_Angeles", _utc(2026, 10, 20), _utc(2026, 10, 26, 15)),
        # Berlin leaves DST on Sunday 25 October 2026: Monday 8:00 is 06:00Z before, 07:00Z after.
        ("Europe/Berlin", _utc(2026, 10, 20), _utc(2026, 10, 26, 7)),
        ("Europe/Berlin", _utc(2026, 10, 13), _utc(2026, 10, 19, 6)),
        ("Asia/Kolkata", _utc(2026, 11, 1), _utc(2026, 11, 2, 2, 30)),
        ("Asia/Kathmandu", _utc(2026, 11, 1), _utc(2026, 11, 2, 2, 15)),
        ("UTC", _utc(2026, 11, 2, 7, 59), _utc(2026, 11, 2, 8)),
    ],
)
def test_next_due_is_the_local_day_and_hour(
    timezone: str, after: datetime, expected: datetime
) -> None:
    assert next_due_after(DigestSchedule(timezone, "monday", 8), after) == expected


def test_next_due_is_strictly_after_the_instant_given() -> None:
    schedule = DigestSchedule("UTC", "monday", 8)
    due = next_due_after(schedule, _utc(2026, 11, 2, 7))
    assert due == _utc(2026, 11, 2, 8)
    assert next_due_after(schedule, due) == due + timedelta(days=7)


def test_successive_dues_keep_the_local_hour_across_a_dst_change() -> None:
    schedule = DigestSchedule("America/Los_Angeles", "sunday", 18)
    first = next_due_after(schedule, _utc(2026, 10, 20))
    second = next_due_after(schedule, first)
    assert second - first == timedelta(days=7, hours=1)  # the week of 1 November has 169 hours
    assert {first.astimezone(schedule.zone).hour, second.astimezone(schedule.zone).hour} == {18}


def test_an_hour_that_does_not_exist_that_day_moves_past_the_gap() -> None:
    # 8 March 2026, 02:00 does not exist in Los Angeles: clocks jump from 02:00 to 03:00.
    schedule = DigestSchedule("America/Los_Angeles", "sunday", 2)
    due = next_due_after(schedule, _utc(2026, 3, 7))
    assert due == _utc(2026, 3, 8, 10)
    assert due.astimezone(schedule.zone).hour == 3


def test_other_days_and_hours() -> None:
    schedule = DigestSchedule("Asia/Kolkata", "friday", 17)
    due = next_due_after(schedule, _utc(2026, 11, 2))  # a Monday
    assert due == _utc(2026, 11, 6, 11, 30)  # Friday 17:00 IST


@pytest.mark.parametrize(
    ("instant", "timezone", "week"),
    [
        (_utc(2026, 11, 2, 16), "America/Los_Angeles", date(2026, 10, 26)),
        # Monday 01:00 UTC is still Sunday in Los Angeles: the week before last is complete.
        (_utc(2026, 11, 2, 1), "America/Los_Angeles", date(2026, 10, 19)),
        # Sunday 20:00 UTC is already Monday 01:45 in Kathmandu.
        (_utc(2026, 11, 1, 20), "Asia/Kathmandu", date(2026, 10, 26)),
    ],
)
def test_the_last_complete_week_is_in_local_time(
    instant: datetime, timezone: str, week: date
) -> None:
    assert last_complete_week(instant, timezone) == week


def test_a_request_sent_sunday_2330_local_belongs_to_that_week_even_if_monday_in_utc() -> None:
    start, end = week_bounds(date(2026, 10, 26), "America/New_York")
    sunday_late = datetime(
        2026, 11, 1, 23, 30, tzinfo=DigestSchedule("America/New_York", "monday", 8).zone
    )
    assert sunday_late.astimezone(UTC).weekday() == 0  # Monday in UTC
    assert start <= sunday_late < end


def test_weeks_around_dst_changes_are_not_168_hours() -> None:
    start, end = week_bounds(date(2026, 10, 26), "America/Los_Angeles")
    assert end - start == timedelta(hours=169)
    start, end = week_bounds(date(2026, 3, 2), "America/Los_Angeles")  # 8 March: spring forward
    assert end - start == timedelta(hours=167)
    start, end = week_bounds(date(2026, 2, 23), "America/Los_Angeles")
    assert end - start == timedelta(hours=168)
    start, end = week_bounds(date(2026, 3, 23), "Europe/Berlin")
    assert end - start == timedelta(hours=167)


def test_members_spread_over_the_due_shards() -> None:
    shards = {due_shard(f"member-{index}") for index in range(200)}
    assert len(shards) == 8
    assert due_shard("member-1") == due_shard("member-1")


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        # Monday 08:00 in New York after the week of 9 November: 13:00Z, a scheduler run itself.
        (DigestSchedule("America/New_York", "monday", 8), _utc(2026, 11, 16, 13)),
        # Friday 17:00 in Kolkata is 11:30Z; the hourly run that finds it due is at 12:00Z.
        (DigestSchedule("Asia/Kolkata", "friday", 17), _utc(2026, 11, 20, 12)),
        # Sunday 18:00 UTC: the first Sunday after the week has ended, not the week's own.
        (DigestSchedule("UTC", "sunday", 18), _utc(2026, 11, 22, 18)),
        # Monday 00:00 local: due the instant the week ends.
        (DigestSchedule("Europe/Berlin", "monday", 0), _utc(2026, 11, 15, 23)),
    ],
)
def test_the_scheduler_run_that_sends_a_weeks_digest(
    schedule: DigestSchedule, expected: datetime
) -> None:
    week = date(2026, 11, 9)
    run = scheduled_run_for(schedule, week)
    assert run == expected
    assert last_complete_week(run, schedule.timezone) == week
