"""Lesson 08-05's stalled consumer (serverless_course.cdc.retention): the summary projection fails
every record for more than 24 hours with MaximumRetryAttempts -1; its IteratorAge alarm pages long
before records leave the stream (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html:
24 hours), the records older than that are lost for good (their on-failure pointers lead to
TrimmedDataAccessException, API_streams_GetRecords.html), and a rebuild from the table repairs the
read model."""

from __future__ import annotations

import pytest

from serverless_course.cdc.retention import RETENTION_H, StallRun, run_stall

pytestmark = pytest.mark.xdist_group("cdc")


@pytest.fixture(scope="module")
def stall() -> StallRun:
    return run_stall(seed=3, hours=27.0, broken_at_h=0.5, fixed_at_h=26.0, write_gap_s=1200.0, customers=6)


def test_the_iterator_age_climbs_to_the_retention_and_the_alarm_pages_first(stall: StallRun) -> None:
    assert max(age for _, age in stall.iterator_age_h) == pytest.approx(RETENTION_H, abs=0.5)
    paged, lost = stall.first_alarm_h(stall.iterator_age_alarm), stall.first_loss_h
    assert paged is not None and lost is not None
    first_unapplied_h = lost - RETENTION_H  # the oldest record waiting: written when it started failing
    assert first_unapplied_h >= stall.broken_at_h
    # Past the threshold, then two 15-minute periods above it (and a retry's wait at most).
    assert stall.threshold_h < paged - first_unapplied_h < stall.threshold_h + 1
    assert paged + 20 < lost
    assert stall.iterator_age_h[-1][1] < 0.01  # drained after the fix


def test_records_older_than_24_hours_are_lost_and_their_pointers_lead_nowhere(stall: StallRun) -> None:
    assert stall.first_loss_h is not None
    assert stall.broken_at_h + RETENTION_H <= stall.first_loss_h < stall.fixed_at_h
    assert stall.discarded_by_age > 0 and stall.pointers
    assert stall.pointers_trimmed == len(stall.pointers)
    assert stall.wrong_after_repair  # the projection missed changes no later record corrected


def test_a_rebuild_from_the_table_repairs_the_read_model(stall: StallRun) -> None:
    assert stall.customers and stall.wrong_after_rebuild == []
