"""Lab 02, "meet the SLO": the orders pipeline's traffic forecast and SLO, and the run that
grades a learner's `PipelineSettings` against them (through `capacity.pipeline.run_pipeline`).

The learner writes `choose(forecast) -> PipelineSettings`. `run(forecast, settings)` plays the
forecast's traffic through the whole pipeline (API Gateway, ingest, EventBridge, SQS, the
processor, DynamoDB) with the simulator's own rules; the graded tests read the run's SLO terms
and `PipelineResult.breaches` (the stage and minute where a term failed). Rates are scaled down
(a few orders a second, a few thousand orders a run) so that a grading stays within seconds;
the account's quotas are scaled with them (`Ceilings`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from random import Random

import numpy as np

from .. import prices
from ..scaling.settings import Ceilings, PipelineSettings
from . import arrivals
from .pipeline import Durations, PipelineResult, Slo, run_pipeline

__all__ = ["SHAPES", "Forecast", "problems", "run", "variant"]

SHAPES = ("spike", "sawtooth", "herd")
# The herd's clients double their wait between tries up to this cap (`arrivals.thundering_herd`):
# the retries of an outage land within about one cap after it ends.
HERD_MAX_BACKOFF_S = 20.0
LEAD_S = 60.0  # steady traffic before the peak
TAIL_S = 120.0  # and after it


@dataclass(frozen=True)
class Forecast:
    """What the traffic will be, what the handlers take and what the SLO asks.

    `shape`: "spike" (the steady rate, then `peak_factor` x it for `peak_s`, then steady again),
    "sawtooth" (a rate climbing from the steady rate to `peak_factor` x it over each `peak_s`,
    then dropping back; two teeth) or "herd" (steady clients, and in the middle of `peak_s` the
    front door's dependency down for 20 s x (`peak_factor` - 1): every client that failed retries,
    doubling its wait up to 20 s, and the retries land within about 20 s of the end of the outage,
    about `peak_factor` x the steady rate). Every shape has a minute of steady traffic before its
    peak and two after it.
    """

    shape: str = "spike"
    steady_rate_per_s: float = 2.0  # orders a second (one order per POST /orders)
    peak_factor: float = 5.0
    peak_s: float = 300.0
    durations: Durations = Durations(ingest_ms=40.0, processor_fixed_ms=100.0, processor_io_ms_per_record=12.0,
                                     processor_cpu_ms_per_record=60.0)
    ceilings: Ceilings = Ceilings(account_concurrency=200, put_events_tps=400.0, target_invocations_tps=750.0)
    slo: Slo = Slo(p99_latency_s=2.5, max_lost=0, max_cost_per_million_usd=12.5)
    seed: int = 1

    @property
    def peak_rate_per_s(self) -> float:
        return self.steady_rate_per_s * self.peak_factor

    def __str__(self) -> str:
        d = self.durations
        return (f"{self.shape} from {self.steady_rate_per_s:g} orders/s, peak x{self.peak_factor:g} over "
                f"{self.peak_s:g} s; processor {d.processor_fixed_ms:g} ms + {d.processor_io_ms_per_record:g} ms "
                f"I/O + {d.processor_cpu_ms_per_record:g} ms CPU (one vCPU) a record; SLO p99 under "
                f"{self.slo.p99_latency_s:g} s, ${self.slo.max_cost_per_million_usd:g} per million orders")

    def arrivals(self) -> np.ndarray:
        """The requests' arrival times (integer microseconds), drawn from the forecast's seed."""
        rate, peak = self.steady_rate_per_s, self.peak_rate_per_s
        if self.shape == "spike":
            return arrivals.stages([(LEAD_S, rate), (self.peak_s, peak), (TAIL_S, rate)], seed=self.seed)
        if self.shape == "sawtooth":
            teeth = arrivals.sawtooth(rate, peak, self.peak_s / 2, self.peak_s, seed=self.seed)
            return arrivals.combine(arrivals.poisson(rate, LEAD_S, self.seed + 1),
                                    teeth + round(LEAD_S * 1e6),
                                    arrivals.poisson(rate, TAIL_S, self.seed + 2, start_s=LEAD_S + self.peak_s))
        if self.shape == "herd":
            # An outage long enough that its retries, landing within about one back-off cap,
            # reach the peak rate.
            outage_s = HERD_MAX_BACKOFF_S * (self.peak_factor - 1)
            outage_at_s = LEAD_S + (self.peak_s - outage_s) / 2
            return arrivals.thundering_herd(rate, LEAD_S + self.peak_s + TAIL_S, outage_at_s, outage_s, self.seed,
                                            max_backoff_s=HERD_MAX_BACKOFF_S)
        raise ValueError(f"shape must be one of {SHAPES}, not {self.shape!r}")


def problems(forecast: Forecast, settings: PipelineSettings) -> str | None:
    """Why AWS would refuse these settings (or its guide forbids them), or None. Types and ranges
    are checked when a `PipelineSettings` is made (also when one crosses back from a learner's
    process: it is made again here); the settings against the forecast's account here."""
    try:
        settings.check_against(forecast.ceilings)
    except ValueError as exc:
        return f"{exc} (configuration-concurrency.html)"
    mc, reserved = settings.maximum_concurrency, settings.processor_reserved_concurrency
    if mc is not None and reserved is not None and mc > reserved:
        return (f"maximum_concurrency {mc} is above the processor's reserved concurrency {reserved}: AWS's guide "
                "says never to set it higher, the extra batches are only throttled (services-sqs-scaling.html)")
    return None


def run(forecast: Forecast, settings: PipelineSettings) -> PipelineResult:
    """Play the forecast's traffic through the pipeline with these settings, until every order is
    processed or given up on."""
    return run_pipeline(settings, forecast.ceilings, forecast.arrivals(), seed=forecast.seed,
                        durations=forecast.durations)


# -- the graded forecasts the learner does not see ---------------------------------------------
# What a variant's SLO leaves room for: a 1 s window, then a batch of 5 at one full vCPU
# (1,769 MB: configuration-memory.html) ...
ROOM_BATCH = 5
ROOM_MEMORY_MB = 1769
ROOM_WINDOW_S = 1.0
# ... and, in the budget, the per-order prices no setting moves (API Gateway's request, two
# EventBridge events, three DynamoDB writes, the ingest function: about $7.70 a million) plus SQS's
# requests, with room to spare.
BUDGET_BASE_USD = 9.5
BUDGET_PROCESSOR_MARGIN = 1.25


def processor_usd_per_million(durations: Durations, batch_size: int, memory_mb: int) -> float:
    """The processor's compute per million orders in full batches: GB-seconds at arm64's price."""
    seconds = durations.processor_ms(batch_size, memory_mb) / 1000 / batch_size
    return memory_mb / 1024 * seconds * prices.LAMBDA_GB_SECOND_ARM64.usd * 1e6


def _round_up(value: float, step: float) -> float:
    return math.ceil(value / step) * step


def variant(seed: int) -> Forecast:
    """A forecast drawn from a seed: its shape (the seed's turn in SHAPES), rates, peak and handler
    durations, and an SLO that fits them: a p99 bound 1.2 or 1.6 times a 1 s window plus a batch
    of 5 at one vCPU (rounded up to a quarter of a second), and a budget that pays for that
    processor with a quarter to spare (rounded up to half a dollar). Settings that fit the visible
    forecast do not fit every draw."""
    rng = Random(seed)
    durations = Durations(ingest_ms=rng.choice([30.0, 40.0, 60.0]),
                          processor_fixed_ms=rng.choice([50.0, 100.0, 150.0]),
                          processor_io_ms_per_record=rng.choice([8.0, 12.0, 20.0]),
                          processor_cpu_ms_per_record=rng.choice([30.0, 60.0, 90.0, 120.0]))
    room_s = ROOM_WINDOW_S + durations.processor_ms(ROOM_BATCH, ROOM_MEMORY_MB) / 1000
    budget = BUDGET_BASE_USD + BUDGET_PROCESSOR_MARGIN * processor_usd_per_million(durations, ROOM_BATCH,
                                                                                   ROOM_MEMORY_MB)
    return Forecast(shape=SHAPES[seed % len(SHAPES)], steady_rate_per_s=rng.choice([1.5, 2.0, 3.0]),
                    peak_factor=rng.choice([4.0, 5.0, 6.0]), peak_s=rng.choice([180.0, 240.0, 300.0]),
                    durations=durations,
                    slo=Slo(p99_latency_s=_round_up(room_s * rng.choice([1.2, 1.6]), 0.25), max_lost=0,
                            max_cost_per_million_usd=_round_up(budget, 0.5)),
                    seed=seed)
