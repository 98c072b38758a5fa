"""Module 2, scaling and throughput: the queueing arithmetic (`queueing`) and an experiment that
measures it in the simulator (`drain.run_drain`)."""

from .queueing import (
    Prediction,
    backlog_after,
    batch_wait_s,
    drain_time_s,
    invocations_per_second,
    littles_law_concurrency,
    percentile,
    predict,
    service_rate,
    utilisation,
)

__all__ = [
    "Prediction",
    "backlog_after",
    "batch_wait_s",
    "drain_time_s",
    "invocations_per_second",
    "littles_law_concurrency",
    "percentile",
    "predict",
    "service_rate",
    "utilisation",
]
