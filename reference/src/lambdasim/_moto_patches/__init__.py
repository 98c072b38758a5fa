"""The moto adapter: every change the simulator makes to moto, applied on start and removed on
stop, one module per patched service.

moto is pinned to exactly 5.2.5 (requirements.txt); `verify()` checks the version and that each
patched attribute still exists with the parameters the patches expect, and `apply()` refuses to
run otherwise. tests/lambdasim/test_moto_patches.py calls it, so an upgrade of moto fails loudly
there instead of subtly in a lesson.

Each module says what it patches and why in its docstring, holds the replacements and the
routes it adds, and lists its patches in `patches()`, with what moto's originals must look like
(`_patching.Patch`; `verify()` checks them):

- `lambda_invoke`: every route into a function (Invoke, InvokeAsync, other services, S3 and
  Logs pushes) reaches the simulator's `LambdaService`; the Docker path raises.
- `sns`: SNS `lambda` subscriptions send AWS's event.
- `eventbridge`: every rule target through `sim.eventbridge` (retry policy, target DLQ), the
  `Ref` of an event bus.
- `sqs`: exact cached counters, long polling on virtual time, FIFO redelivery order, the message
  move task API and DeadLetterQueueSourceArn; FIFO queues' throughput quotas, enforced by
  `sqs_fifo_throughput.SqsFifoThroughput` (RequestThrottled).
- `event_source_mappings`: moto's own pollers off; mappings checked as AWS checks them; the
  simulator's pollers told what changed; streams' LATEST positions.
- `lambda_config`: event invoke config per qualifier, DeadLetterConfig, TenancyConfig, reserved and
  provisioned concurrency, GetAccountSettings.
- `cloudformation`: every AWS::Lambda::Function property, AWS::Lambda::EventInvokeConfig; its
  parser's patch waits for moto's CloudFormation to be imported (1-3 s, templates only).
- `dynamodb`: DynamoDB's throughput ceilings (provisioned and on-demand tables, partitions,
  burst capacity) enforced through `dynamodb_capacity`, and ConsumedCapacity as AWS computes it;
  a condition expression's text lexed once.
- `dispatch`: moto finds a request's route once per URL and the response method by name, and
  serialises a DynamoDB AttributeValue by its type tags; a client's SigV4 request goes unsigned
  (its key and scope only) while moto's own IAM enforcement is off.
- `apigateway`: `AWS::ApiGateway::RestApi` and `AWS::ApiGatewayV2::Api` (with its stage) from an
  OpenAPI `Body` (SAM's REST and HTTP APIs, their Lambda authorizers), applied with moto's
  CloudFormation.
- `schedules`: changes to scheduled rules and Scheduler schedules reach the simulator, which
  fires them; bad expressions refused; AWS::Scheduler::Schedule in CloudFormation.
- `s3`: a template bucket's `NotificationConfiguration` (SAM's `S3` events), applied with moto's
  CloudFormation.
- `iam`: a template role's ManagedPolicyArns attached (AWS managed policies from moto's copy of
  their documents) and its inline policy documents stored as JSON, for IAM enforcement.
- `custom_resources`: Lambda-backed custom resources (Create/Update/Delete requests, answered by
  the function's PUT to the response URL, caught in process for http.client and urllib3).
- `cloudwatch`: alarms start INSUFFICIENT_DATA and keep their state on update, PutCompositeAlarm,
  DescribeAlarmHistory, SetAlarmState told to the simulator (which evaluates the alarms),
  AWS::CloudWatch::Alarm and AWS::CloudWatch::CompositeAlarm in CloudFormation.
- `kinesis`: the per-shard (and on-demand stream) write and read ceilings, enforced by
  `kinesis_throughput.KinesisThroughput` (ProvisionedThroughputExceededException).
- `dynamodb_streams`: DynamoDB Streams' 24-hour retention (trimmed records,
  TrimmedDataAccessException) and UpdateTimeToLive told to the TTL sweeper.
- `pipes`: changes to EventBridge Pipes told to the simulator, which runs them; a pipe's state
  follows its desired state; AWS::Pipes::Pipe in CloudFormation.
- `iot`: the IoT rules engine moto lacks: iot-data Publish hands messages to `iot.IotRulesEngine`
  (the 128 KB payload limit, Basic Ingest topics), rule SQL parsed at creation
  (SqlParseException), AWS::IoT::TopicRule in CloudFormation.
- `logs`: Logs Insights queries (StartQuery, GetQueryResults, DescribeQueries, and StopQuery,
  which moto lacks) answered by `logs_insights.LogsInsights`, which runs the query language.
- `firehose`: Direct PUT streams to S3 delivered by `firehose.FirehoseDelivery` (buffering hints,
  Lambda transformation, dynamic partitioning, prefixes, Parquet conversion) instead of one object
  per put; destinations checked at creation; PutRecordBatch's limits;
  AWS::KinesisFirehose::DeliveryStream in CloudFormation.
- `glue`: AWS::Glue::Database and AWS::Glue::Table in CloudFormation (no patch of moto's Glue;
  `cloudformation` adds the types).
- `deployments`: versions keep the code they were published with; AWS::Lambda::Version (with
  `Fn::GetAtt Version`), AWS::Lambda::Alias, AWS::CodeDeploy::Application and ::DeploymentGroup in
  CloudFormation; CodeDeploy's PutLifecycleEventHookExecutionStatus answered by `deployments.Deployments`.
- `location`: Amazon Location Service, which moto lacks: routes for boto3's `location` client
  answered by `location.LocationService` (geofence collections, trackers, device positions),
  AWS::Location::GeofenceCollection, Tracker and TrackerConsumer in CloudFormation.
- `athena`: Athena queries (StartQueryExecution, GetQueryExecution, GetQueryResults,
  StopQueryExecution, ListQueryExecutions) run by `athena.Athena` over the Glue tables' S3 objects.

The simulator's other parts never import this package: they read moto's state through
`lambdasim.moto_state`, and only the `Simulator` facade applies and removes the patches
(layers: README.md, "Layers"). A new simulated service that must patch moto adds a module of
the same shape and its name to `_MODULES`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .. import moto_state
from ..errors import SimulatorError
from . import (
    _patching,
    _shared,
    apigateway,
    athena,
    cloudformation,
    cloudwatch,
    custom_resources,
    deployments,
    dispatch,
    dynamodb,
    dynamodb_kinesis,
    dynamodb_stream_shards,
    dynamodb_streams,
    event_source_mappings,
    eventbridge,
    firehose,
    iam,
    iot,
    kinesis,
    lambda_config,
    lambda_invoke,
    location,
    logs,
    pipes,
    s3,
    sns,
    schedules,
    sqs,
)
from ._patching import EXPECTED_MOTO_VERSION, Patch
from .athena import set_athena
from .custom_resources import set_custom_resources
from .deployments import set_deployments
from .dispatch import _route
from .dynamodb import set_dynamodb_capacity
from .dynamodb_kinesis import set_dynamodb_kinesis
from .eventbridge import set_eventbridge_targets
from .iot import set_iot_rules_engine
from .firehose import set_firehose_delivery
from .kinesis import set_kinesis_throughput
from .location import set_location
from .logs import set_logs_insights
from .sqs import set_message_moves, set_sqs_fifo_throughput

if TYPE_CHECKING:
    from ..service import LambdaService

__all__ = ["EXPECTED_MOTO_VERSION", "apply", "patched_attributes", "remove", "set_athena",
           "set_eventbridge_targets", "set_firehose_delivery",
           "set_custom_resources", "set_deployments", "set_dynamodb_capacity", "set_dynamodb_kinesis",
           "set_iot_rules_engine",
           "set_kinesis_throughput",
           "set_location", "set_logs_insights",
           "set_message_moves", "set_sqs_fifo_throughput", "verify"]

# The service modules, in the order their patches are installed.
_MODULES = (lambda_invoke, event_source_mappings, sns, eventbridge, sqs, lambda_config, schedules, cloudwatch,
            cloudformation,
            custom_resources, deployments, kinesis, dynamodb, dynamodb_streams, dynamodb_stream_shards, dynamodb_kinesis,
            logs, athena, pipes, firehose, iot,
            location, s3, dispatch)

_applied: list[Patch] = []
_cloudformation_import: _patching.AfterImport | None = None
_owner_name = _patching.owner_name


def _patch_table() -> list[Patch]:
    """The patches applied on start (`_cloudformation_patches` are the others)."""
    return [patch for module in _MODULES for patch in module.patches()]


def _cloudformation_patches() -> list[Patch]:
    return (cloudformation.deferred_patches() + apigateway.deferred_patches() + s3.deferred_patches()
            + custom_resources.deferred_patches() + iam.deferred_patches())


def verify() -> list[str]:
    """Problems that make the patches unsafe for the installed moto (empty list: all good).
    Every patch is checked, moto's CloudFormation's included (this imports it)."""
    return _patching.problems(_patch_table() + _cloudformation_patches(), _applied)


def patched_attributes() -> list[str]:
    """`Owner.attribute` of every patch, for reports and tests."""
    return [patch.label for patch in _patch_table() + _cloudformation_patches()]


def apply(service: LambdaService) -> None:
    """Install every patch and route Lambda invocations to `service` (moto's CloudFormation's
    patches when it is imported, if it is not yet)."""
    global _cloudformation_import
    if _applied:
        raise SimulatorError("moto patches are already applied (another Simulator is running?)")
    _install(_patch_table())
    if cloudformation.DEFERRED_MODULE in sys.modules:
        _install(_cloudformation_patches())
    else:
        _cloudformation_import = _patching.AfterImport(
            cloudformation.DEFERRED_MODULE, lambda module: _install(_cloudformation_patches()))
        _cloudformation_import.install()
    _shared.service = service


def _install(patches: list[Patch]) -> None:
    _patching.install(patches, _applied)
    _route.cache_clear()  # the route tables may have changed


def remove() -> None:
    """Put moto back exactly as it was."""
    global _cloudformation_import
    moto_state.set_poller_listeners(None, None)
    moto_state.set_stream_listener(None)
    moto_state.set_alarm_listeners(None, None)
    if _cloudformation_import is not None:
        _cloudformation_import.uninstall()
        _cloudformation_import = None
    set_eventbridge_targets(None)
    set_message_moves(None)
    set_custom_resources(None)
    set_deployments(None)
    set_dynamodb_capacity(None)
    set_kinesis_throughput(None)
    set_logs_insights(None)
    set_iot_rules_engine(None)
    set_location(None)
    set_athena(None)
    set_firehose_delivery(None)
    set_sqs_fifo_throughput(None)
    _patching.uninstall(_applied)
    _route.cache_clear()
    _shared.service = None
