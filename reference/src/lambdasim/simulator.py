"""`Simulator`: moto in-process, a virtual clock, a seed, and the Lambda service played on top.

    with Simulator(seed=7) as sim:
        sim.create_function(FunctionName="hello", Handler="handlers.hello", code_dir="src/")
        lam = boto3.client("lambda")
        lam.invoke(FunctionName="hello", Payload=b'{"name": "Ada"}')
        sim.run_for(60)                      # virtual seconds; no real waiting

Everything in the process sees the virtual time while the simulation runs (freezegun), and
`time.sleep` on the thread that started the simulation is virtual: inside a handler it spends
the invocation's time (and is cut off at the function's timeout); outside, it runs the
simulation forward. The seed fixes every random choice: request ids, moto's ids, `sim.random`,
the global `random` module, and `uuid.uuid4()` called from handler code.
"""

from __future__ import annotations

import atexit
import functools
import gc
import os
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING, Any

from . import _moto_patches, moto_state, running, sdk_models
from .alarms import AlarmEvaluator
from .deployments import Deployments
from .apigateway import FrontDoor
from .async_queue import AsyncInvocationQueue
from .athena import Athena
from .custom_resources import CustomResources
from .clock import Scheduler, ScheduledCall, VirtualClock, seconds_to_micros, to_micros
from .environments import EnvironmentPool, ExecutionEnvironment, ThrottleRecord
from .faults import FaultInjector
from .errors import SimulatorAlreadyRunning, SimulatorError, SimulatorNotRunning
from .functions import CodeLoader, HandlerMapping, placeholder_zip
from .iot import IotRulesEngine
from .location import LocationService
from .metric_recording import MetricRecorder, MetricRecording, schedule_replay
from .dynamodb_capacity import DynamoDBCapacity, DynamoDBLimits
from .dynamodb_kinesis import KinesisStreamingDestinations
from .dynamodb_ttl import TtlSweeper
from .firehose import FirehoseDelivery
from .iam import IamEnforcement
from .kinesis_throughput import KinesisThroughput
from .logs_insights import LogsInsights
from .sqs_fifo_throughput import SqsFifoThroughput
from .rules import cold_start
from .rules import concurrency as cc
from .rules import kinesis as kinesis_rules
from .rules import sqs_fifo as sqs_fifo_rules
from .runtime import DurationSpec, InvocationRecord, Runtime
from .eventbridge import EventBridgeTargets
from .pollers import PipeRunner, PollerManager
from .redrive import MessageMoveTasks
from .schedules import Schedules
from .service import LambdaService, RecursionStop
from .service_metrics import ServiceMetrics
from .sources.apigateway import HttpResponse
from .telemetry import MeteringReport, Telemetry, Tracing

if TYPE_CHECKING:
    from .pollers import SqsPoller, StreamPoller
    from .sam import Stack

DEFAULT_START = datetime(2026, 1, 1, tzinfo=timezone.utc)
DEFAULT_REGION = "us-east-1"
# A base duration for a handler that does nothing slow: small and fixed, so that runs are
# reproducible; set per function with Simulator.set_duration.
DEFAULT_DURATION_MS = 1.0
DEFAULT_ROLE_NAME = "lambdasim-execution-role"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

# Callers whose sleeps stay real: the machinery hosting the simulation (Jupyter's kernel sleeps
# 0.5 ms after every cell on the main thread; test runners; event loops). Everything else on the
# simulation's thread (handlers, lesson code, botocore's retry backoff) sleeps on virtual time.
_REAL_SLEEP_PACKAGES = frozenset({
    "ipykernel", "IPython", "jupyter_client", "jupyter_core", "nbclient", "tornado", "zmq", "asyncio",
    "threading", "concurrent", "queue", "selectors", "traitlets", "comm", "_pytest", "pytest",
    "pytest_timeout", "pluggy",
})

active_simulator = running.active_simulator


@functools.cache
def _leave_the_heap_to_the_os_at_exit() -> None:
    """At interpreter exit, freeze the garbage collector's objects instead of collecting them:
    the hundreds of thousands a simulation leaves (moto's state, the SDK's models, code) took
    a second or two to collect as the process ended, longer than a Jupyter kernel's shutdown is
    given before it is terminated. Registered once, by the first simulator a process starts."""
    atexit.register(gc.freeze)


class Simulator:
    """A local AWS Lambda service on moto, on a virtual clock, reproducible from a seed.

    Args:
        seed: fixes every random choice of the simulation.
        start: the virtual time the simulation starts at (aware datetime or ISO 8601 text).
        region: the AWS Region of the clients and functions.
        default_duration_ms: base duration of an invocation for functions without
            `set_duration`.
        account_concurrency: the account's concurrency quota in the Region (AWS's default
            1,000; gettingstarted-limits.html).
        scaling_rate: (environments, seconds): how many new execution environments each
            function may add per period (AWS: 1,000 every 10 s, scaling-behavior.html);
            None for no limit. Smaller values make the rule testable at small scale.
        idle_lifetime: seconds an idle environment lives before it is reclaimed: a number, a
            (low, high) range drawn per environment from the seed, or None (never). AWS
            documents no figure; the default (5-15 min) is illustrative.
        init_model: the platform part of the INIT duration of a cold start
            (`rules.cold_start.InitDurationModel`; illustrative constants).
        logs: write each invocation's log (START/END/REPORT and the function's output) to
            CloudWatch Logs; with False, function output goes to the process's stdout and no
            EMF metrics are extracted (`lambdasim.telemetry`).
        metrics: put the AWS/Lambda metrics and EMF metrics into CloudWatch.
        athena: run Athena queries over the Glue tables' S3 objects (`sim.athena`,
            `lambdasim.athena`); with False moto answers its canned results.
        alarms: evaluate CloudWatch alarms on the virtual clock (`sim.alarms`,
            `lambdasim.alarms`); with False moto only stores them.
        kinesis_limits: the Kinesis throughput ceilings enforced on every stream
            (`rules.kinesis.KinesisLimits`: AWS's per-shard and on-demand defaults;
            `KinesisLimits(enforce=False)` turns them off). `sim.kinesis` records refusals.
        dynamodb_limits: the DynamoDB throughput ceilings enforced on every table and global
            secondary index (`DynamoDBLimits`: AWS's defaults; `enabled=False` turns them off;
            also `sim.dynamodb_limits`). `sim.dynamodb` records refusals and consumed units.
        service_metrics: publish the AWS/SQS, AWS/Events, AWS/DynamoDB and AWS/Kinesis metrics
            into CloudWatch every virtual minute (`lambdasim.service_metrics`).
        sqs_fifo_limits: the throughput quotas of FIFO queues (`rules.sqs_fifo.SqsFifoLimits`:
            AWS's defaults, 300 transactions per second per API action, the Region's in high
            throughput mode; `enforce=False` turns them off). `sim.sqs_fifo` records refusals.
        iot_rules: run AWS IoT Core's topic rules on published messages (`sim.iot`,
            `lambdasim.iot`); with False moto only stores rules and messages.
        pipes: run EventBridge Pipes (`sim.pipes`, `lambdasim.pollers.pipes`); with False moto
            only stores them.
        dynamodb_ttl: delete expired items of tables with Time to Live on the virtual clock
            (`sim.dynamodb_ttl`, `lambdasim.dynamodb_ttl`); with False nothing expires.
        firehose: deliver Direct PUT Firehose streams to S3 as AWS does (buffering hints, Lambda
            transformation, dynamic partitioning, Parquet conversion; `sim.firehose`,
            `lambdasim.firehose`); with False moto writes each put straight to S3.
        location: play Amazon Location Service, which moto lacks (geofence collections,
            trackers with position filtering, ENTER/EXIT events on the default bus;
            `sim.location`, `lambdasim.location`); with False a `location` client call raises
            NotImplementedError, as moto does for an action it lacks.
        iam: enforce IAM on what functions' code calls (`sim.iam`, `lambdasim.iam`): each call
            is checked against the function's execution role's policies and refused with AWS's
            access denied error when they do not allow it; the calls are recorded for the
            unused-permission report. Off by default: the role is not consulted.
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        start: datetime | str = DEFAULT_START,
        region: str = DEFAULT_REGION,
        default_duration_ms: float = DEFAULT_DURATION_MS,
        account_concurrency: int = cc.DEFAULT_ACCOUNT_CONCURRENCY,
        scaling_rate: tuple[int, float] | None = (cc.SCALING_RATE_ENVIRONMENTS, cc.SCALING_RATE_WINDOW_S),
        idle_lifetime: float | tuple[float, float] | None = cold_start.DEFAULT_IDLE_LIFETIME_S,
        init_model: cold_start.InitDurationModel | None = None,
        logs: bool = True,
        metrics: bool = True,
        athena: bool = True,
        alarms: bool = True,
        kinesis_limits: kinesis_rules.KinesisLimits | None = None,
        dynamodb_limits: DynamoDBLimits | None = None,
        service_metrics: bool = True,
        sqs_fifo_limits: sqs_fifo_rules.SqsFifoLimits | None = None,
        iot_rules: bool = True,
        pipes: bool = True,
        dynamodb_ttl: bool = True,
        firehose: bool = True,
        location: bool = True,
        iam: bool = False,
    ):
        if isinstance(start, str):
            start = datetime.fromisoformat(start.replace("Z", "+00:00"))
        if start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        self.seed = seed
        self.region = region
        self.account_id = "123456789012"  # moto's default account
        self.random = Random(f"{seed}/user")
        self._start_us = to_micros(start)
        self._clock = VirtualClock(start)
        self._scheduler = Scheduler(self._clock)
        self._pool = EnvironmentPool(
            limits=cc.ConcurrencyLimits(account_concurrency),
            scaling=cc.ScalingRate(*scaling_rate) if scaling_rate is not None else None,
            idle_lifetime=cold_start.IdleLifetime(idle_lifetime),
            rng=Random(f"{seed}/environments"),
        )
        self._pool.reserved_source = moto_state.reserved_concurrency
        # Requests refused for lack of concurrency (not invocations): time, function, reason.
        self.throttles: list[ThrottleRecord] = []
        self._loader = CodeLoader()
        self.invocations: list[InvocationRecord] = []
        self._runtime = Runtime(
            clock=self._clock,
            pool=self._pool,
            loader=self._loader,
            ids=Random(f"{seed}/ids"),
            durations=Random(f"{seed}/durations"),
            default_duration_ms=default_duration_ms,
            credentials={**FAKE_CREDENTIALS, "AWS_ACCESS_KEY": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"]},
        )
        self._service = LambdaService(
            clock=self._clock,
            scheduler=self._scheduler,
            runtime=self._runtime,
            advance=self._advance_caller,
            history=self.invocations,
            throttles=self.throttles,
        )
        if init_model is not None:
            self._runtime.init_model = init_model
        # Throttle backoff jitter (opt-in) and S3 destination object names come from the seed.
        self._service.async_queue.rng = Random(f"{seed}/async")
        self._telemetry = Telemetry(
            clock=self._clock, scheduler=self._scheduler, runtime=self._runtime, service=self._service,
            account_id=self.account_id, region=region, logs=logs, metrics=metrics)
        # X-Ray tracing as OpenTelemetry spans: functions with TracingConfig Active, traces that
        # come sampled (telemetry/tracing.py); OpenTelemetry is imported at the first span.
        self.tracing = Tracing(seed)
        self._service.tracing = self._runtime.tracing = self.tracing
        self._running = False
        # CloudWatch alarms evaluated every virtual minute once one exists (alarms.py).
        self.alarms = AlarmEvaluator(scheduler=self._scheduler, clock_us=lambda: self._clock.micros,
                                     before_evaluation=self._telemetry.flush)
        self._alarms_enabled = alarms
        self._undo: list[Callable[[], None]] = []
        self._clients: dict[str, Any] = {}
        self._role_arn: str | None = None
        self._pollers = PollerManager(self)
        # EventBridge Pipes run by the pollers' machinery (pollers/pipes.py); off: moto stores them.
        self.pipes = PipeRunner(self, self._pollers)
        self._pipes_enabled = pipes
        # DynamoDB Time to Live deletions, seeded (dynamodb_ttl.py); off: nothing expires.
        self.dynamodb_ttl = TtlSweeper(self._scheduler, lambda: self._clock.micros, Random(f"{seed}/dynamodb-ttl"))
        self._dynamodb_ttl_enabled = dynamodb_ttl
        # Kinesis Data Streams for DynamoDB, which moto lacks (dynamodb_kinesis.py): idle until a
        # table's streaming destination is enabled.
        self.dynamodb_kinesis = KinesisStreamingDestinations(self._scheduler, lambda: self._clock.micros,
                                                             Random(f"{seed}/dynamodb-kinesis"))
        # EventBridge Lambda targets: retry policy, target DLQ, seeded duplicates (eventbridge.py).
        self.eventbridge = EventBridgeTargets(self, Random(f"{seed}/eventbridge"))
        # API Gateway's front door: REST and HTTP APIs, Lambda authorizers' cache (apigateway.py).
        self.api_gateway = FrontDoor(self.account_id, self._invoke_for_api_gateway, lambda: self.now,
                                     self._call_aws_for_api_gateway)
        self.api_gateway.tracing = self.tracing
        # Injected AWS failures (throttles, 5xx, partial batch failures), seeded like the rest;
        # active for the whole simulation, so it also counts every API call (faults.calls).
        self.faults = FaultInjector(rng=Random(f"{seed}/faults"), clock=lambda: self._clock.micros / 1e6)
        # SQS dead-letter queue redrive: StartMessageMoveTask and its tasks (redrive.py).
        self.message_moves = MessageMoveTasks(self, Random(f"{seed}/redrive"))
        # CloudFormation's requests to Lambda-backed custom resources (custom_resources.py).
        self.custom_resources = CustomResources(self._service, region, Random(f"{seed}/custom-resources"))
        # Scheduled rules and Scheduler schedules fired on the virtual clock (schedules.py).
        self.schedules = Schedules(self, Random(f"{seed}/schedules"))
        # CodeDeploy's gradual deployments of new versions to aliases (deployments.py), and the
        # seeded draw that routes invocations through a weighted alias.
        self.deployments = Deployments(self, Random(f"{seed}/deployments"))
        self._alias_routing = Random(f"{seed}/alias-routing")
        # Kinesis throughput ceilings (per shard, per on-demand stream) and their refusals.
        self.kinesis = KinesisThroughput(lambda: self._clock.micros, kinesis_limits or kinesis_rules.KinesisLimits())
        # CloudWatch Logs Insights queries over the simulation's logs (lambdasim.logs_insights).
        self.logs_insights = LogsInsights(self.account_id, region, lambda: self._clock.micros // 1000,
                                          Random(f"{seed}/logs-insights"))
        # Athena queries run by DuckDB over the Glue tables' S3 objects (lambdasim.athena).
        self.athena = Athena(self.account_id, region, lambda: self._clock.micros // 1000, Random(f"{seed}/athena"))
        self._athena_enabled = athena
        # DynamoDB throughput ceilings (tables, partitions, burst, on-demand) and their refusals.
        self.dynamodb = DynamoDBCapacity(lambda: self._clock.micros, dynamodb_limits)
        # AWS/SQS, AWS/Events, AWS/DynamoDB and AWS/Kinesis metrics, once a virtual minute.
        self.service_metrics = ServiceMetrics(self, service_metrics)
        # SQS FIFO queues' throughput quotas (per action, per message group) and their refusals.
        self.sqs_fifo = SqsFifoThroughput(lambda: self._clock.micros, sqs_fifo_limits or sqs_fifo_rules.SqsFifoLimits())
        # AWS IoT Core's rules engine: published messages run the topic rules' actions (iot.py).
        self.iot = IotRulesEngine(self, Random(f"{seed}/iot"))
        self.iot.enabled = iot_rules
        # Amazon Location's geofencing and tracking (location.py); moto has no Location service.
        self.location = LocationService(lambda: self._clock.micros)
        self._location_enabled = location
        # Firehose's buffers, Lambda transformations and S3 objects (firehose.py).
        self.firehose = FirehoseDelivery(self, Random(f"{seed}/firehose"))
        self._firehose_enabled = firehose
        # IAM enforced on functions' calls, and what their roles grant that the run never used.
        self.iam = IamEnforcement(
            runtime=self._runtime, account_id=self.account_id, region=region,
            clock_us=lambda: self._clock.micros, invocations=self.invocations,
            queue_sources=self._mapped_queues, assume_role=self._assume_role)
        self._iam_enabled = iam

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Simulator:
        """Start moto, the virtual clock and the patches. Prefer `with Simulator() as sim:`."""
        if self._running:
            raise SimulatorError("this simulator is already running")
        if running.current is not None:
            raise SimulatorAlreadyRunning("another Simulator is running in this process; stop it first")
        _leave_the_heap_to_the_os_at_exit()
        try:
            self._seed_randomness()
            self._start_moto()
            self._set_environment()  # after moto, which sets its own fake credentials
            self._clock.freeze()
            self._undo.append(self._clock.unfreeze)
            self._patch_process()
            _moto_patches.apply(self._service)
            self._undo.append(_moto_patches.remove)
            self._telemetry.start()  # logs, metrics (lambdasim.telemetry)
            self._undo.append(self._telemetry.stop)
            self._service.listeners.append(self.tracing.on_invocation)
            self._undo.append(lambda: self._service.listeners.remove(self.tracing.on_invocation))
            self._undo.append(self.tracing.stop)
            self._pollers.start()  # event source mappings (lambdasim.pollers)
            self._undo.append(self._pollers.stop)
            if self._pipes_enabled:
                self.pipes.start()
                self._undo.append(self.pipes.stop)
            if self._dynamodb_ttl_enabled:
                self.dynamodb_ttl.start()
                self._undo.append(self.dynamodb_ttl.stop)
            _moto_patches.set_dynamodb_kinesis(self.dynamodb_kinesis)
            self._undo.append(lambda: _moto_patches.set_dynamodb_kinesis(None))
            self._undo.append(self.dynamodb_kinesis.stop)
            _moto_patches.set_eventbridge_targets(self.eventbridge)
            self._undo.append(lambda: _moto_patches.set_eventbridge_targets(None))
            _moto_patches.set_message_moves(self.message_moves)
            self._undo.append(lambda: _moto_patches.set_message_moves(None))
            _moto_patches.set_custom_resources(self.custom_resources)
            self._undo.append(lambda: _moto_patches.set_custom_resources(None))
            _moto_patches.set_deployments(self.deployments)
            self._undo.append(lambda: _moto_patches.set_deployments(None))
            moto_state.set_alias_draw(self._alias_routing.random)
            self._undo.append(lambda: moto_state.set_alias_draw(None))
            self.alarms.listeners.append(self.deployments.alarm_changed)
            self._undo.append(lambda: self.alarms.listeners.remove(self.deployments.alarm_changed))
            _moto_patches.set_kinesis_throughput(self.kinesis)
            self._undo.append(lambda: _moto_patches.set_kinesis_throughput(None))
            _moto_patches.set_logs_insights(self.logs_insights)
            self._undo.append(lambda: _moto_patches.set_logs_insights(None))
            if self._athena_enabled:
                _moto_patches.set_athena(self.athena)
                self._undo.append(lambda: _moto_patches.set_athena(None))
                self._undo.append(self.athena.close)
            _moto_patches.set_dynamodb_capacity(self.dynamodb)
            self._undo.append(lambda: _moto_patches.set_dynamodb_capacity(None))
            _moto_patches.set_sqs_fifo_throughput(self.sqs_fifo)
            self._undo.append(lambda: _moto_patches.set_sqs_fifo_throughput(None))
            if self.iot.enabled:
                _moto_patches.set_iot_rules_engine(self.iot)
                self._undo.append(lambda: _moto_patches.set_iot_rules_engine(None))
            if self._location_enabled:
                _moto_patches.set_location(self.location)
                self._undo.append(lambda: _moto_patches.set_location(None))
            if self._firehose_enabled:
                self.firehose.start()
                _moto_patches.set_firehose_delivery(self.firehose)
                self._undo.append(lambda: _moto_patches.set_firehose_delivery(None))
            self.schedules.start()
            self._undo.append(self.schedules.stop)
            self.service_metrics.start()
            self._undo.append(self.service_metrics.stop)
            if self._alarms_enabled:
                self.alarms.start()
                self._undo.append(self.alarms.stop)
            if self._iam_enabled:
                self.iam.start()
                self._undo.append(self.iam.stop)
                self.eventbridge.authorize = self.iam.target_refusal
                self._undo.append(lambda: setattr(self.eventbridge, "authorize", None))
                self._service.push_allowed = self.iam.push_allowed
                self._undo.append(lambda: setattr(self._service, "push_allowed", None))
            self.faults.start()
            self._undo.append(self.faults.stop)
            self._undo.append(self._runtime.pool.release_code)
        except BaseException:
            self._unwind()
            raise
        self._running = True
        running.current = self
        return self

    def stop(self) -> None:
        """Tear everything down and give the process its real clock, environment and moto back."""
        if not self._running:
            return
        self._running = False
        running.current = None
        self._clients.clear()
        self._unwind()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _unwind(self) -> None:
        errors: list[BaseException] = []
        while self._undo:
            try:
                self._undo.pop()()
            except BaseException as e:  # keep undoing; report the first failure afterwards
                errors.append(e)
        if errors:
            raise errors[0]

    def _set_environment(self) -> None:
        # Fake credentials and a fixed region for every client created during the simulation,
        # and no profile or config file that could point a client at a real account.
        wanted: dict[str, str | None] = {
            **FAKE_CREDENTIALS,
            "AWS_SECURITY_TOKEN": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_PROFILE": None,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            # botocore sends DynamoDB Streams calls to an account-based endpoint, which moto 5.2.5
            # does not route (404 "Not yet implemented"); the setting turns those endpoints off:
            # https://docs.aws.amazon.com/sdkref/latest/guide/feature-account-endpoints.html
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }
        saved = {k: os.environ.get(k) for k in wanted}

        def restore() -> None:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

        self._undo.append(restore)
        for key, value in wanted.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _seed_randomness(self) -> None:
        from moto.moto_api._internal import mock_random

        moto_state = mock_random.getstate()
        global_state = random.getstate()
        mock_random.seed(f"{self.seed}/moto")
        random.seed(f"{self.seed}/global")

        def restore() -> None:
            mock_random.setstate(moto_state)
            random.setstate(global_state)

        self._undo.append(restore)

    def _start_moto(self) -> None:
        import boto3
        from moto import mock_aws

        # Sessions share parsed service models (20-60 ms per service and session): boto3's
        # default one, which moto resets on start and puts back on stop, and those handler code
        # and libraries make.
        self._undo.append(sdk_models.share_loaders())
        mock = mock_aws()
        mock.start()
        self._undo.append(mock.stop)
        boto3.DEFAULT_SESSION = boto3.Session()

    def _patch_process(self) -> None:
        owner = threading.get_ident()
        real_sleep = time.sleep
        real_uuid4 = uuid.uuid4
        uuid_rng = Random(f"{self.seed}/uuid")

        def sleep(seconds: float) -> None:
            """time.sleep on virtual time (the simulation's thread, while it runs)."""
            if not self._running or threading.get_ident() != owner:
                return real_sleep(seconds)
            caller = sys._getframe(1).f_globals.get("__name__") or ""
            if caller.partition(".")[0] in _REAL_SLEEP_PACKAGES:
                return real_sleep(seconds)
            if seconds < 0:
                raise ValueError("sleep length must be non-negative")
            frame = self._runtime.current_frame
            if frame is not None:
                frame.sleep(seconds)
            elif not self._scheduler.dispatching:
                self.run_for(seconds)
            # Inside a scheduled call no time passes: the call is an instant of the simulation.

        def uuid4() -> uuid.UUID:
            """uuid.uuid4 drawn from the seed while handler code runs; the real one otherwise."""
            if self._running and threading.get_ident() == owner and self._runtime.current_frame is not None:
                return uuid.UUID(int=uuid_rng.getrandbits(128), version=4)
            return real_uuid4()

        simulator = self

        class VirtualTokenWait(threading.Condition):
            """botocore's adaptive retry mode (retries/bucket.py) waits for a send token with
            Condition.wait, on real time, and refills from time.time(), the virtual clock, which
            stands still meanwhile: the wait would never end. On the simulation's thread it is
            a virtual sleep instead."""

            def wait(self, timeout: float | None = None) -> bool:
                if timeout is None or not simulator._running or threading.get_ident() != owner:
                    return super().wait(timeout)
                if simulator._runtime.current_frame is None and simulator._scheduler.dispatching:
                    raise SimulatorError(
                        "a client in adaptive retry mode cannot wait for a send token inside a "
                        "scheduled call: no virtual time passes there")
                sleep(max(timeout, 1e-6))  # virtual time is whole microseconds: never 0
                return False

        from botocore.retries import bucket

        real_bucket_init = bucket.TokenBucket.__init__

        def bucket_init(token_bucket: Any, *args: Any, **kwargs: Any) -> None:
            real_bucket_init(token_bucket, *args, **kwargs)
            token_bucket._new_fill_rate_condition = VirtualTokenWait(token_bucket._lock)

        time.sleep = sleep  # type: ignore[assignment]
        uuid.uuid4 = uuid4
        bucket.TokenBucket.__init__ = bucket_init  # type: ignore[method-assign]

        def restore() -> None:
            time.sleep = real_sleep
            uuid.uuid4 = real_uuid4
            bucket.TokenBucket.__init__ = real_bucket_init  # type: ignore[method-assign]

        self._undo.append(restore)

    def _require_running(self) -> None:
        if not self._running:
            raise SimulatorNotRunning("start the simulator first: `with Simulator() as sim:`")

    def _require_driver(self) -> None:
        # Only the code driving the simulation moves the clock; handler code spends its own
        # invocation's time (time.sleep) instead.
        self._require_running()
        if self._runtime.current_frame is not None:
            raise SimulatorError("handler code cannot advance the simulation; use time.sleep")

    # -- time -----------------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        """The current virtual time (aware, UTC)."""
        return self._clock.now

    @property
    def elapsed(self) -> float:
        """Virtual seconds since the simulation started."""
        return (self._clock.micros - self._start_us) / 1_000_000

    def run_for(self, seconds: float | timedelta) -> None:
        """Advance virtual time by `seconds`, running everything that falls due."""
        self._require_driver()
        us = seconds_to_micros(seconds)
        if us < 0:
            raise ValueError("cannot run for a negative time")
        self._scheduler.run_until(self._scheduler.now_us + us)

    def run_until(self, when: datetime) -> None:
        """Advance virtual time to `when` (aware datetime), running everything that falls due."""
        self._require_driver()
        self._scheduler.run_until(max(self._scheduler.now_us, to_micros(when)))

    def run_until_idle(self, max_seconds: float = 3600.0) -> bool:
        """Run until nothing is left to do, for at most `max_seconds` of virtual time.

        Returns True if the simulation went idle, False if the limit came first. Pollers and
        other daemon calls do not count as work.
        """
        self._require_driver()
        return self._scheduler.run_until_idle(seconds_to_micros(max_seconds))

    def schedule(
        self, at_or_delay: datetime | float | timedelta, callback: Callable[..., Any], *args: Any, daemon: bool = False
    ) -> ScheduledCall:
        """Call `callback(*args)` at a virtual time (datetime) or after a delay (seconds).

        The call runs when the clock reaches that time. `daemon=True` marks a call that does
        not keep `run_until_idle` running.
        """
        self._require_running()
        if isinstance(at_or_delay, datetime):
            at = to_micros(at_or_delay)
        else:
            at = self._clock.micros + seconds_to_micros(at_or_delay)
        return self._scheduler.call_at(at, callback, *args, daemon=daemon)

    def _advance_caller(self, us: int) -> None:
        # A synchronous invoke made by the code driving the simulation: that code waited.
        self._scheduler.run_until(self._scheduler.now_us + us)

    # -- functions ------------------------------------------------------------------------------
    def client(self, service_name: str, **kwargs: Any) -> Any:
        """A boto3 client for the simulation's Region (cached per service without kwargs)."""
        import boto3

        if kwargs:
            return boto3.client(service_name, region_name=self.region, **kwargs)
        if service_name not in self._clients:
            self._clients[service_name] = boto3.client(service_name, region_name=self.region)
        return self._clients[service_name]

    def create_function(
        self,
        *,
        FunctionName: str,
        Handler: str,
        Runtime: str = "python3.12",
        Role: str | None = None,
        Code: dict[str, Any] | None = None,
        code_dir: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Create a function in moto (boto3 `create_function`) and map it to local code.

        Keyword arguments are `create_function`'s own. `Role` defaults to an execution role the
        simulator creates; `Code` to a placeholder zip. `code_dir` is the folder the handler
        module lives in (SAM's CodeUri); without it the module is imported from `sys.path`.
        Returns the boto3 response.
        """
        self._require_running()
        response = self.client("lambda").create_function(
            FunctionName=FunctionName,
            Runtime=Runtime,
            Role=Role or self._default_role_arn(),
            Handler=Handler,
            Code=Code or {"ZipFile": placeholder_zip()},
            **kwargs,
        )
        if code_dir is not None:
            self.map_handler(FunctionName, code_dir=code_dir)
        return dict(response)

    def map_handler(
        self, function_name: str, handler: str | None = None, code_dir: str | os.PathLike[str] | None = None,
        isolation: Any = None,
    ) -> None:
        """Map a function (created by any means) to local code.

        `handler` overrides the function's configured Handler (None keeps it, so later
        configuration updates apply); `code_dir` is the folder to import it from. With
        `isolation` (a `lambdasim.isolation.Isolation`) each execution environment's code runs
        in a worker process of its own, as on AWS, instead of in this process: slower to start,
        and the code cannot change what the simulation records (graders use it).
        """
        name = _function_name(function_name)
        folder = None
        if code_dir is not None:
            folder = Path(code_dir).resolve()
            if not folder.is_dir():
                raise FileNotFoundError(f"code_dir {folder} is not a folder")
        self._runtime.mappings[name] = HandlerMapping(handler=handler, code_dir=folder, isolation=isolation)

    def roll_stream_shard(self, table_name: str) -> str:
        """Close the table's open DynamoDB stream shard and open its child, which takes the
        records from now on; returns the child's id. DynamoDB does this on its own, as needed,
        with no documented period (Streams.html), so the simulator does it only when asked:
        readers then finish the parent before the child."""
        return moto_state.roll_stream_shard(self.account_id, self.region, table_name)

    def set_duration(self, function_name: str, duration: DurationSpec) -> None:
        """Set the base duration of a function's invocations, in milliseconds.

        `duration` is a number, or a callable `(rng, event) -> ms` drawn per invocation with the
        simulator's seeded generator. Virtual time the handler spends (sleeps, synchronous
        calls) comes on top.
        """
        if not callable(duration) and duration < 0:
            raise ValueError("duration must be >= 0 ms")
        self._runtime.durations[_function_name(function_name)] = duration

    def http(self, method: str, url: str, *, headers: dict[str, str] | None = None,
             body: bytes | str | None = None) -> HttpResponse:
        """Send an HTTP request to a deployed REST API or HTTP API, as a client would, on the
        virtual clock.

        ``url`` is the API's invoke URL with the stage and path
        (``https://{api-id}.execute-api.{region}.amazonaws.com/{stage}/orders``; an HTTP API's
        `$default` stage has no stage segment), as a stack's outputs write it; a Lambda
        authorizer runs first where the route has one, then a Lambda proxy integration invokes
        its function synchronously with API Gateway's event, and the function's response comes
        back (`lambdasim.apigateway`)."""
        self._require_running()
        return self.api_gateway.request(method, url, headers=headers, body=body)

    def _invoke_for_api_gateway(self, function: str, payload: bytes) -> tuple[bytes, bool] | None:
        """The integration's one Invoke call: (payload, failed), or None when Lambda ran nothing."""
        lam = self._clients.get("lambda without retries")
        if lam is None:
            from botocore.config import Config

            # API Gateway calls Lambda once per request: no SDK retries (they would throttle again
            # at the same virtual instant).
            lam = self._clients["lambda without retries"] = self.client(
                "lambda", config=Config(retries={"total_max_attempts": 1}))
            lam.meta.events.register("before-call.lambda.Invoke", self._api_gateway_trace_header)
        try:
            answer = lam.invoke(FunctionName=function, Payload=payload)
        except lam.exceptions.ResourceNotFoundException:
            return None  # the integration names no function: API Gateway's error, not Lambda's
        except lam.exceptions.TooManyRequestsException:
            # A throttled function is API Gateway's 500 in a proxy integration, not Lambda's 429
            # (https://repost.aws/knowledge-center/api-gateway-internal-server-error).
            return None
        return answer["Payload"].read(), "FunctionError" in answer

    def _api_gateway_trace_header(self, params: dict[str, Any], **kwargs: Any) -> None:
        # A traced stage sends its X-Amzn-Trace-Id to the integration's function.
        if self.api_gateway.trace_header is not None:
            params["headers"]["X-Amzn-Trace-Id"] = self.api_gateway.trace_header

    def _call_aws_for_api_gateway(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        from botocore import xform_name

        answer: dict[str, Any] = getattr(self.client(service), xform_name(operation))(**params)
        return answer

    def deploy(
        self,
        template: str | Path,
        *,
        stack_name: str | None = None,
        parameters: dict[str, str] | None = None,
        validate: bool = True,
    ) -> Stack:
        """Deploy an AWS SAM (or plain CloudFormation) template into this simulation.

        The same template `sam deploy` takes to a real account: the SAM transform runs offline,
        moto's CloudFormation creates the resources, and each function runs its local `CodeUri`
        code. See `lambdasim.sam.deploy`.
        """
        from . import sam

        return sam.deploy(self, template, stack_name=stack_name, parameters=parameters, validate=validate)

    @property
    def stacks(self) -> dict[str, Stack]:
        """The stacks deployed into this simulation, by name."""
        from . import sam

        return sam.stacks(self)

    def _default_role_arn(self) -> str:
        if self._role_arn is None:
            import json

            iam = self.client("iam")
            trust = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                               "Action": "sts:AssumeRole"}],
            }
            try:
                role = iam.get_role(RoleName=DEFAULT_ROLE_NAME)
            except iam.exceptions.NoSuchEntityException:
                role = iam.create_role(RoleName=DEFAULT_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
            self._role_arn = role["Role"]["Arn"]
        return self._role_arn

    # -- observing ------------------------------------------------------------------------------
    def environments(self, function_name: str) -> list[ExecutionEnvironment]:
        """The live execution environments of a function (idle ones past their lifetime are
        reclaimed first)."""
        name = _function_name(function_name)
        self._pool.reclaim_idle(self._clock.micros, name)
        return self._pool.environments(name)

    def retired_environments(self, function_name: str | None = None) -> list[ExecutionEnvironment]:
        """Environments that are gone (`retired_reason`: "idle", "init-failed", or None for a
        crash, timeout, failed init or update; `retired_at_us`), oldest retirement first."""
        self._pool.reclaim_idle(self._clock.micros)
        name = _function_name(function_name) if function_name is not None else None
        gone = [e for e in self._pool.retired if name is None or e.function_name == name]
        return sorted(gone, key=lambda e: e.retired_at_us or 0)

    def concurrency(self, function_name: str | None = None) -> int:
        """Concurrency now: execution environments busy with an invocation at this instant
        (of one function, or of the account). What the ConcurrentExecutions metric samples."""
        name = _function_name(function_name) if function_name is not None else None
        return self._pool.busy(self._clock.micros, name)

    @property
    def concurrency_limits(self) -> cc.ConcurrencyLimits:
        """The account pool (`account_limit`, `unreserved_pool(reserved)`, `check(...)`)."""
        return self._pool.limits

    @property
    def dynamodb_limits(self) -> DynamoDBLimits:
        """The DynamoDB ceilings enforced (assignable; `enabled = False` turns them off)."""
        return self.dynamodb.limits

    @dynamodb_limits.setter
    def dynamodb_limits(self, limits: DynamoDBLimits) -> None:
        self.dynamodb.limits = limits

    @property
    def init_model(self) -> cold_start.InitDurationModel:
        """The platform part of a cold start's INIT duration (assignable)."""
        return self._runtime.init_model

    @init_model.setter
    def init_model(self, model: cold_start.InitDurationModel) -> None:
        self._runtime.init_model = model

    def set_provisioned_concurrency(self, function_name: str, qualifier: str, executions: int) -> None:
        """Provisioned concurrency for a published version or alias, as
        `put_provisioned_concurrency_config` sets it (the API works too); 0 removes it.

        `executions` environments run their INIT now, ahead of invocations, and count against
        the function's reserved concurrency or the unreserved pool. Raises ValueError
        (`environments.ConfigurationRejected`) where AWS answers 400.
        """
        self._require_running()
        config, _ = moto_state.resolve_function(self.account_id, self.region, function_name, qualifier)
        self._runtime.provision(config, qualifier, executions)

    @property
    def telemetry(self) -> Telemetry:
        """Logs and metrics of the simulation (`lambdasim.telemetry`): `flush()`,
        `set_max_memory_used(...)`, counters."""
        return self._telemetry

    def record_metrics(self, every_s: int = 60) -> MetricRecording:
        """Start recording the CloudWatch metric data as alarm evaluations every `every_s`
        seconds (60, or 10 for alarms with a period under a minute) would read it; the
        recording fills until the simulation ends (`lambdasim.metric_recording`)."""
        self._require_running()
        if every_s not in (10, 60):
            raise ValueError(f"every_s must be 10 or 60, the alarm evaluator's intervals, not {every_s}")
        recorder = MetricRecorder(MetricRecording(every_s, self.now), scheduler=self._scheduler,
                                  clock_us=lambda: self._clock.micros, flush=self._telemetry.flush)
        recorder.start()
        self._undo.append(recorder.stop)
        return recorder.recording

    def replay_metrics(self, recording: MetricRecording) -> None:
        """Write `recording`'s metric data into moto's CloudWatch at the instants it was read,
        each before an alarm evaluation of the same instant. Call it before creating the alarms
        that read it (ValueError otherwise): an alarm created first would be evaluated first."""
        self._require_running()
        if moto_state.cloudwatch_alarms():
            raise ValueError("replay_metrics must come before the alarms are created: at an instant "
                             "they share, an alarm evaluated before the data is written misses it")
        schedule_replay(recording, self._scheduler)

    @property
    def recursion_stops(self) -> list[RecursionStop]:
        """Invocations Lambda's recursive loop detection stopped (`service.RecursionStop`: time,
        function, version, type, source, place in the chain); not invocations
        (rules/recursion.py)."""
        return self._service.recursion_stops

    def metering(self) -> MeteringReport:
        """Requests, GB-seconds and cost of every invocation so far, per function and in total,
        at the published us-east-1 prices (`lambdasim.rules.pricing`; free tier not applied).
        `print(sim.metering())` shows a table."""
        return self._telemetry.metering(self.invocations, self._memory_and_architecture)

    def _memory_and_architecture(self, function_name: str) -> tuple[int, str]:
        config = self.client("lambda").get_function_configuration(FunctionName=function_name)
        return int(config.get("MemorySize", 128)), (config.get("Architectures") or ["x86_64"])[0]

    @property
    def async_queue(self) -> AsyncInvocationQueue:
        """Lambda's internal queue of asynchronous invocations: `received`, `pending`,
        `completed` events with their attempts, throttles, condition and deliveries (retries,
        event age, destinations and DLQ as on AWS; see `lambdasim.async_queue`)."""
        return self._service.async_queue

    @property
    def pollers(self) -> dict[str, SqsPoller | StreamPoller]:
        """The pollers of the event source mappings, by mapping UUID (deleted ones too): an
        `SqsPoller` per SQS mapping (`state`, `stats`, `batches`, `scaling`) and a `StreamPoller`
        per Kinesis or DynamoDB Streams mapping (`state`, `stats`, `batches`, `discards`)."""
        return dict(self._pollers.current())

    def _mapped_queues(self, function_name: str) -> list[str]:
        """The ARNs of the SQS queues the function's event source mappings read."""
        return [p.queue_arn for p in self._pollers.current().values()
                if getattr(p, "queue_arn", "") and _function_name(p.function_arn) == function_name]

    def _assume_role(self, role_arn: str, function_name: str) -> str:
        """The ARN of the session Lambda's AssumeRole of a function's execution role opens
        (the session is named after the function)."""
        answer = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=function_name[:64])
        return str(answer["AssumedRoleUser"]["Arn"])

    def poller(self, uuid: str) -> SqsPoller | StreamPoller:
        """The poller of one event source mapping (KeyError for an unknown UUID)."""
        return self._pollers.current()[uuid]


def _function_name(name_or_arn: str) -> str:
    if ":function:" in name_or_arn:
        name_or_arn = name_or_arn.split(":function:", 1)[1]
    return name_or_arn.split(":", 1)[0]
