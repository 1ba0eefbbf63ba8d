"""schedule_digests' core: every member due now gets one job for their latest complete week.

Members arrive page by page from the due index and jobs leave in batches of ten, so memory stays
at one page whatever the number of members. A missed run simply finds more members due on the
next one; each still gets only the latest complete week, never a backlog.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from rapport.digest.jobs import DigestJob
from rapport.digest.ports import DueMembers, JobQueue
from rapport.digest.schedule import last_complete_week

JOB_BATCH = 10


def _batches(jobs: Iterable[DigestJob]) -> Iterator[list[DigestJob]]:
    batch: list[DigestJob] = []
    for job in jobs:
        batch.append(job)
        if len(batch) == JOB_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def fan_out(now: datetime, members: DueMembers, queue: JobQueue) -> int:
    """Enqueue a job per due member; returns how many were enqueued."""
    jobs = (
        DigestJob(
            member_id=member.member_id,
            week_start=last_complete_week(now, member.timezone),
            as_of=now,
        )
        for member in members.due_at(now)
    )
    enqueued = 0
    for batch in _batches(jobs):
        queue.enqueue(batch)
        enqueued += len(batch)
    return enqueued
