"""EventBridge Pipes run on the virtual clock (`sim.pipes`): moto stores pipes, this plays them.

A RUNNING pipe with a DynamoDB stream, Kinesis stream or SQS queue source gets the pollers
Lambda's event source mappings use (`StreamPoller`, `SqsPoller`; a Kinesis record reaches the
pipe flattened, without Lambda's `kinesis` object): the same reading, batching (BatchSize,
MaximumBatchingWindowInSeconds), filtering (FilterCriteria with EventBridge's event patterns,
filtered records dropped and checkpointed or deleted), retries, bisection
(OnPartialBatchItemFailure AUTOMATIC_BISECT), record age and retry limits and dead-letter
queue for streams, and maxReceiveCount redrive for SQS. Where a mapping invokes its function, a
pipe's poller runs the batch through the pipe (`PipeDelivery`), with the rules in `rules.pipes`:

- the records, a JSON array, go to the enrichment Lambda function, invoked synchronously; its
  response (an array, possibly shorter) is what the target gets;
- the target: a Lambda function invoked synchronously with the events as a JSON array (its
  `batchItemFailures` response is honoured: partial batch failure); an event bus (PutEvents,
  10 entries a call, source "Pipe <name>", detail-type "Event from <eventSource>"); an SQS queue
  (SendMessageBatch, 10 a call, each event as a JSON body);
- a failed enrichment or target (a function error, a refused PutEvents entry or message) fails
  the batch, which the poller retries as it retries a mapping's failed batch; a throttled
  Lambda function is retried like a throttled invocation.

Modelled where AWS is silent: the target is invoked at the instant the batch is (not after the
enrichment's duration); the execution ends when the later of the two invocations ends; a
refused event bus entry or SQS message fails the whole batch (AWS retries the remainder); the
dead-letter record of a stream source has the shape of Lambda's on-failure record with the pipe's
ARN as `functionArn`. A pipe costs nothing while no pipe exists: the runner is told of changes
(`_moto_patches.pipes`) and polls only what a write wakes.
"""

from __future__ import annotations

import json
import uuid as uuidlib
from dataclasses import dataclass, field
from random import Random
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .. import moto_state
from ..clock import ScheduledCall
from ..rules import pipes as rules
from .sqs import Batch, SqsPoller
from .streams import StreamBatch, StreamPoller

if TYPE_CHECKING:
    from ..runtime import InvocationRecord
    from ..simulator import Simulator
    from . import PollerManager

_TARGET_KINDS = ("lambda", "events", "sqs")


@dataclass(eq=False)
class PipeExecution:
    """One batch through the pipe: enrichment, then target. Its `function_error`, `error_type`,
    `payload`, `request_id`, `version`, `start_us` and `total_us` are what the pollers settle the
    batch with, as they settle a Lambda invocation."""

    pipe: str
    number: int
    identifiers: tuple[str, ...]  # the source records' sequence numbers or message ids
    start_us: int
    retry: bool  # some of these records went through the pipe before
    total_us: int = 0
    enriched: int | None = None  # events the enrichment returned (None: no enrichment)
    delivered: int = 0  # events the target accepted
    error: str | None = None  # why the execution failed
    function_error: str | None = None
    error_type: str | None = None
    payload: bytes = field(default=b"null", repr=False)
    request_id: str = ""  # the execution's own id (seeded); the Lambda invocations have theirs
    version: str | None = None
    invocations: list[InvocationRecord] = field(default_factory=list, repr=False)

    def fail(self, error_type: str, message: str) -> PipeExecution:
        self.error = f"{error_type}: {message}"
        self.function_error, self.error_type = "Unhandled", error_type
        self.payload = json.dumps({"errorType": error_type, "errorMessage": message}).encode("utf-8")
        return self


class PipeDelivery:
    """What a pipe does with a batch its poller read (see the module docstring)."""

    def __init__(self, sim: Simulator, runner: PipeRunner, description: dict[str, Any]):
        self._sim = sim
        self._runner = runner
        self.name: str = description["Name"]
        self.arn: str = description["Arn"]
        self.role_arn: str = description.get("RoleArn", "")
        self.enrichment: str | None = description.get("Enrichment") or None
        self.target: str = description["Target"]
        self.source: str = description["Source"]
        self.target_parameters: dict[str, Any] = dict(description.get("TargetParameters") or {})
        self.enrichment_template: str | None = (description.get("EnrichmentParameters") or {}).get("InputTemplate")
        self.target_template: str | None = self.target_parameters.get("InputTemplate")
        self.names = rules.PipeNames(self.arn, self.name, self.source, self.enrichment or "", self.target)
        kind = self.target.split(":")[2] if self.target.count(":") >= 5 else ""
        if kind not in _TARGET_KINDS:
            raise ValueError(f"the simulator delivers to Lambda, event bus and SQS targets, not {self.target}")
        self.target_kind = kind

    def run(self, identifiers: list[str], records: list[dict[str, Any]]) -> PipeExecution:
        """Run a batch through the pipe now. Raises `errors.Throttled` (a Lambda function
        refused) and LookupError (a function is gone)."""
        now = self._sim._scheduler.now_us
        execution = PipeExecution(self.name, len(self._runner.executions) + 1, tuple(identifiers), now,
                                  retry=self._runner.seen(self.arn, identifiers),
                                  request_id=self._runner.new_execution_id())
        end = now
        events: list[Any] = list(records)
        if self.enrichment:
            try:
                events = self._transformed(self.enrichment_template, events)
            except ValueError as problem:
                self._finish(execution, end, None).fail("TransformationFailed", str(problem))
                return execution
            invocation = self._invoke(self.enrichment, events)
            execution.invocations.append(invocation)
            end = max(end, invocation.start_us + invocation.total_us)
            if invocation.function_error is not None:
                self._finish(execution, end, invocation)
                return execution
            try:
                events = rules.enrichment_output(invocation.payload)
            except ValueError:
                self._finish(execution, end, None).fail("InvalidEnrichmentResponse", "the response is not JSON")
                return execution
            execution.enriched = len(events)
        try:
            events = self._transformed(self.target_template, events)
        except ValueError as problem:
            self._finish(execution, end, None).fail("TransformationFailed", str(problem))
            return execution
        if events:
            if self.target_kind == "lambda":
                invocation = self._invoke(self.target, events)
                execution.invocations.append(invocation)
                end = max(end, invocation.start_us + invocation.total_us)
                self._finish(execution, end, invocation)
                if invocation.function_error is None:
                    execution.delivered = len(events)
                return execution
            try:
                refused = self._put_events(events) if self.target_kind == "events" else self._send_messages(events)
            except ValueError as problem:
                refused = str(problem)
            except ClientError as error:  # the call failed after botocore's retries (a 500, a throttle)
                refused = f"{error.operation_name} failed ({error.response['Error']['Code']})"
            if refused:
                self._finish(execution, end, None).fail("TargetFailure", refused)
                return execution
            execution.delivered = len(events)
        self._finish(execution, end, None)
        return execution

    def _transformed(self, template: str | None, events: list[Any]) -> list[Any]:
        """Each event through the input template, if there is one (eb-pipes-input-transformation.html)."""
        if template is None:
            return events
        now = self._sim.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        return [rules.transform(template, event, self.names, now) for event in events]

    def _finish(self, execution: PipeExecution, end_us: int, invocation: InvocationRecord | None) -> PipeExecution:
        execution.total_us = end_us - execution.start_us
        if invocation is not None:
            execution.version = invocation.version
            execution.function_error, execution.error_type = invocation.function_error, invocation.error_type
            execution.payload = invocation.payload
            if invocation.function_error is not None:
                execution.error = f"{invocation.error_type or 'Error'} in {invocation.function_name}"
        self._runner.executions.append(execution)
        return execution

    def _invoke(self, function_arn: str, events: list[Any]) -> InvocationRecord:
        service = self._sim._service
        try:
            config, invoked_arn = moto_state.resolve_function(
                function_arn.split(":")[4], function_arn.split(":")[3], function_arn, None)
        except Exception:  # moto's ResourceNotFoundException
            raise LookupError(f"Function {function_arn} not found") from None
        request = service.new_request(config, invoked_arn, json.dumps(events).encode("utf-8"), "RequestResponse",
                                      source="pipes")
        return service.execute(request)

    def _put_events(self, events: list[Any]) -> str | None:
        entries = rules.bus_entries(self.name, self.source, self.target, events,
                                    self.target_parameters.get("EventBridgeEventBusParameters"))
        client = self._sim.client("events")
        for start in range(0, len(entries), rules.EVENT_BUS_BATCH_LIMIT):
            answer = client.put_events(Entries=entries[start:start + rules.EVENT_BUS_BATCH_LIMIT])
            if answer.get("FailedEntryCount"):
                failed = next(e for e in answer["Entries"] if e.get("ErrorCode"))
                return f"PutEvents refused {answer['FailedEntryCount']} entries ({failed['ErrorCode']})"
        return None

    def _send_messages(self, events: list[Any]) -> str | None:
        sqs = self._sim.client("sqs")
        account, name = self.target.split(":")[4:6]
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        for start in range(0, len(events), rules.SQS_BATCH_LIMIT):
            chunk = events[start:start + rules.SQS_BATCH_LIMIT]
            answer = sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "MessageBody": event if isinstance(event, str) else json.dumps(event)}
                for i, event in enumerate(chunk)])
            if answer.get("Failed"):
                return f"SendMessageBatch refused {len(answer['Failed'])} messages ({answer['Failed'][0]['Code']})"
        return None


class PipeStreamPoller(StreamPoller):
    """A pipe's DynamoDB or Kinesis stream source: Lambda's stream poller, delivering through the
    pipe (a Kinesis record flattened, `rules.pipes.kinesis_record`)."""

    # A pipe's poller opens its shards when the pipe is created: LATEST is the end of the stream now.
    latest_from_now = True

    def __init__(self, sim: Simulator, delivery: PipeDelivery, kind: str):
        super().__init__(sim, delivery.arn, kind)
        self.delivery = delivery

    def _identity_role(self) -> str:
        return self.delivery.role_arn

    def _delivered(self, record: dict[str, Any]) -> dict[str, Any]:
        return rules.kinesis_record(record) if self.kind == "kinesis" else record

    def _deliver(self, batch: StreamBatch) -> tuple[Any, str | None]:
        return self.delivery.run(batch.sequence_numbers, batch.records), None


class PipeSqsPoller(SqsPoller):
    """A pipe's SQS queue source: Lambda's SQS poller, delivering through the pipe."""

    def __init__(self, sim: Simulator, delivery: PipeDelivery):
        super().__init__(sim, delivery.arn)
        self.delivery = delivery

    def _deliver(self, batch: Batch) -> Any:
        return self.delivery.run(batch.message_ids, batch.records)


@dataclass(eq=False)
class RunningPipe:
    """A pipe the simulator runs: its poller and what went through it."""

    name: str
    arn: str
    poller: PipeStreamPoller | PipeSqsPoller | None
    problem: str | None = None  # why the simulator does not run it

    def summary(self, executions: list[PipeExecution]) -> dict[str, int]:
        """Counts for lessons: records read (an SQS message once per receive), filtered out,
        executions, retries, events enriched and delivered, failed executions, stream records
        sent to the dead-letter queue (an SQS source's go through the queue's redrive policy)."""
        mine = [e for e in executions if e.pipe == self.name]
        records_in = filtered = dead_lettered = 0
        if isinstance(self.poller, PipeStreamPoller):
            stats = self.poller.stats
            records_in, filtered, dead_lettered = stats.read, stats.filtered, stats.discarded
        elif isinstance(self.poller, PipeSqsPoller):
            records_in, filtered = self.poller.stats.received, self.poller.stats.filtered
        return {
            "records_in": records_in,
            "filtered": filtered,
            "executions": len(mine),
            "retries": sum(e.retry for e in mine),
            "enriched": sum(e.enriched or 0 for e in mine),
            "delivered": sum(e.delivered for e in mine),
            "failed": sum(e.function_error is not None for e in mine),
            "dead_lettered": dead_lettered,
        }


class PipeRunner:
    """Every pipe of the simulation, run as its DesiredState says (`sim.pipes`)."""

    def __init__(self, sim: Simulator, manager: PollerManager):
        self._sim = sim
        self._manager = manager
        self._rng = Random(f"{sim.seed}/pipes")  # execution ids
        self.pipes: dict[str, RunningPipe] = {}  # by name
        self.executions: list[PipeExecution] = []
        self._tried: dict[str, set[str]] = {}  # by pipe ARN: identifiers already run through it
        self._discovery: ScheduledCall | None = None

    def start(self) -> None:
        moto_state.set_pipes_listener(self._pipes_changed)

    def stop(self) -> None:
        moto_state.set_pipes_listener(None)
        if self._discovery is not None:
            self._discovery.cancel()
            self._discovery = None

    def summary(self, name: str) -> dict[str, int]:
        """What went through pipe `name` (`RunningPipe.summary`)."""
        return self.current()[name].summary(self.executions)

    def current(self) -> dict[str, RunningPipe]:
        """The pipes, after applying any change not yet read."""
        if self._discovery is not None:
            self._discovery.cancel()
            self._discover()
        return self.pipes

    def new_execution_id(self) -> str:
        return str(uuidlib.UUID(int=self._rng.getrandbits(128), version=4))

    def seen(self, pipe_arn: str, identifiers: list[str]) -> bool:
        """True if any of these records went through the pipe before (and remember them)."""
        tried = self._tried.setdefault(pipe_arn, set())
        again = any(i in tried for i in identifiers)
        tried.update(identifiers)
        return again

    def _pipes_changed(self) -> None:
        if self._discovery is None:
            self._discovery = self._sim._scheduler.call_at(self._sim._clock.micros, self._discover)

    def _discover(self) -> None:
        self._discovery = None
        client = self._sim.client("pipes")
        described = []
        kwargs: dict[str, Any] = {}
        while True:
            page = client.list_pipes(**kwargs)
            described += [client.describe_pipe(Name=p["Name"]) for p in page.get("Pipes", [])]
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        seen = set()
        for description in described:
            name = description["Name"]
            seen.add(name)
            running = self.pipes.get(name)
            if running is None or running.arn != description["Arn"]:
                running = self.pipes[name] = self._open(description)
            if running.poller is None:
                continue
            try:
                running.poller.delivery = PipeDelivery(self._sim, self, description)  # an update's new target
                config = rules.mapping_config(description)
            except ValueError as problem:
                running.poller.problem = running.problem = str(problem)
                continue
            running.poller.configure(config)
            self._manager.host(running.arn, running.poller)  # indexed by its source, known once configured
        for name in [n for n in self.pipes if n not in seen]:
            gone = self.pipes.pop(name)
            if gone.poller is not None:
                gone.poller.delete()
                self._manager.unhost(gone.arn)

    def _open(self, description: dict[str, Any]) -> RunningPipe:
        try:
            kind = rules.source_kind(description["Source"])
            rules.mapping_config(description)
            delivery = PipeDelivery(self._sim, self, description)
        except ValueError as problem:
            return RunningPipe(description["Name"], description["Arn"], None, str(problem))
        poller = PipeSqsPoller(self._sim, delivery) if kind == "sqs" else PipeStreamPoller(self._sim, delivery, kind)
        return RunningPipe(description["Name"], description["Arn"], poller)
