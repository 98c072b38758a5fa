"""What a load test of the orders pipeline varies: the settings a learner tunes, and the account's
ceilings it runs against.

One object of each is shared by the simulator's load runner (`scaling.load`), the capacity model
and lab 02, so a setting means the same thing in all three. Values are checked when the object is
made, against the ranges AWS documents, so a bad setting fails here with a clear message rather
than deep inside a deployment:

- `PipelineSettings.batch_size`: 1 to 10,000 for a standard queue, and above 10 only with a
  batching window of at least 1 s; `batching_window_s`: 0 to 300 s
  (https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html,
  BatchSize and MaximumBatchingWindowInSeconds).
- `maximum_concurrency`: the SQS mapping's ScalingConfig.MaximumConcurrency, 2 to 1,000
  (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html).
- `processor_reserved_concurrency`: 0 or more; 0 throttles every invocation, and at most the
  account's quota minus 100 may be reserved
  (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html), checked against
  a `Ceilings` by `check_against`.
- `processor_memory_mb`: 128 to 10,240 MB
  (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
- `table_billing_mode`: PAY_PER_REQUEST (on demand) or PROVISIONED, which needs read and write
  capacity units of at least 1
  (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ProvisionedThroughput.html).

`Ceilings` defaults are AWS's defaults in us-east-1, read from the simulator's rules (each cites
its page): Lambda's 1,000 concurrent executions per account and Region, API Gateway's account
throttle of 10,000 requests per second with a burst of 5,000, EventBridge's PutEvents quota of
10,000 transactions per second and its target invocation quota of 18,750 per second. A lesson or a
grader scales them down so that a few thousand orders meet them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from lambdasim import Simulator
from lambdasim.rules import apigateway_throttling, concurrency, eventbridge, sqs_scaling
from lambdasim.rules.throughput import RateLimit

__all__ = ["BILLING_MODES", "Ceilings", "PipelineSettings"]

BILLING_MODES: Final = ("PAY_PER_REQUEST", "PROVISIONED")
BATCH_SIZE_MAX: Final = 10_000  # standard queues (API_CreateEventSourceMapping.html)
BATCH_SIZE_WITHOUT_WINDOW_MAX: Final = 10
BATCHING_WINDOW_MAX_S: Final = 300
MEMORY_MIN_MB: Final = 128
MEMORY_MAX_MB: Final = 10_240
_REGION: Final = "us-east-1"


def _within(name: str, value: float, low: float, high: float | None = None, *, whole: bool = True) -> None:
    """`value` is a number (a whole one if `whole`) from `low` to `high`, or a clear error: a
    settings file's "10" or 10.5 is refused here, in words, not deep inside a run."""
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        wanted = "a whole number" if whole else "a number"
        raise TypeError(f"{name} must be {wanted}, not {value!r} ({type(value).__name__})")
    if value < low or (high is not None and value > high):
        allowed = f"at least {low}" if high is None else f"{low} to {high}"
        raise ValueError(f"{name} must be {allowed}, not {value}")


@dataclass(frozen=True)
class PipelineSettings:
    """What a learner tunes in the orders pipeline (lab 02's settings file); the defaults are the
    values module 1's template deploys."""

    batch_size: int = 10
    batching_window_s: int = 1
    maximum_concurrency: int | None = None  # the SQS mapping's ScalingConfig; None: not set
    processor_reserved_concurrency: int | None = None  # None: the processor uses the unreserved pool
    processor_memory_mb: int = 256
    table_billing_mode: str = "PAY_PER_REQUEST"  # or "PROVISIONED"
    table_write_capacity_units: int | None = None  # PROVISIONED only
    table_read_capacity_units: int | None = None  # PROVISIONED only

    def __post_init__(self) -> None:
        _within("batch_size", self.batch_size, 1, BATCH_SIZE_MAX)
        _within("batching_window_s", self.batching_window_s, 0, BATCHING_WINDOW_MAX_S)
        if self.batch_size > BATCH_SIZE_WITHOUT_WINDOW_MAX and self.batching_window_s < 1:
            raise ValueError(f"a batch_size above {BATCH_SIZE_WITHOUT_WINDOW_MAX} needs batching_window_s of at "
                             f"least 1 (API_CreateEventSourceMapping.html), not {self.batching_window_s}")
        if self.maximum_concurrency is not None:
            _within("maximum_concurrency", self.maximum_concurrency,
                    sqs_scaling.MAXIMUM_CONCURRENCY_MIN, sqs_scaling.MAXIMUM_CONCURRENCY_MAX)
        if self.processor_reserved_concurrency is not None:
            _within("processor_reserved_concurrency", self.processor_reserved_concurrency, 0)
        _within("processor_memory_mb", self.processor_memory_mb, MEMORY_MIN_MB, MEMORY_MAX_MB)
        if self.table_billing_mode not in BILLING_MODES:
            raise ValueError(f"table_billing_mode must be one of {BILLING_MODES}, not {self.table_billing_mode!r}")
        capacities = {"table_write_capacity_units": self.table_write_capacity_units,
                      "table_read_capacity_units": self.table_read_capacity_units}
        for name, units in capacities.items():
            if self.table_billing_mode == "PROVISIONED":
                if units is None:
                    raise ValueError(f"a PROVISIONED table needs {name}")
                _within(name, units, 1)
            elif units is not None:
                raise ValueError(f"{name} applies to a PROVISIONED table only; table_billing_mode is "
                                 f"{self.table_billing_mode}")

    def template_parameters(self) -> dict[str, str]:
        """The orders pipeline template's parameters (`sam deploy --parameter-overrides`) for these
        settings; the template leaves out what is not set (MaximumConcurrency 0, reserved -1)."""
        parameters = {
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": self.batching_window_s,
            "MaximumConcurrency": self.maximum_concurrency or 0,
            "ProcessorReservedConcurrency": -1 if self.processor_reserved_concurrency is None
            else self.processor_reserved_concurrency,
            "ProcessorMemorySize": self.processor_memory_mb,
            "OrdersTableBillingMode": self.table_billing_mode,
        }
        if self.table_billing_mode == "PROVISIONED":
            parameters["OrdersTableWriteCapacity"] = self.table_write_capacity_units
            parameters["OrdersTableReadCapacity"] = self.table_read_capacity_units
        return {name: str(value) for name, value in parameters.items()}

    def check_against(self, ceilings: Ceilings) -> None:
        """Refuse a reservation the account could not make: Lambda keeps 100 of the account's
        concurrency unreserved (the whole quota, if it is below 100)."""
        reserved = self.processor_reserved_concurrency
        if reserved is None:
            return
        reservable = ceilings.account_concurrency - concurrency.minimum_unreserved(ceilings.account_concurrency)
        if reserved > reservable:
            raise ValueError(f"processor_reserved_concurrency {reserved} is more than the {reservable} an account "
                             f"of {ceilings.account_concurrency} may reserve (its quota minus "
                             f"{concurrency.MIN_UNRESERVED_CONCURRENCY})")


@dataclass(frozen=True)
class Ceilings:
    """The account's quotas a run meets, scaled down for a lesson or a grader; the defaults are
    AWS's in us-east-1 (see the module docstring for the pages)."""

    account_concurrency: int = concurrency.DEFAULT_ACCOUNT_CONCURRENCY
    api_rate_per_s: float = apigateway_throttling.account_throttle(_REGION).rate_per_s
    api_burst: int = apigateway_throttling.account_throttle(_REGION).burst
    put_events_tps: float = eventbridge.PUT_EVENTS_TPS[_REGION]
    target_invocations_tps: float = eventbridge.INVOCATIONS_TPS[_REGION]

    def __post_init__(self) -> None:
        _within("account_concurrency", self.account_concurrency, 1)
        _within("api_rate_per_s", self.api_rate_per_s, 0, whole=False)
        _within("api_burst", self.api_burst, 0)
        _within("put_events_tps", self.put_events_tps, 0, whole=False)
        _within("target_invocations_tps", self.target_invocations_tps, 0, whole=False)

    def simulator(self, seed: int = 0, **options: Any) -> Simulator:
        """A `lambdasim.Simulator` (not started) whose account has these quotas: its concurrency,
        API Gateway's account throttle, EventBridge's PutEvents and target invocation quotas (a
        bucket of one second of each, as the simulator models a quota given in TPS)."""
        sim = Simulator(seed=seed, account_concurrency=self.account_concurrency, **options)
        sim.api_gateway.account_throttle = RateLimit(self.api_rate_per_s, self.api_burst)
        sim.eventbridge.put_events_limit = RateLimit.per_second(self.put_events_tps)
        sim.eventbridge.invocations_limit = RateLimit.per_second(self.target_invocations_tps)
        return sim
