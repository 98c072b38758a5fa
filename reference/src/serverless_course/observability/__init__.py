"""Module 4, observability: the orders pipeline's logs, metrics, traces and alarms, read as a
learner reads them on AWS (Logs Insights through boto3, spans from the simulator's tracing).

- `orders_run`: deploy the pipeline with tracing and a log format, send seeded orders through
  its API (lessons 04-01 and 04-02).
- `logs_view`: Logs Insights queries over the functions' log groups: one order's lines by its
  correlation id, the REPORT lines' cold starts, durations and memory.
- `tracing_view`: a trace's waterfall and the service map of many traces, drawn with matplotlib.
- `incidents`: seeded incident scenarios on the real pipeline with an alarm set deployed beside
  it (outage, poison flood, throttle storm, silent rule typo, duration leak, normal day): which
  alarms page, and when (lab 04).
- `sampling`: what X-Ray's default rule keeps of a steady load with a rare failure, malformed
  events on the pipeline, ERROR lines joined to the traces recorded (lesson 04-04).
- `dashboard`: the notebook dashboard, GetMetricData panels and p99 from Logs Insights, drawn as
  a grid (lesson 04-05).
- `bill`: the cost of observability per million orders, from a run's logs, metrics and traces,
  each price with its source (lesson 04-05).
"""
