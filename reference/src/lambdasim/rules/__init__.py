"""The AWS rules the simulator plays, each with the AWS page it comes from.

Every number or message format that AWS documents (or that AWS's own runtime code defines) lives
in one module here, next to its source, so a conformance test can pin it and a reader can check
it. Nothing in this package touches moto, the clock or the process: they are pure functions and
constants.

- `invoke`: the Invoke API (payload limits, status codes, request errors).
- `runtime`: the Python runtime (handler loading errors, error payloads, response marshalling,
  timeouts, reserved environment variables).
- `async_invoke`: asynchronous invocation (retry schedule, throttle backoff, event age, the
  invocation record and what each destination and the dead-letter queue receive).
- `sqs_scaling`: how an SQS event source mapping scales its concurrent batches (5 at first, +300
  per minute, 1,250 or MaximumConcurrency, back-off on errors and throttles, throttle retries).
- `eventbridge`: EventBridge rule targets (RetryPolicy defaults and limits, which target
  failures are retried, backoff, the target DLQ's message attributes, AWS/Events metrics).
- `schedules`: EventBridge scheduled rules and EventBridge Scheduler schedules (rate, cron and at
  expressions, time zones and daylight saving, flexible windows, the Scheduled Event, context
  attributes, retry policy defaults, the dead-letter message's attributes).
- `kinesis`: Kinesis Data Streams throughput ceilings (per-shard writes and reads over a rolling
  second, an on-demand stream's write ceiling, ProvisionedThroughputExceededException's message).
- `sqs_redrive`: SQS dead-letter queue redrive (StartMessageMoveTask's rate limit, statuses, list
  limits, the errors AWS answers, what is modelled where AWS is silent).
"""
