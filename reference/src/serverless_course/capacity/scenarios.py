"""One scenario, two engines: the capacity model and the moto-backed simulator.

A `Scenario` describes functions, queues (with their event source mappings) and traffic.
`run_model(scenario)` plays it in `CapacityModel`; `run_simulator(scenario)` deploys the same
resources in `lambdasim.Simulator` (moto) with a real handler (`capacity.handlers.handler`)
and drives the same arrivals through boto3 (Invoke, PutEvents, SendMessage). Both return the
same `counts()` shape, which `tests/capacity/test_agreement.py` compares, and the lab grades
with. `simulate_pipeline` plays `capacity.pipeline.run_pipeline`'s scenario (the orders pipeline)
in the simulator, for `tests/capacity/test_pipeline_agreement.py`.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from lambdasim.dynamodb_capacity import DynamoDBLimits
from lambdasim.rules import async_invoke
from lambdasim.rules.cold_start import InitDurationModel

from ..scaling.settings import Ceilings, PipelineSettings
from . import handlers
from .model import CapacityModel, Function, Result
from .pipeline import ApiStageThrottle, Durations, order_id

HANDLER = "serverless_course.capacity.handlers.handler"


@dataclass
class FunctionSetup:
    name: str
    duration_ms: float = 100.0
    memory_mb: int = 128
    reserved: int | None = None
    fail_every: int = 0  # an event id divisible by this fails (0: never)
    # Asynchronous invocation (event invoke config): AWS's defaults unless a scenario sets them.
    maximum_retry_attempts: int = async_invoke.DEFAULT_MAXIMUM_RETRY_ATTEMPTS
    maximum_event_age_s: int = async_invoke.DEFAULT_MAXIMUM_EVENT_AGE_S


@dataclass
class QueueSetup:
    name: str
    function: str | None = None  # the function of its event source mapping (None: no mapping)
    visibility_timeout_s: int = 30
    max_receive_count: int | None = None  # redrive to "<name>-dlq" after this many receives
    batch_size: int = 10
    maximum_concurrency: int | None = None
    report_batch_item_failures: bool = False


@dataclass
class Traffic:
    kind: Literal["sync", "async", "eventbridge", "sqs"]
    target: str  # a function, or a queue (kind "sqs", or "eventbridge" with a queue target)
    arrivals: np.ndarray  # microseconds from the start


@dataclass
class Scenario:
    functions: list[FunctionSetup]
    traffic: list[Traffic]
    queues: list[QueueSetup] = field(default_factory=list)
    seed: int = 0
    account_concurrency: int = 1000
    scaling_rate: tuple[int, float] | None = (1000, 10.0)
    idle_lifetime: float | tuple[float, float] | None = (300.0, 900.0)
    init_model: InitDurationModel | None = None
    # The deployment package size the cold-start model sees (None: the simulator's placeholder
    # zip, which is what its functions report as CodeSize).
    package_bytes: int | None = None


def build_model(s: Scenario, **kwargs: Any) -> CapacityModel:
    """The scenario as a `CapacityModel`, ready to `run()`."""
    m = CapacityModel(s.seed, account_concurrency=s.account_concurrency, scaling_rate=s.scaling_rate,
                      idle_lifetime=s.idle_lifetime, init_model=s.init_model, **kwargs)
    if s.package_bytes is None:
        from lambdasim import placeholder_zip

        package_bytes = len(placeholder_zip())
    else:
        package_bytes = s.package_bytes
    for f in s.functions:
        m.add_function(Function(f.name, duration_ms=f.duration_ms, memory_mb=f.memory_mb, reserved=f.reserved,
                                package_bytes=package_bytes, fails=handlers.fails_every(f.fail_every)))
    for q in s.queues:
        m.add_queue(q.name, visibility_timeout_s=q.visibility_timeout_s, max_receive_count=q.max_receive_count)
        if q.function is not None:
            m.add_mapping(q.name, q.function, batch_size=q.batch_size, maximum_concurrency=q.maximum_concurrency,
                          report_batch_item_failures=q.report_batch_item_failures)
    functions = {f.name: f for f in s.functions}
    for tr in s.traffic:
        if tr.kind == "sync":
            m.invoke_sync(tr.target, tr.arrivals)
        elif tr.kind == "sqs":
            m.send(tr.target, tr.arrivals)
        elif tr.target in functions:
            f = functions[tr.target]
            args = dict(maximum_retry_attempts=f.maximum_retry_attempts, maximum_event_age_s=f.maximum_event_age_s)
            if tr.kind == "async":
                m.invoke_async(tr.target, tr.arrivals, **args)
            else:
                m.eventbridge(tr.arrivals, function=tr.target, **args)
        else:
            m.eventbridge(tr.arrivals, queue=tr.target)
    return m


def run_model(s: Scenario, **kwargs: Any) -> Result:
    """Play the scenario in the capacity model."""
    return build_model(s, **kwargs).run()


def run_simulator(s: Scenario, *, max_seconds: float = 86_400) -> dict[str, dict[str, int]]:
    """Play the scenario in `lambdasim.Simulator` with real handlers; the model's `counts()` shape."""
    from botocore.exceptions import ClientError

    from lambdasim import Simulator

    kwargs: dict[str, Any] = {}
    if s.init_model is not None:
        kwargs["init_model"] = s.init_model
    with Simulator(seed=s.seed, account_concurrency=s.account_concurrency, scaling_rate=s.scaling_rate,
                   idle_lifetime=s.idle_lifetime, logs=False, metrics=False, **kwargs) as sim:
        from botocore.config import Config

        # No SDK retries: a throttled synchronous call is one throttle, as in the model (botocore
        # would otherwise retry the 429 at the same virtual instant).
        lam = sim.client("lambda", config=Config(retries={"total_max_attempts": 1}))
        sqs, events = sim.client("sqs"), sim.client("events")
        urls: dict[str, str] = {}
        arns: dict[str, str] = {}

        def queue(name: str, **attributes: str) -> None:
            urls[name] = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            arns[name] = sqs.get_queue_attributes(QueueUrl=urls[name], AttributeNames=["QueueArn"])[
                "Attributes"]["QueueArn"]

        partial = {q.function for q in s.queues if q.report_batch_item_failures}
        for f in s.functions:
            queue(f"{f.name}-async-dlq")
            # The longest timeout Lambda accepts: 900 s, and no more than the visibility timeout of
            # a queue mapped to the function (services-sqs-configure.html); runs are far shorter.
            timeout_s = min([900] + [q.visibility_timeout_s for q in s.queues if q.function == f.name])
            sim.create_function(
                FunctionName=f.name, Handler=HANDLER, MemorySize=f.memory_mb, Timeout=timeout_s,
                Environment={"Variables": {"FAIL_EVERY": str(f.fail_every),
                                           "PARTIAL": "1" if f.name in partial else "0"}},
                DeadLetterConfig={"TargetArn": arns[f"{f.name}-async-dlq"]},
            )
            sim.set_duration(f.name, f.duration_ms)
            if f.reserved is not None:
                lam.put_function_concurrency(FunctionName=f.name, ReservedConcurrentExecutions=f.reserved)
            lam.put_function_event_invoke_config(FunctionName=f.name, MaximumRetryAttempts=f.maximum_retry_attempts,
                                                 MaximumEventAgeInSeconds=f.maximum_event_age_s)
        for q in s.queues:
            attributes = {"VisibilityTimeout": str(q.visibility_timeout_s)}
            if q.max_receive_count is not None:
                queue(f"{q.name}-dlq")
                attributes["RedrivePolicy"] = json.dumps(
                    {"deadLetterTargetArn": arns[f"{q.name}-dlq"], "maxReceiveCount": q.max_receive_count})
            queue(q.name, **attributes)
            if q.function is not None:
                mapping: dict[str, Any] = dict(EventSourceArn=arns[q.name], FunctionName=q.function,
                                               BatchSize=q.batch_size)
                if q.maximum_concurrency is not None:
                    mapping["ScalingConfig"] = {"MaximumConcurrency": q.maximum_concurrency}
                if q.report_batch_item_failures:
                    mapping["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
                lam.create_event_source_mapping(**mapping)
        functions = {f.name for f in s.functions}
        for n, tr in enumerate(s.traffic):
            if tr.kind == "eventbridge":
                rule = f"rule-{n}"
                events.put_rule(Name=rule, EventPattern=json.dumps({"source": [f"capacity.{n}"]}))
                target = (lam.get_function(FunctionName=tr.target)["Configuration"]["FunctionArn"]
                          if tr.target in functions else arns[tr.target])
                events.put_targets(Rule=rule, Targets=[{"Id": "t", "Arn": target}])

        def send(n: int, tr: Traffic, i: int) -> None:
            body = json.dumps({"id": i})
            if tr.kind == "sync":
                try:
                    lam.invoke(FunctionName=tr.target, Payload=body.encode())
                except ClientError as error:
                    if error.response["Error"]["Code"] != "TooManyRequestsException":
                        raise
            elif tr.kind == "async":
                lam.invoke(FunctionName=tr.target, InvocationType="Event", Payload=body.encode())
            elif tr.kind == "sqs":
                sqs.send_message(QueueUrl=urls[tr.target], MessageBody=body)
            else:
                events.put_events(Entries=[{"Source": f"capacity.{n}", "DetailType": "Tick", "Detail": body}])

        for n, tr in enumerate(s.traffic):
            for i, at_us in enumerate(tr.arrivals.tolist()):
                sim.schedule(at_us / 1_000_000, send, n, tr, i)
        sim.run_until_idle(max_seconds=max_seconds)

        def depth(name: str) -> int:
            attributes = sqs.get_queue_attributes(
                QueueUrl=urls[name], AttributeNames=["ApproximateNumberOfMessages",
                                                     "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

        out: dict[str, dict[str, int]] = {}
        for f in s.functions:
            runs = [r for r in sim.invocations if r.function_name == f.name]
            out[f.name] = {
                "invocations": len(runs),
                "errors": sum(1 for r in runs if r.function_error is not None),
                "throttles": sum(1 for t in sim.throttles if t.function_name == f.name),
                "cold_starts": sum(1 for r in runs if r.cold_start),
                "async_dropped": depth(f"{f.name}-async-dlq"),
            }
        for q in s.queues:
            deleted = sum(p.stats.deleted for p in sim.pollers.values() if p.queue_arn == arns[q.name])
            out[q.name] = {"deleted": deleted,
                           "dead_lettered": depth(f"{q.name}-dlq") if q.max_receive_count is not None else 0}
        return out


def simulate_pipeline(settings: PipelineSettings, ceilings: Ceilings, arrivals: np.ndarray, *, seed: int = 0,
                      durations: Durations = Durations(), api_stage: ApiStageThrottle | None = None,
                      dynamodb_limits: DynamoDBLimits | None = None, init_model: InitDurationModel | None = None,
                      max_seconds: float = 3600) -> tuple[dict[str, int], np.ndarray]:
    """Play `capacity.pipeline.run_pipeline`'s scenario in `lambdasim.Simulator`: the real orders
    pipeline (its template with `settings`' parameters, its handlers on moto), one POST /orders
    request with one valid order at each of `arrivals`. Returns the counts `PipelineResult.counts()`
    has, and the latency of each order accepted (202) and processed (from its request to the end of
    the invocation whose batch settled its record as succeeded), in seconds."""
    from .. import pipeline
    from ..pipeline import traffic

    options: dict[str, Any] = {"logs": False, "metrics": False}
    if init_model is not None:
        options["init_model"] = init_model
    if dynamodb_limits is not None:
        options["dynamodb_limits"] = dynamodb_limits
    rng = random.Random(seed)
    bodies = [json.dumps({"orders": [traffic.order(rng, order_id(n))]}) for n in range(len(arrivals))]
    with ceilings.simulator(seed, **options) as sim:
        stack = sim.deploy(pipeline.TEMPLATE, stack_name="orders", parameters=settings.template_parameters(),
                           validate=False)
        ingest, processor = stack.function_name("IngestFunction"), stack.function_name("ProcessorFunction")
        durations.set_in(sim, ingest, processor, settings.processor_memory_mb)
        url = stack.outputs["ApiUrl"]
        if api_stage is not None:
            api_id = url.split("//")[1].split(".")[0]
            sim.client("apigateway").update_stage(restApiId=api_id, stageName="Prod", patchOperations=[
                {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(api_stage.rate_per_s)},
                {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(api_stage.burst)}])
        statuses: dict[int, int] = {}
        accepted_at: dict[str, float] = {}
        started = sim.now

        def post(n: int) -> None:
            status = sim.http("POST", url, headers={"Content-Type": "application/json"}, body=bodies[n]).status
            statuses[status] = statuses.get(status, 0) + 1
            if status == 202:
                accepted_at[order_id(n)] = arrivals[n] / 1_000_000

        for n, at_us in enumerate(np.asarray(arrivals).tolist()):
            sim.schedule(at_us / 1_000_000, post, n)
        sim.run_until_idle(max_seconds=max_seconds)

        processed_at: dict[str, float] = {}
        for poller in sim.pollers.values():
            for batch in poller.batches:
                if batch.settlement is None or batch.ended is None:
                    continue
                done = set(batch.settlement.succeeded)
                for record in batch.records:
                    if record["messageId"] in done:
                        order = json.loads(record["body"])["detail"]["data"]["order_id"]
                        ended = (batch.ended - started).total_seconds()
                        processed_at[order] = min(processed_at.get(order, ended), ended)
        latencies = np.array(sorted(processed_at[o] - accepted_at[o] for o in processed_at if o in accepted_at))
        sqs = sim.client("sqs")
        # The orders the stack gave up on: the queue's redrive and the rule's undeliverable events
        # (the model's dead-lettered count); no poison is sent, which has a DLQ of its own.
        dead_lettered = sum(int(sqs.get_queue_attributes(QueueUrl=stack.outputs[output], AttributeNames=[
            "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
            for output in ("RedriveDeadLetterQueueUrl", "RuleDeadLetterQueueUrl"))
        orders_table = stack.outputs["OrdersTableName"]
        runs = sim.invocations
        counts = {
            "api_429_method": sum(1 for t in sim.api_gateway.throttles if t.scope == "method"),
            "api_429_account": sum(1 for t in sim.api_gateway.throttles if t.scope == "account"),
            "status_202": statuses.get(202, 0),
            "status_500": statuses.get(500, 0),
            "status_502": statuses.get(502, 0),
            "status_503": statuses.get(503, 0),
            "ingest_invocations": sum(1 for r in runs if r.function_name == ingest),
            "ingest_throttles": sum(1 for t in sim.throttles if t.function_name == ingest),
            "put_events_throttles": sum(1 for t in sim.eventbridge.throttles if t.scope == "PutEvents"),
            "target_throttles": sum(1 for t in sim.eventbridge.throttles if t.scope == "invocations"),
            "processor_invocations": sum(1 for r in runs if r.function_name == processor),
            "processor_throttles": sum(1 for t in sim.throttles if t.function_name == processor),
            "orders_table_throttles": sum(1 for r in sim.dynamodb.refusals if r.table == orders_table),
            "processed": len(processed_at),
            "dead_lettered": dead_lettered,
        }
        return counts, latencies
