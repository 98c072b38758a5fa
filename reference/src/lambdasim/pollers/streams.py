"""Lambda's pollers for one Kinesis or DynamoDB Streams event source mapping, on the virtual clock.

One `StreamPoller` per mapping (`PollerManager` creates and reconfigures them from
`ListEventSourceMappings`). The rules are in `lambdasim.sources.streams` (with their AWS pages);
this module plays them:

- **Read** through the public API (Kinesis ListShards/GetShardIterator/GetRecords; DynamoDB
  Streams DescribeStream/GetShardIterator/GetRecords), from the StartingPosition (TRIM_HORIZON,
  LATEST as of the mapping's creation, AT_TIMESTAMP for Kinesis). A write to the stream wakes
  the poller of its shard (`_moto_patches`), so an idle stream schedules nothing.
- **Order** (with-kinesis.html, services-kinesis-parameters.html ParallelizationFactor): one
  batch in flight per shard; with ParallelizationFactor N up to 10, records are spread over N
  lanes by partition key (Kinesis) or item key (DynamoDB) and each lane keeps one batch in
  flight, so order holds per key.
- **Batch**: up to BatchSize records and 6 MB; with MaximumBatchingWindowInSeconds, a lane that
  has less than a batch waits until the window (from its oldest unread record) ends.
- **Filter**: records that match no filter are skipped (never sent, checkpoint moves on).
- **Invoke** synchronously (`LambdaService.execute`, source "kinesis" / "dynamodb") and settle
  at the invocation's end (`sources.streams.settle_stream_batch`): success moves the checkpoint;
  a failure retries from the checkpoint (the lowest failed sequence number with
  ReportBatchItemFailures), bisects with BisectBatchOnFunctionError (no retry used), and after
  MaximumRetryAttempts or past MaximumRecordAgeInSeconds discards the records to the on-failure
  destination (SQS, SNS or S3) with AWS's record.
- **Retry delay** (modelled: AWS documents no interval): failed records are invoked again (a
  retry or a bisected half) after `sources.streams.retry_delay_s`, 1 s doubling per consecutive
  failure up to 60 s (`poller.retry_delay_s` can be replaced).
- **Throttles** (`errors.Throttled`): the batch is retried after 1, 2, 4 ... 20 s (the SQS
  poller's modelled backoff) without using a retry, until its records pass their maximum age.
- **Kinesis read ceilings** (`rules.kinesis`, with-kinesis.html: the mapping "shares read
  throughput with other consumers of the shard"): the poller's GetRecords calls count against
  the shard's 5 calls and 2 MiB per second like any consumer's; a refused call
  (ProvisionedThroughputExceededException, answered to the poller without SDK retries, as
  Lambda's poller backs off itself) leaves the shard's position where it was and the stream is
  read again after Lambda's base polling interval, 1 s (`stats.read_throttles`).
- **IteratorAge**: at each invocation, the age of the batch's last record (ms) is kept in
  `batches` and `stats` and added to the AWS/Lambda IteratorAge metric (Maximum) when metrics
  are on (monitoring-metrics-types.html).

- **Retention**: a record older than the stream's retention (Kinesis RetentionPeriodHours,
  DynamoDB Streams 24 h) has left the stream: it is skipped like a record past
  MaximumRecordAgeInSeconds (condition `RecordAgeExceeded`, modelled). DynamoDB Streams trims
  records older than 24 h (`_moto_patches.dynamodb_streams`): a poller whose position was
  trimmed before it read it (a mapping disabled for longer) gets TrimmedDataAccessException,
  counts it in `stats.trimmed_reads` and reads on from the oldest record left (modelled: AWS
  does not say what Lambda's poller does; the trimmed records never reach the function).

- **Tumbling windows** (TumblingWindowInSeconds; services-kinesis-windows.html,
  services-ddb-windows.html): windows aligned on record arrival (epoch multiples of the window,
  modelled); a batch never spans two windows; the event adds `window` {start, end}, `state`,
  `shardId`, `eventSourceARN`, `isFinalInvokeForWindow`, `isWindowTerminatedEarly`; the `state`
  the function returns is passed to the next invocation of the window (kept from before a
  failed batch); a response without `state` is a failed invocation (retried like an error); when the window ends (a later record, or its end time with nothing left) the
  function gets a final invocation with no records and isFinalInvokeForWindow true, then the
  state starts empty. The 1 MB state limit (isWindowTerminatedEarly) is not modelled.

Not modelled: enhanced fan-out consumers,
shard splits and merges after the mapping starts, a ParallelizationFactor changed after start.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid as uuidlib
from dataclasses import dataclass, field
from random import Random
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .. import moto_state
from ..clock import MICROS_PER_SECOND, ScheduledCall, from_micros, seconds_to_micros
from ..errors import Throttled
from ..rules import invoke as inv
from ..rules import kinesis as kinesis_rules
from ..rules.sqs_scaling import throttle_retry_delay_s
from ..sources import dynamodb as ddb_source
from ..sources import kinesis as kinesis_source
from ..sources import streams as rules
from .sqs import _error_text

if TYPE_CHECKING:
    from ..runtime import InvocationRecord
    from ..simulator import Simulator

_EVENT_OVERHEAD = len('{"Records": []}')
# DynamoDB Streams' answer to a read past the 24-hour retention (API_streams_GetRecords.html).
TRIMMED_CODE = "TrimmedDataAccessException"


@dataclass
class StreamPollerStats:
    """What one stream mapping's poller did (counts of records unless named otherwise)."""

    reads: int = 0  # GetRecords calls
    trimmed_reads: int = 0  # DynamoDB Streams GetRecords refused: the position was trimmed
    read_throttles: int = 0  # GetRecords calls a Kinesis read ceiling refused
    read: int = 0  # records read from the stream
    filtered: int = 0  # matched no filter: skipped
    batches: int = 0  # invocations attempted (throttled tries excluded)
    invocations: int = 0
    failed_invocations: int = 0  # function error or timeout
    partial_failures: int = 0  # ReportBatchItemFailures responses with failures
    throttled: int = 0
    succeeded: int = 0  # records processed (checkpoint moved past them)
    bisections: int = 0
    discarded: int = 0  # records given up: retries exhausted or too old
    discarded_by_age: int = 0
    destination_failures: int = 0
    iterator_age_ms: float = 0.0  # at the latest invocation
    max_iterator_age_ms: float = 0.0


@dataclass
class _Item:
    record: dict[str, Any]
    text: str
    seq: str
    arrival_us: int


@dataclass(eq=False)
class StreamBatch:
    """One invocation of the mapping (a retry is a new batch)."""

    number: int
    shard_id: str
    lane: int
    records: list[dict[str, Any]] = field(repr=False)
    sequence_numbers: list[str] = field(repr=False)
    attempt: int  # 1 for the first invocation of these records, 2 for their first retry ...
    invoked_us: int = 0
    ended_us: int | None = None
    iterator_age_ms: float = 0.0
    throttles: int = 0
    state: str = "invoking"  # invoking, throttled, settled
    invocation: InvocationRecord | None = field(default=None, repr=False)
    settlement: rules.StreamSettlement | None = None
    window: dict[str, Any] | None = None  # tumbling windows: window, state, shardId ... (AWS's keys)

    def event(self) -> dict[str, Any]:
        return {"Records": self.records, **(self.window or {})}


@dataclass(frozen=True)
class Discard:
    """Records given up, and what was sent to the on-failure destination."""

    at_us: int
    shard_id: str
    sequence_numbers: tuple[str, ...]
    condition: str
    destination: str | None
    delivered: bool
    record: dict[str, Any] = field(repr=False)
    error: str | None = None


@dataclass(eq=False)
class _Lane:
    shard_id: str
    index: int
    todo: list[_Item] = field(default_factory=list)
    busy: bool = False
    attempts: int = 0  # invocations of the head records so far (1 after the first failure ...)
    consecutive_failures: int = 0  # failed invocations since the lane's last success (retry delay)
    pieces: list[int] = field(default_factory=list)  # sizes of the bisected batches still due
    call: ScheduledCall | None = None  # window timer, retry delay or throttle retry
    waiting_window: bool = False  # `call` is the batching window's timer
    window_start_us: int | None = None  # tumbling window in progress
    window_state: Any = None  # the state the function returned last in this window
    final_call: ScheduledCall | None = None  # the window's end
    last: StreamBatch | None = None


@dataclass(eq=False)
class _Shard:
    shard_id: str
    iterator: str | None = None
    after: str | None = None  # last sequence number read
    lanes: list[_Lane] = field(default_factory=list)
    closed: bool = False  # a closed DynamoDB stream shard read to its end (no next iterator)
    finished: bool = False  # ... and every record of it processed: its children may start


class StreamPoller:
    """The pollers of one Kinesis or DynamoDB stream event source mapping."""

    latest_from_now = False  # LATEST: the end of the stream when the shards are opened, not at creation

    def __init__(self, sim: Simulator, uuid: str, kind: str):
        self._sim = sim
        self._scheduler = sim._scheduler
        self.kind = kind  # "kinesis" or "dynamodb"
        # Lambda's poller backs off from a throttled Kinesis read itself (`_read`): no SDK retries,
        # which in a scheduled callback would all land at the same instant and all be refused.
        self._client = sim.client("kinesis", config=Config(retries={"total_max_attempts": 1})) \
            if kind == "kinesis" else sim.client("dynamodbstreams")
        self.uuid = uuid
        self.mapping_arn = ""
        self.function_arn = ""
        self.stream_arn = ""
        self.state = "Creating"
        self.problem: str | None = None
        self.batch_size = rules.DEFAULT_BATCH_SIZE
        self.window_us = 0
        self.parallelization = 1
        self.bisect = False
        self.max_retry = rules.INFINITE
        self.max_age_s = rules.INFINITE
        self.report_batch_item_failures = False
        self.on_failure: str | None = None
        self.starting_position = "TRIM_HORIZON"
        self.filters: tuple[Any, ...] = ()
        self.stats = StreamPollerStats()
        self.batches: list[StreamBatch] = []
        self.discards: list[Discard] = []
        self._region = sim.region
        self._role = ""
        self._shards: dict[str, _Shard] = {}
        self._read_call: ScheduledCall | None = None
        self.retention_s = 24 * 3600  # DynamoDB Streams: 24 h; Kinesis: the stream's RetentionPeriodHours
        self.tumbling_us = 0
        # Seconds to wait before failed records are invoked again, by consecutive failures: a
        # modelling choice (`sources.streams.retry_delay_s`); assign another function to change it.
        self.retry_delay_s = rules.retry_delay_s
        self._rng = Random(f"{sim.seed}/streams/{uuid}")  # ids of records that never ran, S3 keys

    # -- configuration --------------------------------------------------------------------------
    @property
    def polling(self) -> bool:
        return self.state == "Enabled" and self.problem is None

    def configure(self, config: dict[str, Any]) -> None:
        self.mapping_arn = config.get("EventSourceMappingArn", "")
        self.function_arn = config["FunctionArn"]
        self.stream_arn = config["EventSourceArn"]
        self._region = self.stream_arn.split(":")[3]
        self.state = config.get("State", "Enabled")
        self.problem = None
        self.batch_size = int(config.get("BatchSize") or rules.DEFAULT_BATCH_SIZE)
        self.window_us = int(config.get("MaximumBatchingWindowInSeconds") or 0) * MICROS_PER_SECOND
        self.parallelization = max(1, min(rules.MAX_PARALLELIZATION_FACTOR,
                                          int(config.get("ParallelizationFactor") or 1)))
        self.bisect = bool(config.get("BisectBatchOnFunctionError"))
        retry = config.get("MaximumRetryAttempts")
        self.max_retry = rules.INFINITE if retry is None else int(retry)
        age = config.get("MaximumRecordAgeInSeconds")
        self.max_age_s = rules.INFINITE if age is None else int(age)
        self.report_batch_item_failures = "ReportBatchItemFailures" in (config.get("FunctionResponseTypes") or [])
        self.on_failure = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination") or None
        self.starting_position = config.get("StartingPosition") or "TRIM_HORIZON"
        self.tumbling_us = int(config.get("TumblingWindowInSeconds") or 0) * MICROS_PER_SECOND
        try:
            self.filters = rules.compile_filters(config.get("FilterCriteria"))
            self._role = self._identity_role()
            if not self._shards:
                self._open_shards()
        except (ValueError, LookupError, ClientError, BotoCoreError) as problem:
            self.problem = f"PROBLEM: {problem}"
        if self.polling:
            self._request_read()
            for shard in self._shards.values():
                for lane in shard.lanes:
                    self._kick(lane)

    def _identity_role(self) -> str:
        """The role records name as their invokeIdentityArn: the function's execution role."""
        return self._sim.client("lambda").get_function_configuration(FunctionName=self.function_arn).get("Role", "")

    def delete(self) -> None:
        self.state = "Deleted"
        if self._read_call is not None:
            self._read_call.cancel()
            self._read_call = None

    def _open_shards(self) -> None:
        start = moto_state.stream_mapping_start(self.uuid)  # LATEST positions, AT_TIMESTAMP
        if self.kind == "kinesis":
            summary = self._client.describe_stream_summary(StreamName=self.stream_arn.split("/", 1)[1])
            self.retention_s = int(summary["StreamDescriptionSummary"].get("RetentionPeriodHours", 24)) * 3600
            shards = self._client.list_shards(StreamName=self.stream_arn.split("/", 1)[1])["Shards"]
        else:
            shards = self._client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
            described = {description["ShardId"] for description in shards}
            # Streams.html: "process a parent shard before it processes a child shard"; LATEST
            # starts at the end of the open shards.
            shards = [d for d in shards if "EndingSequenceNumber" not in d["SequenceNumberRange"]] \
                if self.starting_position == "LATEST" else \
                [d for d in shards if d.get("ParentShardId") not in described]
        for description in shards:
            shard_id = description["ShardId"]
            shard = _Shard(shard_id, lanes=[_Lane(shard_id, i) for i in range(self.parallelization)])
            position = self.starting_position
            kwargs: dict[str, Any] = {"ShardId": shard_id}
            latest = (start.get("latest") or {}).get(shard_id)
            if position == "LATEST" and latest:
                name = "StartingSequenceNumber" if self.kind == "kinesis" else "SequenceNumber"
                kwargs.update({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", name: str(latest)})
            elif position == "LATEST":
                # A mapping's start was fixed at its creation: nothing was in the shard then.
                kwargs["ShardIteratorType"] = "LATEST" if self.latest_from_now else "TRIM_HORIZON"
            elif position == "AT_TIMESTAMP" and self.kind == "kinesis":
                kwargs.update(ShardIteratorType="AT_TIMESTAMP", Timestamp=start.get("timestamp") or 0)
            else:
                kwargs["ShardIteratorType"] = "TRIM_HORIZON"
            if self.kind == "kinesis":
                shard.iterator = self._client.get_shard_iterator(
                    StreamName=self.stream_arn.split("/", 1)[1], **kwargs)["ShardIterator"]
            else:
                shard.iterator = self._client.get_shard_iterator(StreamArn=self.stream_arn, **kwargs)["ShardIterator"]
            self._shards[shard_id] = shard

    def _drained(self, shard: _Shard) -> bool:
        return all(not lane.busy and not lane.todo and (lane.call is None or lane.call.cancelled)
                   for lane in shard.lanes)

    def _open_children(self) -> None:
        """Mark the closed shards whose records are all processed finished, and start reading
        the shards whose parent is finished (or gone), from their first record."""
        for shard in self._shards.values():
            if shard.closed and self._drained(shard):
                shard.finished = True
        shards = self._client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        described = {description["ShardId"] for description in shards}
        for description in shards:
            shard_id, parent = description["ShardId"], description.get("ParentShardId")
            if shard_id in self._shards:
                continue
            if parent in described and not (parent in self._shards and self._shards[parent].finished):
                continue
            shard = _Shard(shard_id, lanes=[_Lane(shard_id, i) for i in range(self.parallelization)])
            shard.iterator = self._client.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            self._shards[shard_id] = shard
            self._read_shard(shard)

    # -- reading ----------------------------------------------------------------------------------
    def records_added(self) -> None:
        """A write reached the stream: read at the current instant."""
        if self.polling:
            self._request_read()

    def _request_read(self) -> None:
        if self._read_call is None or self._read_call.cancelled:
            self._read_call = self._scheduler.call_at(self._scheduler.now_us, self._read)

    def _read(self) -> None:
        self._read_call = None
        if not self.polling:
            return
        throttled = False
        try:
            for shard in self._shards.values():
                try:
                    self._read_shard(shard)
                except ClientError as error:
                    code = error.response.get("Error", {}).get("Code")
                    if code == TRIMMED_CODE:
                        # The stream trimmed records the poller had not read (a mapping disabled
                        # past the retention): they are lost; read on from the oldest one left.
                        self.stats.trimmed_reads += 1
                        shard.iterator = self._client.get_shard_iterator(
                            StreamArn=self.stream_arn, ShardId=shard.shard_id,
                            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                        self._read_shard(shard)
                        continue
                    if code != kinesis_rules.THROUGHPUT_EXCEEDED_CODE:
                        raise
                    self.stats.read_throttles += 1
                    throttled = True
        except ClientError as error:
            self.problem = f"PROBLEM: {error}"
            return
        if any(shard.closed and not shard.finished and self._drained(shard) for shard in self._shards.values()):
            self._open_children()
        if throttled:  # with-kinesis.html: Lambda polls each shard at a base rate of once per second
            self._read_call = self._scheduler.call_at(
                self._scheduler.now_us + seconds_to_micros(kinesis_rules.LAMBDA_POLL_INTERVAL_S), self._read)
        for shard in self._shards.values():
            for lane in shard.lanes:
                self._kick(lane)

    def _read_shard(self, shard: _Shard) -> None:
        limit = 10_000 if self.kind == "kinesis" else 1_000
        now = self._scheduler.now_us
        while shard.iterator:
            if self.kind == "kinesis":
                answer = self._client.get_records(ShardIterator=shard.iterator, Limit=limit)
            else:
                answer = self._client.get_records(ShardIterator=shard.iterator, Limit=limit)
            self.stats.reads += 1
            if self.kind == "dynamodb" and not answer.get("NextShardIterator"):
                shard.iterator, shard.closed = None, True  # API_streams_GetRecords.html: closed
            else:
                shard.iterator = answer.get("NextShardIterator") or shard.iterator
            records = answer.get("Records", [])
            for raw in records:
                self._route(shard, raw, now)
            if len(records) < limit:
                return

    def _route(self, shard: _Shard, raw: dict[str, Any], now: int) -> None:
        self.stats.read += 1
        if self.kind == "kinesis":
            record = kinesis_source.build_record(raw, shard_id=shard.shard_id, stream_arn=self.stream_arn,
                                                 region=self._region, role_arn=self._role)
            seq, key = record["kinesis"]["sequenceNumber"], record["kinesis"]["partitionKey"]
            arrival_us = int(round(record["kinesis"]["approximateArrivalTimestamp"] * 1_000_000))
            passes = kinesis_source.record_matches(record, self.filters)
        else:
            record = ddb_source.build_record(raw, stream_arn=self.stream_arn, region=self._region)
            seq = record["dynamodb"]["SequenceNumber"]
            key = json.dumps(record["dynamodb"]["Keys"], sort_keys=True)
            created = raw["dynamodb"].get("ApproximateCreationDateTime")
            arrival_us = int(created.timestamp() * 1_000_000) if hasattr(created, "timestamp") else now
            passes = ddb_source.record_matches(record, self.filters)
        shard.after = seq
        if not passes:
            self.stats.filtered += 1
            return
        lane = shard.lanes[_lane_of(key, len(shard.lanes))]
        record = self._delivered(record)
        lane.todo.append(_Item(record, json.dumps(record), seq, min(arrival_us, now)))

    def _delivered(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record as the consumer gets it: Lambda's shape (a pipe's poller may reshape it)."""
        return record

    # -- batches ----------------------------------------------------------------------------------
    def _kick(self, lane: _Lane) -> None:
        """Start the lane's next batch if it has one and nothing is in flight."""
        if lane.busy or not self.polling:
            return
        if lane.call is not None and not lane.call.cancelled:
            if not (lane.waiting_window and len(lane.todo) >= self.batch_size):
                return  # a throttle retry is due, or the window is still gathering
            lane.call.cancel()  # the batch filled up before its window ended
            lane.call, lane.waiting_window = None, False
        now = self._scheduler.now_us
        self._expire(lane, now)
        if self.tumbling_us and lane.window_start_us is not None:
            end = lane.window_start_us + self.tumbling_us
            in_window = bool(lane.todo) and self._window_of(lane.todo[0]) == lane.window_start_us
            if not in_window and (lane.todo or now >= end):
                self._final_invoke(lane)
                return
            if not lane.todo:
                if lane.final_call is None or lane.final_call.cancelled:
                    lane.final_call = self._scheduler.call_at(end, self._window_ended, lane)
                return
        if not lane.todo:
            lane.pieces.clear()
            shard = self._shards[lane.shard_id]
            if shard.closed and not shard.finished and self._drained(shard):
                self._request_read()  # the shard is done: open its children
            return
        wanted = lane.pieces[0] if lane.pieces else self.batch_size
        if self.tumbling_us:  # a batch never spans two windows
            head = self._window_of(lane.todo[0])
            same = 0
            while same < min(wanted, len(lane.todo)) and self._window_of(lane.todo[same]) == head:
                same += 1
            wanted = same
            lane.window_start_us = head
        if (not lane.pieces and lane.attempts == 0 and len(lane.todo) < wanted and self.window_us
                and now < lane.todo[0].arrival_us + self.window_us):
            lane.call = self._scheduler.call_at(lane.todo[0].arrival_us + self.window_us, self._timer, lane)
            lane.waiting_window = True
            return
        items: list[_Item] = []
        size = _EVENT_OVERHEAD
        for item in lane.todo[:wanted]:
            extra = len(item.text) + (2 if items else 0)
            if items and size + extra > inv.SYNC_REQUEST_LIMIT_BYTES:
                break
            items.append(item)
            size += extra
        batch = StreamBatch(number=len(self.batches) + 1, shard_id=lane.shard_id, lane=lane.index,
                            records=[i.record for i in items], sequence_numbers=[i.seq for i in items],
                            attempt=lane.attempts + 1)
        if self.tumbling_us:
            batch.window = self._window_fields(lane, final=False)
        self.batches.append(batch)
        self._invoke(lane, batch)

    # -- tumbling windows (services-kinesis-windows.html, services-ddb-windows.html) ---------------
    def _window_of(self, item: _Item) -> int:
        # Windows are aligned on the record's arrival time (modelled: epoch multiples of the window).
        return item.arrival_us - item.arrival_us % self.tumbling_us

    def _window_fields(self, lane: _Lane, *, final: bool) -> dict[str, Any]:
        start = lane.window_start_us or 0
        return {
            "window": {"start": _iso_s(start), "end": _iso_s(start + self.tumbling_us)},
            "state": lane.window_state if lane.window_state is not None else {},
            "shardId": lane.shard_id,
            "eventSourceARN": self.stream_arn,
            "isFinalInvokeForWindow": final,
            "isWindowTerminatedEarly": False,
        }

    def _window_ended(self, lane: _Lane) -> None:
        lane.final_call = None
        self._kick(lane)

    def _final_invoke(self, lane: _Lane) -> None:
        if lane.final_call is not None:
            lane.final_call.cancel()
            lane.final_call = None
        batch = StreamBatch(number=len(self.batches) + 1, shard_id=lane.shard_id, lane=lane.index, records=[],
                            sequence_numbers=[], attempt=lane.attempts + 1,
                            window=self._window_fields(lane, final=True))
        self.batches.append(batch)
        self._invoke(lane, batch)

    def _timer(self, lane: _Lane) -> None:
        lane.call, lane.waiting_window = None, False
        self._kick(lane)

    def _expire(self, lane: _Lane, now: int) -> None:
        if not lane.todo:
            return
        age_s = self.retention_s if self.max_age_s == rules.INFINITE else min(self.max_age_s, self.retention_s)
        limit = now - age_s * MICROS_PER_SECOND
        old = 0
        while old < len(lane.todo) and lane.todo[old].arrival_us < limit:
            old += 1
        if old:
            items = lane.todo[:old]
            # The last invocation tells about these records only if they were its head (retries).
            tried = lane.last if lane.attempts and lane.last is not None \
                and lane.last.sequence_numbers[0] == items[0].seq else None
            del lane.todo[:old]
            lane.pieces.clear()
            lane.attempts = 0
            self.stats.discarded_by_age += old
            self._discard(lane, items, rules.RECORD_AGE_EXCEEDED, tried)

    def _deliver(self, batch: StreamBatch) -> tuple[InvocationRecord, str | None]:
        """Invoke the function with the batch, synchronously, at this instant: the invocation and
        the function whose IteratorAge it reports. LookupError: the function is gone. (A pipe's
        poller delivers to its enrichment and target instead: `pollers.pipes`.)"""
        service = self._sim._service
        try:
            config, invoked_arn = moto_state.resolve_function(
                self.function_arn.split(":")[4], self.function_arn.split(":")[3], self.function_arn, None)
        except Exception:
            raise LookupError("Function not found") from None
        if batch.window is not None:
            payload = json.dumps(batch.event()).encode("utf-8")
        else:
            payload = ('{"Records": [' + ", ".join(json.dumps(r) for r in batch.records) + "]}").encode("utf-8")
        request = service.new_request(config, invoked_arn, payload, "RequestResponse", source=self.kind)
        return service.execute(request), config.name

    def _invoke(self, lane: _Lane, batch: StreamBatch) -> None:
        now = self._scheduler.now_us
        lane.busy = True
        try:
            record, reporting_function = self._deliver(batch)
        except LookupError as missing:
            self.problem = f"PROBLEM: {missing}"
            lane.busy = False
            return
        except Throttled:
            batch.throttles += 1
            batch.state = "throttled"
            self.stats.throttled += 1
            lane.busy = False
            lane.call = self._scheduler.call_at(now + seconds_to_micros(throttle_retry_delay_s(batch.throttles)),
                                                self._retry_throttled, lane, batch)
            return
        batch.state = "invoking"
        batch.invoked_us = now
        batch.invocation = record
        if batch.records:
            age = (now - lane.todo[len(batch.records) - 1].arrival_us) / 1000
            batch.iterator_age_ms = age
            self.stats.iterator_age_ms = age
            self.stats.max_iterator_age_ms = max(self.stats.max_iterator_age_ms, age)
            if reporting_function is not None:
                self._sim._telemetry.add_iterator_age(reporting_function, now, age)
        self.stats.batches += 1
        self.stats.invocations += 1
        self._scheduler.call_at(record.start_us + record.total_us, self._settle, lane, batch, record)

    def _retry_throttled(self, lane: _Lane, batch: StreamBatch) -> None:
        lane.call = None
        if not self.polling:
            return
        now = self._scheduler.now_us
        self._expire(lane, now)
        if batch.records and (not lane.todo or lane.todo[0].seq != batch.sequence_numbers[0]):
            self._kick(lane)  # the batch's records expired meanwhile
            return
        self._invoke(lane, batch)

    def _settle(self, lane: _Lane, batch: StreamBatch, record: InvocationRecord) -> None:
        now = self._scheduler.now_us
        lane.busy = False
        lane.last = batch
        batch.state = "settled"
        batch.ended_us = now
        outcome: rules.Outcome
        if record.function_error is None:
            outcome = rules.Returned(record.payload)
        else:
            outcome = rules.FunctionError(_error_text(record))
            self.stats.failed_invocations += 1
        settlement = rules.settle_stream_batch(batch.sequence_numbers, outcome,
                                               report_batch_item_failures=self.report_batch_item_failures,
                                               tumbling_window=batch.window is not None)
        batch.settlement = settlement
        if batch.window is not None:
            if not settlement.failed or settlement.succeeded:
                # The settlement checked that the response is an object with a state.
                lane.window_state = json.loads(record.payload)["state"]
            if batch.window["isFinalInvokeForWindow"]:
                retry_left = self.max_retry == rules.INFINITE or lane.attempts < self.max_retry
                if not settlement.failed or not retry_left:
                    lane.window_start_us, lane.window_state, lane.attempts = None, None, 0
                else:
                    lane.attempts += 1
                self._go_on(lane, retrying=settlement.failed and retry_left)
                return
        n, done = len(batch.records), settlement.succeeded
        del lane.todo[:done]
        self.stats.succeeded += done
        if lane.pieces:
            lane.pieces[0] -= done
            if lane.pieces[0] <= 0:
                lane.pieces.pop(0)
        discarded = False
        if not settlement.failed:
            lane.attempts = 0
        else:
            if settlement.rule is rules.StreamRule.PARTIAL_FAILURE:
                self.stats.partial_failures += 1
            failing = n - done
            if done:
                lane.attempts = 0
            if self.bisect and failing > 1:
                self.stats.bisections += 1
                half = math.ceil(failing / 2)
                if lane.pieces:
                    lane.pieces.pop(0)
                lane.pieces[:0] = [half, failing - half]
            else:
                lane.attempts += 1
                if self.max_retry != rules.INFINITE and lane.attempts > self.max_retry:
                    items = lane.todo[:failing]
                    del lane.todo[:failing]
                    if lane.pieces:
                        lane.pieces.pop(0)
                    self._discard(lane, items, rules.RETRY_ATTEMPTS_EXHAUSTED, batch)
                    lane.attempts = 0
                    discarded = True
                # Otherwise the next batch is read again from the checkpoint (up to BatchSize).
        self._go_on(lane, retrying=settlement.failed and not discarded)

    def _go_on(self, lane: _Lane, *, retrying: bool) -> None:
        """After a settlement: the lane's next batch now, or, when it invokes failed records again
        (a retry or a bisected half), after the modelled retry delay."""
        if not retrying:
            lane.consecutive_failures = 0
            self._kick(lane)
            return
        lane.consecutive_failures += 1
        delay_us = seconds_to_micros(self.retry_delay_s(lane.consecutive_failures))
        lane.call = self._scheduler.call_at(self._scheduler.now_us + delay_us, self._timer, lane)

    # -- the on-failure destination ---------------------------------------------------------------
    def _discard(self, lane: _Lane, items: list[_Item], condition: str, batch: StreamBatch | None) -> None:
        now = self._scheduler.now_us
        self.stats.discarded += len(items)
        invocation = batch.invocation if batch is not None else None
        record = rules.failure_record(
            batch_info_key=kinesis_source.BATCH_INFO_KEY if self.kind == "kinesis" else ddb_source.BATCH_INFO_KEY,
            shard_id=lane.shard_id, stream_arn=self.stream_arn, sequence_numbers=[i.seq for i in items],
            arrivals=[from_micros(items[0].arrival_us), from_micros(items[-1].arrival_us)], at=from_micros(now),
            request_id=invocation.request_id if invocation is not None else self._uuid(),
            function_arn=self.function_arn, condition=condition,
            approximate_invoke_count=batch.attempt if batch is not None else 0,
            executed_version=invocation.version if invocation is not None else None,
            function_error=invocation.function_error if invocation is not None else None)
        target = self.on_failure
        delivered, error = False, None
        if target:
            try:
                self._send(target, record, items, lane.shard_id, now)
                delivered = True
            except Exception as e:  # a missing queue/topic/bucket, moto's errors
                error = f"{type(e).__name__}: {e}"
                self.stats.destination_failures += 1
        self.discards.append(Discard(now, lane.shard_id, tuple(i.seq for i in items), condition, target,
                                     delivered, record, error))

    def _send(self, target: str, record: dict[str, Any], items: list[_Item], shard_id: str, now: int) -> None:
        service, region, account, resource = target.split(":", 5)[2:6]
        body = json.dumps(record)
        if service == "sqs":
            sqs = self._sim.client("sqs") if region == self._sim.region else self._sim.client("sqs", region_name=region)
            url = sqs.get_queue_url(QueueName=resource, QueueOwnerAWSAccountId=account)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=body)
        elif service == "sns":
            self._sim.client("sns").publish(TopicArn=target, Message=body)
        elif service == "s3":
            payload = '{"Records": [' + ", ".join(i.text for i in items) + "]}"
            document = {**record, "payload": payload}
            key = rules.s3_failure_key(self.uuid, shard_id, from_micros(now), self._uuid())
            self._sim.client("s3").put_object(Bucket=resource, Key=key, Body=json.dumps(document).encode("utf-8"),
                                              ContentType="application/json")
        else:
            raise ValueError(f"unsupported on-failure destination {target}")

    def _uuid(self) -> str:
        return str(uuidlib.UUID(int=self._rng.getrandbits(128), version=4))

    def __repr__(self) -> str:
        return f"StreamPoller(uuid={self.uuid!r}, kind={self.kind!r}, state={self.state!r}, stream={self.stream_arn!r})"


def _iso_s(us: int) -> str:
    return from_micros(us).strftime("%Y-%m-%dT%H:%M:%SZ")


def _lane_of(key: str, lanes: int) -> int:
    if lanes == 1:
        return 0
    return int(hashlib.md5(key.encode("utf-8")).hexdigest(), 16) % lanes
