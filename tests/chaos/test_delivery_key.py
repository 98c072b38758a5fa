"""An idempotency key taken from the delivery (the SQS messageId) instead of the event.

``chaos/wrong/delivery_key.py`` is idempotent per SQS message: SQS's redeliveries of the same
message are absorbed, an order sent twice as two messages is written twice, and the audit
catches it.
"""

from __future__ import annotations

from datetime import datetime, timezone

from serverless_course.chaos import WRONG_PROCESSORS, ChaosMix, run_chaos
from serverless_course.chaos.harness import make_messages

DELIVERY_KEY = WRONG_PROCESSORS / "delivery_key.py"
NO_FAULTS = dict(poison=0.0, duplicates=0.0, throttle_rate=0.0, transient_rate=0.0, timeouts=0.0)
MESSAGES = 40  # seed 2: 2 orders of those sent twice are written twice, one batch times out


def test_an_order_sent_twice_is_written_twice() -> None:
    """Each send is a new SQS message with its own messageId
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html:
    "MessageId: An attribute containing the MessageId of the message sent to the queue"), so a
    key on the messageId lets the second copy of an order through; the standard queue and the
    Lambda mapping are at least once anyway
    (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html). The written-twice orders are
    exactly some of the orders the harness sent twice."""
    mix = ChaosMix(**{**NO_FAULTS, "duplicates": 0.1})
    report = run_chaos(DELIVERY_KEY, seed=2, messages=MESSAGES, faults=mix)
    sent_twice = {m.order_id for m in make_messages(MESSAGES, 2, mix, datetime(2026, 1, 1, tzinfo=timezone.utc))
                  if m.copies == 2}
    assert not report.ok
    assert report.duplicated, report.ledger()
    assert set(report.duplicated) <= sent_twice
    assert (report.lost, report.unexplained_dlq, report.events_missing) == ([], [], [])


def test_sqs_redeliveries_keep_their_message_id() -> None:
    """A batch that times out comes back whole after the visibility timeout
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html) as the same
    messages: the delivery key absorbs those retries (nothing written twice), where a processor
    with no idempotency at all writes the batch's finished records again. The in-progress record
    of the timed-out invocation expires with it (``register_lambda_context``,
    https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/), so the retry
    runs and nothing is lost."""
    mix = ChaosMix(**{**NO_FAULTS, "timeouts": 0.05})
    keyed = run_chaos(DELIVERY_KEY, seed=2, messages=MESSAGES, faults=mix)
    assert keyed.timeouts > 0
    assert keyed.ok, keyed.ledger()
    unguarded = run_chaos(WRONG_PROCESSORS / "no_idempotency.py", seed=2, messages=MESSAGES, faults=mix)
    assert unguarded.timeouts > 0
    assert unguarded.duplicated
