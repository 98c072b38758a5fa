"""Logs, metrics and metering of simulated Lambda invocations (issue 3, items 7 and 8).

- `logs`: START / END / REPORT lines and the function's own output (print, stderr, Python
  logging, Powertools Logger) in CloudWatch Logs `/aws/lambda/<function>`, one stream per
  execution environment, at virtual timestamps; `LogType=Tail`.
- `emf`: CloudWatch embedded metric format lines (Powertools Metrics) become CloudWatch metrics.
- `metrics`: the AWS/Lambda metrics, aggregated per minute.
- `metering`: requests, GB-seconds and cost (`Simulator.metering()`).
- `tracing`: Lambda's X-Ray segments as OpenTelemetry spans, trace headers (`Simulator.tracing`).
"""

from .core import Telemetry
from .metering import FunctionUsage, MeteringReport, meter
from .tracing import Tracing

__all__ = ["FunctionUsage", "MeteringReport", "Telemetry", "Tracing", "meter"]
