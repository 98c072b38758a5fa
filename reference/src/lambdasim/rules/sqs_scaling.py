"""How Lambda scales the pollers of an Amazon SQS event source mapping (standard mode).

Pure rules: no moto, no clock, no simulator. The simulator's poller (`lambdasim.pollers.sqs`)
asks them how many batches may run at once; a capacity model can use them on their own.

Sources (read September 2026, newest copies):

- https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html : Lambda "starts
  processing five batches at a time with five concurrent invocations"; "if messages are still
  available, Lambda increases the number of processes that are reading batches by up to 300
  more instances per minute"; at most 1,250 concurrent invokes per mapping (an older copy of the
  page says 1,000; the newest copy and https://repost.aws/knowledge-center/lambda-sqs-scaling say
  1,250: the newest statement is taught); "when traffic is low, Lambda scales back the
  processing to five concurrent batches" (and can optimise to 2, not with MaximumConcurrency:
  not modelled). MaximumConcurrency (ScalingConfig) is 2 to 1,000 and caps the mapping.
  Before Nov 6 2023 the rate was 60 per minute
  (https://aws.amazon.com/about-aws/whats-new/2023/11/aws-lambda-polling-scale-rate-sqs-event-source/).
- https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html : on a function
  error "Lambda gradually backs off, reducing the amount of concurrency allocated to your Amazon
  SQS event source mapping"; "when ReportBatchItemFailures is activated, Lambda doesn't scale
  down message polling when function invocations fail"; on throttling Lambda also backs off and
  "continues to retry the message until the message's timestamp exceeds your queue's visibility
  timeout".

What AWS does not publish, and this module therefore *models* (each a named constant):
how much "gradually" is (one concurrent batch less per failed or throttled invocation, never
below `BACKOFF_FLOOR`), how scale-up resumes after a back-off (the rate restarts from the
moment of the failure), and the delays between throttled retries (`throttle_retry_delay_s`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

MICROS_PER_MINUTE: Final = 60_000_000

# services-sqs-scaling.html (standard mode).
INITIAL_CONCURRENCY: Final = 5
SCALE_UP_PER_MINUTE: Final = 300  # since 2023-11-06
SCALE_UP_PER_MINUTE_BEFORE_2023_11_06: Final = 60
MAX_CONCURRENCY: Final = 1_250  # per event source mapping (older copies: 1,000)
MAXIMUM_CONCURRENCY_MIN: Final = 2  # ScalingConfig.MaximumConcurrency range
MAXIMUM_CONCURRENCY_MAX: Final = 1_000

# Modelled (AWS documents the direction, not the size): one concurrent batch less per failed
# or throttled invocation, down to this floor (the lowest concurrency the scaling page names).
BACKOFF_STEP: Final = 1
BACKOFF_FLOOR: Final = 2

# Modelled: throttled invocations are retried after 1 s, 2 s, 4 s ... up to 20 s between tries,
# for as long as the messages are still within their visibility timeout.
THROTTLE_RETRY_FIRST_S: Final = 1.0
THROTTLE_RETRY_MAX_S: Final = 20.0


def concurrency_cap(maximum_concurrency: int | None, *, ceiling: int = MAX_CONCURRENCY) -> int:
    """The most batches a mapping may process at once: MaximumConcurrency if set, else 1,250."""
    if maximum_concurrency is None:
        return ceiling
    if not MAXIMUM_CONCURRENCY_MIN <= maximum_concurrency <= MAXIMUM_CONCURRENCY_MAX:
        raise ValueError(
            f"MaximumConcurrency is {MAXIMUM_CONCURRENCY_MIN} to {MAXIMUM_CONCURRENCY_MAX}, "
            f"not {maximum_concurrency}"
        )
    return min(ceiling, maximum_concurrency)


def ramp(seconds: float, *, maximum_concurrency: int | None = None,
         per_minute: int = SCALE_UP_PER_MINUTE) -> int:
    """Concurrent batches after `seconds` of sustained backlog without errors (closed form).

    5 at the start, plus `per_minute` per minute, capped: 1,250 is reached after
    (1,250 - 5) / 300 minutes = 249 s (since Nov 2023; about 20 min at the old 60 per minute).
    """
    cap = concurrency_cap(maximum_concurrency)
    start = min(INITIAL_CONCURRENCY, cap)
    return min(cap, start + int(seconds * per_minute // 60))


def throttle_retry_delay_s(attempt: int) -> float:
    """Delay before retrying a throttled batch for the `attempt`-th time (1-based). Modelled."""
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    return min(THROTTLE_RETRY_MAX_S, THROTTLE_RETRY_FIRST_S * 2 ** (attempt - 1))


@dataclass
class PollerScaling:
    """The concurrency target of one SQS event source mapping, as time passes.

    Call `next_target(now_us, backlog, errors, throttles)` whenever the poller learns something:
    `backlog` > 0 means messages are still available after the running batches took theirs;
    `errors` counts invocations that failed since the last call (function errors and timeouts),
    `throttles` invocations the Lambda service refused. Time is integer microseconds, so a
    seed replays to the same digits.
    """

    maximum_concurrency: int | None = None
    report_batch_item_failures: bool = False
    per_minute: int = SCALE_UP_PER_MINUTE
    ceiling: int = MAX_CONCURRENCY
    target: int = field(init=False)
    # Start of the scale-up credit: one more batch every 60 s / per_minute of sustained backlog.
    _since_us: int | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.target = self.initial

    @property
    def cap(self) -> int:
        """MaximumConcurrency, or the per-mapping maximum."""
        return concurrency_cap(self.maximum_concurrency, ceiling=self.ceiling)

    @property
    def initial(self) -> int:
        """Five concurrent batches (fewer if MaximumConcurrency is lower)."""
        return min(INITIAL_CONCURRENCY, self.cap)

    @property
    def step_us(self) -> int:
        """Microseconds of sustained backlog per additional concurrent batch (200 ms at 300/min)."""
        return MICROS_PER_MINUTE // self.per_minute

    def reconfigure(self, *, maximum_concurrency: int | None, report_batch_item_failures: bool) -> None:
        """The mapping was updated: a new cap applies at once."""
        self.maximum_concurrency = maximum_concurrency
        self.report_batch_item_failures = report_batch_item_failures
        self.target = min(self.target, self.cap)

    def next_target(self, now_us: int, backlog: int, errors: int = 0, throttles: int = 0) -> int:
        """Apply the rules at `now_us` and return the new number of concurrent batches."""
        # With ReportBatchItemFailures, function errors do not scale polling down; throttles do.
        failures = throttles + (0 if self.report_batch_item_failures else errors)
        if failures:
            self.target = max(min(BACKOFF_FLOOR, self.cap), self.target - BACKOFF_STEP * failures)
            self._since_us = now_us
        elif backlog <= 0:
            # Low traffic: back to five concurrent batches; the next backlog starts a new ramp.
            self.target = self.initial
            self._since_us = None
        elif self._since_us is None:
            self._since_us = now_us
        else:
            steps = (now_us - self._since_us) // self.step_us
            if steps > 0:
                self.target = min(self.cap, self.target + steps)
                self._since_us += steps * self.step_us
        if self.target >= self.cap:
            self.target = self.cap
        return self.target

    def next_increase_us(self, now_us: int) -> int | None:
        """When the target can grow by one if the backlog lasts (None: at the cap, or no ramp)."""
        if self.target >= self.cap or self._since_us is None:
            return None
        return max(now_us, self._since_us + self.step_us)
