"""Event source mappings and streams: moto's own pollers off, the simulator's told what changed.

moto invokes functions synchronously inside `send_message`, `put_record(s)` and each DynamoDB
write, one record at a time, and deletes messages or stream records on "success". Those hooks
iterate `lambda_event_source_mappings` on the queue, table or stream: a property that always
reads as empty turns them off. The mappings themselves stay in moto's Lambda backend, readable
through the public API, for the simulator's own pollers (`lambdasim.pollers`).

Creating, updating or deleting an event source mapping (API or CloudFormation) tells the pollers
to re-read the mappings through `ListEventSourceMappings` (`moto_state.mappings_changed`), at
once and at no cost while nothing changes (re-reading every virtual second costs ~0.6 ms of real
time per virtual second: 2 s per simulated hour). An SQS or stream mapping AWS would reject
(BatchSize, batching window, FIFO rules, a function timeout over the queue's visibility timeout)
is rejected with AWS's 400 error. `Stream.put_record` (Kinesis) and `StreamShard.add` (DynamoDB
Streams) tell the stream pollers that records arrived (`moto_state.records_added`); creating a
stream mapping fixes its LATEST position (`moto_state.stream_mapping_start`; moto also drops
StartingPositionTimestamp from its answers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import moto_state
from ._patching import Patch


def _no_mappings(self: Any) -> dict[str, Any]:
    return {}


def _ignore_mappings(self: Any, value: Any) -> None:
    return None


_NO_MAPPINGS = property(_no_mappings, _ignore_mappings, doc="lambdasim: moto's own pollers are off")


def _check_sqs_mapping(backend: Any, source_arn: Any, function_name: Any, batch_size: Any, window_s: Any,
                       scaling_config: Any = None, starting_position: Any = None) -> None:
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.core.exceptions import JsonRESTError

    from ..sources.sqs import mapping_config_problem, visibility_timeout_problem

    if not isinstance(source_arn, str) or source_arn.split(":")[2:3] != ["sqs"]:
        return
    problem = mapping_config_problem(
        int(batch_size) if batch_size is not None else None,
        int(window_s) if window_s is not None else None,
        fifo=source_arn.endswith(".fifo"),
        maximum_concurrency=_maximum_concurrency(scaling_config),
        starting_position=starting_position,
    )
    queue = moto_state.queue_by_arn(source_arn)
    if not problem and queue is not None and isinstance(function_name, str):
        try:
            function_timeout = int(backend.get_function(function_name).timeout)
        except JsonRESTError:  # an unknown function, version or alias: moto's own call answers it
            function_timeout = None
        if function_timeout is not None:
            problem = visibility_timeout_problem(int(queue.visibility_timeout), function_timeout)
    if problem:
        raise InvalidParameterValueException(problem)


def _maximum_concurrency(scaling_config: Any) -> int | None:
    value = scaling_config.get("MaximumConcurrency") if isinstance(scaling_config, dict) else None
    return None if value is None else int(value)


def _check_stream_mapping(source_arn: Any, spec: dict[str, Any], *, creating: bool = False) -> None:
    from moto.awslambda.exceptions import InvalidParameterValueException

    from ..sources.streams import mapping_config_problem

    service = source_arn.split(":")[2] if isinstance(source_arn, str) and source_arn.count(":") >= 5 else ""
    if service not in ("kinesis", "dynamodb"):
        return
    problem = mapping_config_problem(spec, service=service, creating=creating)
    if problem:
        raise InvalidParameterValueException(problem)


def _wrap_kinesis_put(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_record(self: Any, partition_key: str, explicit_hash_key: str, data: str) -> Any:
        result = original(self, partition_key, explicit_hash_key, data)
        moto_state.records_added(self.arn)
        return result

    put_record.__wrapped__ = original  # type: ignore[attr-defined]
    return put_record


def _wrap_ddb_stream_add(original: Callable[..., Any]) -> Callable[..., Any]:
    def add(self: Any, old: Any, new: Any) -> None:
        original(self, old, new)
        moto_state.records_added(f"{self.table.table_arn}/stream/{self.table.latest_stream_label}")

    add.__wrapped__ = original  # type: ignore[attr-defined]
    return add


def _capture_stream_start(esm: Any) -> None:
    """Where a stream mapping starts reading, fixed at its creation as on AWS: for LATEST the
    last sequence number of each shard now, for AT_TIMESTAMP the timestamp (moto does not
    return StartingPositionTimestamp)."""
    arn = esm.event_source_arn
    service = arn.split(":")[2]
    start: dict[str, Any] = {"timestamp": esm.starting_position_timestamp, "latest": {}}
    if esm.starting_position == "LATEST":
        if service == "kinesis":
            from moto.kinesis.models import kinesis_backends

            stream = kinesis_backends[esm.account_id][esm.region].describe_stream(stream_arn=arn, stream_name=None)
            start["latest"] = {s.shard_id: s.get_max_sequence_number() for s in stream.shards.values()}
        elif service == "dynamodb":
            from moto.dynamodb.models import dynamodb_backends

            table = dynamodb_backends[esm.account_id][esm.region].get_table(arn.split(":", 5)[5].split("/")[1])
            shard = table.stream_shard
            if shard is not None and shard.items:
                start["latest"] = {shard.id: shard.starting_sequence_number + len(shard.items) - 1}
    setattr(esm, moto_state.STREAM_START_ATTR, start)


def _wrap_esm_create(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        _check_sqs_mapping(self, spec.get("EventSourceArn"), spec.get("FunctionName"), spec.get("BatchSize"),
                           spec.get("MaximumBatchingWindowInSeconds"), spec.get("ScalingConfig"),
                           spec.get("StartingPosition"))
        _check_stream_mapping(spec.get("EventSourceArn"), spec, creating=True)
        esm = original(self, spec)
        qualifier = moto_state.qualifier_in(str(spec.get("FunctionName", "")))
        if qualifier:  # moto keeps the version the alias pointed to; AWS keeps the alias (API_CreateEventSourceMapping.html)
            esm.function_arn = ":".join(esm.function_arn.split(":")[:7] + [qualifier])
        if esm.event_source_arn.split(":")[2] in ("kinesis", "dynamodb"):
            _capture_stream_start(esm)
        moto_state.mappings_changed()
        return esm

    create_event_source_mapping.__wrapped__ = original  # type: ignore[attr-defined]
    return create_event_source_mapping


def _wrap_esm_update(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_event_source_mapping(self: Any, uuid: str, spec: dict[str, Any]) -> Any:
        esm = self.get_event_source_mapping(uuid)
        if esm is not None:
            _check_sqs_mapping(self, esm.event_source_arn, spec.get("FunctionName", esm.function_arn),
                               spec.get("BatchSize", esm.batch_size),
                               spec.get("MaximumBatchingWindowInSeconds", esm.max_batch_window),
                               spec.get("ScalingConfig", esm.scaling_config))
            _check_stream_mapping(esm.event_source_arn, spec)
        result = original(self, uuid, spec)
        moto_state.mappings_changed()
        return result

    update_event_source_mapping.__wrapped__ = original  # type: ignore[attr-defined]
    return update_event_source_mapping


def _wrap_esm_delete(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_event_source_mapping(self: Any, uuid: str) -> Any:
        result = original(self, uuid)
        moto_state.mappings_changed()
        return result

    delete_event_source_mapping.__wrapped__ = original  # type: ignore[attr-defined]
    return delete_event_source_mapping


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.awslambda.models import LambdaBackend
    from moto.dynamodb.models.table import StreamShard, Table
    from moto.kinesis.models import Stream
    from moto.sqs.models import Queue

    return [
        Patch(Queue, "lambda_event_source_mappings", _NO_MAPPINGS, "instance", "SQS ESM hook"),
        Patch(Table, "lambda_event_source_mappings", _NO_MAPPINGS, "instance", "DynamoDB stream ESM hook"),
        Patch(Stream, "lambda_event_source_mappings", _NO_MAPPINGS, "instance", "Kinesis ESM hook"),
        Patch(LambdaBackend, "create_event_source_mapping", None, ("self", "spec"), "SQS pollers",
              wrap=_wrap_esm_create),
        Patch(LambdaBackend, "update_event_source_mapping", None, ("self", "uuid", "spec"), "SQS pollers",
              wrap=_wrap_esm_update),
        Patch(LambdaBackend, "delete_event_source_mapping", None, ("self", "uuid"), "SQS pollers",
              wrap=_wrap_esm_delete),
        Patch(Stream, "put_record", None, ("self", "partition_key", "explicit_hash_key", "data"),
              "Kinesis writes wake the stream pollers", wrap=_wrap_kinesis_put),
        Patch(StreamShard, "add", None, ("self", "old", "new"), "DynamoDB stream writes wake the stream pollers",
              wrap=_wrap_ddb_stream_add),
    ]
