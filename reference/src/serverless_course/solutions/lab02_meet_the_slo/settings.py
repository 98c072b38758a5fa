"""Lab 02 reference solution: settings that meet the SLO, computed from the forecast.

- An order's latency is, at worst, the batching window it waits for (or less, when its batch
  fills first: `queueing.batch_wait_s`) plus the whole batch it rides in: the processor handles
  a batch's records one after the other (`Durations.processor_ms`). Keep that within 85 % of the
  p99 bound, leaving the rest for cold starts and batches waiting for a poller.
- A 1 s window: the shortest that still gathers batches at a few orders a second. Without one,
  the pollers invoke with whatever is in the queue, a record or two at these rates, and each
  invocation pays the handler's fixed part, Lambda's request and SQS's calls again.
- The largest batch that fits, at the least memory that fits: below 1,769 MB (one vCPU,
  configuration-memory.html) the CPU part of a record costs the same GB-seconds whatever the
  memory, so memory above what the bound needs buys nothing but a higher price per millisecond
  for the I/O part and the fixed part; above 1,769 MB a single-threaded handler is no faster.
- No MaximumConcurrency or reserved concurrency: by Little's law the processor needs the peak
  rate x the time per record (`queueing.littles_law_concurrency`), a few environments at these
  rates, far below the account's quota, and the pollers add 300 a minute
  (services-sqs-scaling.html). A cap would only add a way to hold orders back.
- An on-demand table: it takes the 5x spike without a capacity to size (a new table serves
  thousands of writes a second, and up to double its previous peak at once:
  on-demand-capacity-mode.html). A table provisioned for the peak costs a little less here (the
  spike is much of the run), but sized for less it throttles the spike once its burst capacity
  is spent, and the refused records come back a visibility timeout later, or reach the DLQ.
"""

from __future__ import annotations

from serverless_course.capacity.slo_lab import Forecast
from serverless_course.scaling.settings import PipelineSettings

WINDOW_S = 1
SHARE_OF_BOUND = 0.85
BATCH_SIZES = (10, 8, 6, 5, 4, 3, 2, 1)
MEMORIES_MB = (512, 768, 1024, 1280, 1536, 1769)


def choose(forecast: Forecast) -> PipelineSettings:
    room_ms = (SHARE_OF_BOUND * forecast.slo.p99_latency_s - WINDOW_S) * 1000
    for batch_size in BATCH_SIZES:
        for memory_mb in MEMORIES_MB:
            if forecast.durations.processor_ms(batch_size, memory_mb) <= room_ms:
                return PipelineSettings(batch_size=batch_size, batching_window_s=WINDOW_S,
                                        processor_memory_mb=memory_mb)
    # Not even one record fits after a window: invoke at once, one record at a time, at full speed.
    return PipelineSettings(batch_size=1, batching_window_s=0, processor_memory_mb=MEMORIES_MB[-1])
