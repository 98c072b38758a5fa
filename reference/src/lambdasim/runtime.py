"""The in-process Lambda runtime: runs one invocation of a Python handler on virtual time.

An invocation's simulated duration is the virtual time the handler spends (its `time.sleep`
calls and the synchronous invocations it makes) plus a per-function base duration the
simulator draws (`Simulator.set_duration`). Wall-clock time is never measured, so the same seed
gives the same durations on any machine.

Timeouts follow AWS: a handler that sleeps past its deadline is stopped at the deadline (the
sleep raises `InvocationTimeout`, a BaseException that `except Exception` does not catch), the
caller gets `Sandbox.Timedout`, and the execution environment is reset.
https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html

A cold start's INIT duration is the modelled platform part (`rules/cold_start.py`: runtime,
memory, package size, VPC; illustrative constants) plus the virtual time the module's init
spends; an on-demand INIT over 10 s is retried at the invocation under the function's timeout.
Environments come from `EnvironmentPool.acquire`, which applies the concurrency rules.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from random import Random
from types import ModuleType
from typing import Any

from . import isolation as iso
from .clock import MICROS_PER_SECOND, VirtualClock, from_micros, seconds_to_micros
from .context import LambdaContext
from .environments import EnvironmentPool, ExecutionEnvironment
from .functions import CodeLoader, FunctionConfig, HandlerMapping, LoadedCode
from .rules import cold_start
from .rules import invoke as inv
from .rules import pricing
from .rules import runtime as rt

_PACKAGE_DIR = str(Path(__file__).resolve().parent) + os.sep
_NO_CAPTURE = nullcontext()


class RemoteFunctionError(Exception):
    """An exception raised by code running in a worker process: `payload` is its error document."""

    def __init__(self, payload: dict[str, Any]):
        super().__init__(payload.get("errorMessage"))
        self.payload = payload


class InvocationTimeout(BaseException):
    """Raised inside a handler's `time.sleep` when the invocation reaches its timeout.

    A BaseException, so that the handler's `except Exception` cannot swallow it: on AWS the
    runtime is stopped at the deadline and no handler code runs after it.
    """


@dataclass
class InvocationRequest:
    """One invocation as the Lambda service accepted it."""

    request_id: str
    config: FunctionConfig
    invoked_arn: str
    payload: bytes
    invocation_type: str
    received_us: int
    trace_id: str
    client_context: dict[str, Any] | None = None
    source: str = "api"
    log_type: str | None = None  # Invoke's LogType ("Tail": the caller wants LogResult)
    trace_links: tuple[str, ...] = ()  # trace headers of other traces it joins (an SQS batch's other records)
    tenant_id: str | None = None  # Invoke's TenantId (tenant isolation mode, rules/tenancy.py)

    def event(self) -> Any:
        """The event the handler receives: the JSON payload, or `{}` when there is none."""
        return json.loads(self.payload) if self.payload.strip() else {}


@dataclass
class InvocationRecord:
    """What happened in one invocation (the simulator keeps them in `Simulator.invocations`)."""

    request_id: str
    function_name: str
    version: str
    invocation_type: str
    source: str
    environment_id: str | None
    cold_start: bool
    start_us: int
    init_duration_ms: float | None
    duration_ms: float
    billed_duration_ms: int
    payload: bytes
    function_error: str | None = None
    error_type: str | None = None
    timed_out: bool = False
    # The configuration it ran with, for logs and metering (telemetry/).
    memory_mb: int | None = None
    architecture: str | None = None
    log_stream: str | None = None

    @property
    def total_us(self) -> int:
        """Init plus invoke time, in microseconds: how long the caller waited."""
        init = round((self.init_duration_ms or 0.0) * 1000)
        return init + round(self.duration_ms * 1000)

    @property
    def start(self) -> datetime:
        """When the invocation started (virtual time)."""
        return from_micros(self.start_us)

    @property
    def end(self) -> datetime:
        """When the invocation ended (virtual time)."""
        return from_micros(self.start_us + self.total_us)

    @property
    def succeeded(self) -> bool:
        """True if the function returned without an error."""
        return self.function_error is None

    def result(self) -> Any:
        """The response payload decoded from JSON (the handler's result or the error document)."""
        return json.loads(self.payload) if self.payload else None


class InvocationFrame:
    """The virtual time of a running invocation (or init).

    The frame starts at the time the invocation starts and moves the clock forward as the code
    sleeps or waits for a nested synchronous invocation; the scheduler's own time stays put.
    """

    def __init__(self, clock: VirtualClock, start_us: int, deadline_us: int | None, function: str | None = None):
        self.clock = clock
        # Whose code runs in this frame: the AWS calls it makes are that function's (lambdasim.iam).
        self.function = function
        self.start_us = start_us
        self.deadline_us = deadline_us
        self.elapsed_us = 0
        self.timed_out = False

    @property
    def now_us(self) -> int:
        """The invocation's current time."""
        return self.start_us + self.elapsed_us

    def advance(self, us: int) -> None:
        """Spend `us` microseconds (a nested synchronous call the code waited for)."""
        self.elapsed_us += max(0, us)
        self.clock.set(self.now_us)
        if self.deadline_us is not None and self.now_us >= self.deadline_us:
            self.timed_out = True

    def sleep(self, seconds: float) -> None:
        """`time.sleep` inside the invocation: virtual, and cut off at the deadline."""
        if self.timed_out:
            raise InvocationTimeout()
        us = seconds_to_micros(seconds)
        if self.deadline_us is not None and self.now_us + us >= self.deadline_us:
            self.elapsed_us = self.deadline_us - self.start_us
            self.clock.set(self.now_us)
            self.timed_out = True
            raise InvocationTimeout()
        self.advance(us)


DurationSpec = float | Callable[[Random, Any], float]


class Runtime:
    """Runs invocations in execution environments, one at a time, on the virtual clock."""

    def __init__(
        self,
        *,
        clock: VirtualClock,
        pool: EnvironmentPool,
        loader: CodeLoader,
        ids: Random,
        durations: Random,
        default_duration_ms: float,
        credentials: dict[str, str],
    ):
        self.clock = clock
        self.pool = pool
        self.loader = loader
        self._ids = ids
        self._duration_rng = durations
        self.default_duration_ms = default_duration_ms
        self.durations: dict[str, DurationSpec] = {}
        self.mappings: dict[str, HandlerMapping] = {}
        self.credentials = credentials
        self._frames: list[InvocationFrame] = []
        # Captures what function code writes (telemetry.capture.OutputCapture) when logs are on.
        self.output: Any = None
        # Lambda's tracing (telemetry.tracing.Tracing): an attempt's trace header, the handler's
        # OpenTelemetry context.
        self.tracing: Any = None
        # The platform part of a cold start's INIT duration (illustrative constants).
        self.init_model = cold_start.InitDurationModel()

    # -- code ---------------------------------------------------------------------------------
    def mapping_for(self, config: FunctionConfig) -> HandlerMapping:
        """The local code of the function version `config` names: a published version keeps the
        code $LATEST had when it was published (`pin_version`), as a version is immutable
        (https://docs.aws.amazon.com/lambda/latest/dg/configuration-versions.html)."""
        return (self.mappings.get(f"{config.name}:{config.version}") or self.mappings.get(config.name)
                or HandlerMapping())

    def pin_version(self, function_name: str, version: str) -> None:
        """A version was published: it runs $LATEST's code of now, whatever $LATEST maps to later."""
        mapping = self.mappings.get(function_name)
        if mapping is not None:
            self.mappings[f"{function_name}:{version}"] = mapping

    # -- ids ----------------------------------------------------------------------------------
    def new_request_id(self) -> str:
        """A request id in AWS's format (a UUID), drawn from the seeded generator."""
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def new_trace_id(self, at_us: int) -> str:
        """An X-Ray trace header for `_X_AMZN_TRACE_ID` (https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader)."""
        root = f"1-{at_us // MICROS_PER_SECOND:08x}-{self._ids.getrandbits(96):024x}"
        return f"Root={root};Parent={self._ids.getrandbits(64):016x};Sampled=0"

    # -- frames -------------------------------------------------------------------------------
    @property
    def current_frame(self) -> InvocationFrame | None:
        """The invocation (or init) whose code is running now, if any."""
        return self._frames[-1] if self._frames else None

    # -- durations ----------------------------------------------------------------------------
    def base_duration_us(self, function_name: str, event: Any) -> int:
        """The base duration of one invocation, drawn from the function's duration setting."""
        spec = self.durations.get(function_name, self.default_duration_ms)
        ms = spec(self._duration_rng, event) if callable(spec) else spec
        if ms < 0:
            raise ValueError(f"duration of {function_name} must be >= 0 ms, got {ms}")
        return round(ms * 1000)

    def platform_init_us(self, config: FunctionConfig) -> int:
        """The modelled platform part of a new environment's INIT, from the function's
        runtime, memory, package size and VPC setting (rules/cold_start.py)."""
        return cold_start.platform_init_us(
            self.init_model, runtime=config.runtime, memory_mb=config.memory_mb,
            package_bytes=config.code_size, package_type=config.package_type, vpc=config.vpc)

    # -- running ------------------------------------------------------------------------------
    def execute(self, request: InvocationRequest) -> InvocationRecord:
        """Run one invocation starting at the clock's current time and return its record.

        The clock is back at the start time when this returns; the caller decides how time
        moves on (a waiting caller advances by `record.total_us`).
        """
        config = request.config
        start_us = self.clock.micros
        mapping = self.mapping_for(config)
        handler_name = mapping.handler or config.handler or ""
        module_name = handler_name.rsplit(".", 1)[0].replace("/", ".")
        code_key = (handler_name, mapping.code_dir)
        # Raises errors.Throttled when no environment can be had (concurrency rules).
        env, cold = self.pool.acquire(
            config, code_key, start_us, lambda: self._new_environment(config, code_key, start_us),
            tenant_id=request.tenant_id)
        env.running = True
        init_us = 0
        try:
            if not self._runnable(config, mapping):
                return self._finish(
                    request, env, cold, start_us, None, 0,
                    rt.dumps_error(rt.error_payload(
                        f"lambdasim runs Python handlers only; runtime {config.runtime!r} "
                        f"(package type {config.package_type}) needs Simulator.map_handler()",
                        "lambdasim.UnsupportedRuntime", [], request.request_id)),
                    rt.UNHANDLED, "lambdasim.UnsupportedRuntime", retire=True)
            environ = self._environment_variables(config, env, handler_name, mapping, request)
            with _lambda_environ(environ, env.environ_changes):
                suppressed_us = 0
                if env.code is None:
                    # The modelled platform part of INIT (rules/cold_start.py) comes first; the
                    # module's own init then runs on the virtual clock after it. The frame's
                    # deadline is a backstop: the 10 s init limit plus the retry's timeout.
                    limit_us = cold_start.ON_DEMAND_INIT_LIMIT_S * MICROS_PER_SECOND
                    timeout_us = config.timeout_s * MICROS_PER_SECOND
                    frame = InvocationFrame(self.clock, start_us, start_us + limit_us + timeout_us, config.name)
                    frame.elapsed_us = self.platform_init_us(config)
                    self.clock.set(frame.now_us)
                    self._frames.append(frame)
                    init_timed_out = False
                    try:
                        with self._output(request, "init"), \
                                self.loader.activate(mapping.code_dir, env.private_modules, module_name, None):
                            env.code = self._load(handler_name, mapping, environ)
                    except InvocationTimeout:
                        init_timed_out = True
                    except RemoteFunctionError as remote:
                        return self._init_failed(request, env, cold, start_us, frame, rt.dumps_error(remote.payload))
                    except rt.FaultError as fault:
                        return self._init_failed(request, env, cold, start_us, frame, rt.dumps_error(
                            rt.error_payload(fault.message, fault.error_type, fault.stack_trace, None)))
                    except SystemExit as exc:
                        return self._init_failed(request, env, cold, start_us, frame, rt.dumps_error(
                            rt.exit_error_payload(request.request_id, _exit_status(exc))))
                    except Exception as exc:  # the module's init raised
                        return self._init_failed(request, env, cold, start_us, frame, rt.dumps_error(
                            rt.exception_payload(exc, exc.__traceback__, None, (_PACKAGE_DIR,))))
                    finally:
                        self._frames.pop()
                        self.clock.set(start_us)
                    init_us = frame.elapsed_us
                    if init_us > limit_us:
                        # lambda-runtime-environment.html: an on-demand INIT that does not finish
                        # in 10 s is retried at the first invocation, under the function's
                        # timeout. Modelled without running the module twice: INIT reports
                        # 10 s and the retry, as long as the first try, counts as invocation time.
                        init_us, suppressed_us = limit_us, init_us
                    if init_timed_out or suppressed_us >= timeout_us:
                        return self._finish(
                            request, env, cold, start_us, init_us, timeout_us,
                            rt.dumps_error(rt.timeout_payload(request.request_id, config.timeout_s)),
                            rt.UNHANDLED, rt.SANDBOX_TIMEDOUT, retire=True, timed_out=True)
                    env.init_duration_ms = init_us / 1000
                    env.state = "ready"
                return self._invoke_handler(request, env, cold, start_us, init_us, mapping, suppressed_us)
        finally:
            env.running = False
            self.clock.set(start_us)

    def _load(self, handler_name: str, mapping: HandlerMapping, environ: dict[str, str]) -> LoadedCode:
        """The environment's code: loaded here, or in a worker process with `mapping.isolation`."""
        if mapping.isolation is None:
            return self.loader.load(handler_name, mapping.code_dir)
        return _load_isolated(mapping.isolation, handler_name, mapping.code_dir, environ, self.clock)

    def _output(self, request: InvocationRequest, phase: str) -> Any:
        """Capture the code's stdout, stderr and logging for the logs (a no-op when off)."""
        if self.output is None:
            return _NO_CAPTURE
        return self.output.capture(request.request_id, phase, request.config.application_log_level)

    def _traced(self, request: InvocationRequest) -> Any:
        """The handler's OpenTelemetry context when the invocation is traced (a no-op otherwise)."""
        if self.tracing is None:
            return _NO_CAPTURE
        return self.tracing.handler_context(request.request_id, request.trace_id)

    def _runnable(self, config: FunctionConfig, mapping: HandlerMapping) -> bool:
        runtime_ok = config.runtime is None or config.runtime.startswith("python")
        if config.package_type != "Zip" or not runtime_ok:
            return mapping.handler is not None
        return True

    def _invoke_handler(
        self,
        request: InvocationRequest,
        env: ExecutionEnvironment,
        cold: bool,
        start_us: int,
        init_us: int,
        mapping: HandlerMapping,
        suppressed_us: int = 0,
    ) -> InvocationRecord:
        config = request.config
        assert env.code is not None
        # `suppressed_us`: an INIT retried at the invocation (see execute) runs first, inside
        # the invocation's duration and timeout.
        handler_start = start_us + init_us + suppressed_us
        timeout_us = config.timeout_s * MICROS_PER_SECOND
        deadline = start_us + init_us + timeout_us
        self.clock.set(handler_start)
        try:
            event = request.event()
        except ValueError as e:  # only service-made requests can get here; the API checks JSON
            payload = rt.dumps_error(rt.error_payload(
                f"Unable to unmarshal input: {e}", rt.UNMARSHAL_ERROR, [], request.request_id))
            return self._finish(request, env, cold, start_us, init_us, 0, payload, rt.UNHANDLED, rt.UNMARSHAL_ERROR)
        context = LambdaContext(
            aws_request_id=request.request_id,
            function_name=config.name,
            function_version=config.version,
            invoked_function_arn=request.invoked_arn,
            memory_limit_in_mb=config.memory_mb,
            log_group_name=config.log_group,
            log_stream_name=env.log_stream_name,
            deadline_ms=deadline // 1000,
            now_ms=lambda: self.clock.micros // 1000,
            client_context=request.client_context,
            tenant_id=request.tenant_id,
        )
        frame = InvocationFrame(self.clock, handler_start, deadline, config.name)
        self._frames.append(frame)
        result: Any = None
        error: bytes | None = None
        error_type: str | None = None
        retire = False
        try:
            with self._output(request, "invoke"), self._traced(request), \
                    self.loader.activate(mapping.code_dir, env.private_modules, env.code.module_name, env.code):
                result = env.code.handler(event, context)
        except InvocationTimeout:
            frame.timed_out = True
        except SystemExit as exc:
            error = rt.dumps_error(rt.exit_error_payload(request.request_id, _exit_status(exc)))
            error_type, retire = rt.RUNTIME_EXIT_ERROR, True
        except RemoteFunctionError as exc:
            error = rt.dumps_error({**exc.payload, "requestId": request.request_id})
            error_type = str(exc.payload.get("errorType"))
        except Exception as exc:
            error = rt.dumps_error(rt.exception_payload(exc, exc.__traceback__, request.request_id, (_PACKAGE_DIR,)))
            error_type = type(exc).__name__
        finally:
            self._frames.pop()
        duration_us = suppressed_us + frame.elapsed_us + self.base_duration_us(config.name, event)
        if frame.timed_out or duration_us > timeout_us:
            payload = rt.dumps_error(rt.timeout_payload(request.request_id, config.timeout_s))
            return self._finish(request, env, cold, start_us, init_us, timeout_us, payload,
                                rt.UNHANDLED, rt.SANDBOX_TIMEDOUT, retire=True, timed_out=True)
        if error is not None:
            return self._finish(request, env, cold, start_us, init_us, duration_us, error,
                                rt.UNHANDLED, error_type, retire=retire)
        try:
            payload = rt.marshal_response(result, config.runtime)
        except rt.FaultError as fault:
            payload = rt.dumps_error(rt.error_payload(fault.message, fault.error_type, [], request.request_id))
            return self._finish(request, env, cold, start_us, init_us, duration_us, payload,
                                rt.UNHANDLED, fault.error_type)
        if request.invocation_type == "RequestResponse" and len(payload) > inv.SYNC_RESPONSE_LIMIT_BYTES:
            payload = rt.dumps_error(rt.response_too_large_payload())
            return self._finish(request, env, cold, start_us, init_us, duration_us, payload,
                                rt.UNHANDLED, rt.RESPONSE_SIZE_TOO_LARGE)
        return self._finish(request, env, cold, start_us, init_us, duration_us, payload, None, None)

    def _init_failed(
        self,
        request: InvocationRequest,
        env: ExecutionEnvironment,
        cold: bool,
        start_us: int,
        frame: InvocationFrame,
        payload: bytes,
    ) -> InvocationRecord:
        # The environment never became ready: AWS reports the init error to this invocation and
        # tries a fresh init at the next one.
        error_type = json.loads(payload)["errorType"]
        return self._finish(request, env, cold, start_us, frame.elapsed_us, 0, payload,
                            rt.UNHANDLED, error_type, retire=True)

    def _finish(
        self,
        request: InvocationRequest,
        env: ExecutionEnvironment,
        cold: bool,
        start_us: int,
        init_us: int | None,
        duration_us: int,
        payload: bytes,
        function_error: str | None,
        error_type: str | None,
        *,
        retire: bool = False,
        timed_out: bool = False,
    ) -> InvocationRecord:
        end_us = start_us + (init_us or 0) + duration_us
        env.invocations += 1
        env.last_used_us = end_us
        env.busy_until_us = end_us
        if retire:
            self.pool.retire(env)
        duration_ms = duration_us / 1000
        init_ms = (init_us / 1000) if cold and init_us is not None else None
        return InvocationRecord(
            request_id=request.request_id,
            function_name=request.config.name,
            version=request.config.version,
            invocation_type=request.invocation_type,
            source=request.source,
            environment_id=env.id,
            cold_start=cold,
            start_us=start_us,
            init_duration_ms=init_ms,
            duration_ms=duration_ms,
            # The INIT of an on-demand cold start is billed too, since Aug 1 2025 (rules/pricing.py).
            billed_duration_ms=pricing.billed_duration_ms(duration_ms, init_ms),
            payload=payload,
            function_error=function_error,
            error_type=error_type,
            timed_out=timed_out,
            memory_mb=request.config.memory_mb,
            architecture=request.config.architectures[0] if request.config.architectures else None,
            log_stream=env.log_stream_name,
        )

    def _new_environment(self, config: FunctionConfig, code_key: tuple[Any, ...], at_us: int) -> ExecutionEnvironment:
        instance = f"{self._ids.getrandbits(128):032x}"
        date = from_micros(at_us).strftime("%Y/%m/%d")
        env = ExecutionEnvironment(
            id=instance[:12],
            function_name=config.name,
            version=config.version,
            fingerprint=(config.fingerprint, code_key),
            log_stream_name=rt.log_stream_name(date, config.version, instance),
            created_at_us=at_us,
            last_used_us=at_us,
            busy_until_us=at_us,
        )
        self.pool.add(env)
        return env

    # -- provisioned concurrency ----------------------------------------------------------------
    def provision(self, config: FunctionConfig, qualifier: str, requested: int) -> Any:
        """Put (or with 0, remove) a provisioned concurrency configuration for a version or
        alias of the function: `requested` environments are initialised now, ahead of
        invocations. Raises `environments.ConfigurationRejected` as AWS's 400."""
        return self.pool.configure_provisioned(
            config, qualifier, requested, self.clock.micros,
            lambda at_us: self.prepare_environment(config, at_us))

    def prepare_environment(self, config: FunctionConfig, at_us: int) -> ExecutionEnvironment:
        """Create an environment and run its INIT at `at_us`, ahead of any invocation.

        Provisioned concurrency (provisioned-concurrency.html): the environment is ready once
        its INIT is over (`busy_until_us`), and invocations it serves are not cold. INIT may
        take up to max(130 s, timeout) here (lambda-runtime-environment.html); an environment
        whose INIT fails or runs out of time is retired.
        """
        mapping = self.mapping_for(config)
        handler_name = mapping.handler or config.handler or ""
        module_name = handler_name.rsplit(".", 1)[0].replace("/", ".")
        code_key = (handler_name, mapping.code_dir)
        env = self._new_environment(config, code_key, at_us)
        if not self._runnable(config, mapping):
            self.pool.retire(env, "init-failed", at_us)
            return env
        request = InvocationRequest(
            request_id="", config=config, invoked_arn=config.arn, payload=b"",
            invocation_type="Provisioned", received_us=at_us, trace_id=self.new_trace_id(at_us),
            source="provisioned-concurrency")
        environ = self._environment_variables(config, env, handler_name, mapping, request)
        limit_us = cold_start.provisioned_init_limit_s(config.timeout_s) * MICROS_PER_SECOND
        frame = InvocationFrame(self.clock, at_us, at_us + limit_us, config.name)
        frame.elapsed_us = self.platform_init_us(config)
        saved = self.clock.micros
        self.clock.set(frame.now_us)
        self._frames.append(frame)
        failed = False
        try:
            with _lambda_environ(environ, env.environ_changes):
                with self.loader.activate(mapping.code_dir, env.private_modules, module_name, None):
                    env.code = self._load(handler_name, mapping, environ)
        except (InvocationTimeout, SystemExit, Exception):  # rt.FaultError is an Exception
            failed = True
        finally:
            self._frames.pop()
            self.clock.set(saved)
        env.init_duration_ms = frame.elapsed_us / 1000
        env.busy_until_us = env.last_used_us = at_us + frame.elapsed_us
        if failed or env.code is None:
            self.pool.retire(env, "init-failed", env.busy_until_us)
        else:
            env.state = "ready"
        return env

    def _environment_variables(
        self,
        config: FunctionConfig,
        env: ExecutionEnvironment,
        handler_name: str,
        mapping: HandlerMapping,
        request: InvocationRequest,
    ) -> dict[str, str]:
        reserved = rt.reserved_environment(
            handler=handler_name,
            region=config.region,
            runtime=config.runtime,
            function_name=config.name,
            memory_mb=config.memory_mb,
            version=config.version,
            log_group=config.log_group,
            log_stream=env.log_stream_name,
            task_root=str(mapping.code_dir) if mapping.code_dir else os.getcwd(),
            credentials=self.credentials,
            trace_id=(self.tracing.begin(request.request_id, request.trace_id, request.trace_links)
                      if self.tracing is not None and request.request_id else request.trace_id),
            application_log_level=config.application_log_level,
        )
        # Function variables cannot override reserved keys (AWS rejects them at configuration).
        return {**{k: str(v) for k, v in config.environment.items()}, **reserved}


def _load_isolated(isolation: iso.Isolation, handler_name: str, code_dir: Path | None, environ: dict[str, str],
                   clock: VirtualClock) -> LoadedCode:
    """Start a worker process for an environment and load its handler there (the INIT phase)."""
    module_name, function = rt.split_handler(handler_name)
    services = iso.Services(now_us=lambda: clock.micros, sleep=time.sleep)
    worker = None
    try:
        worker = isolation.start(code_dir=code_dir, environ=environ, services=services,
                                 fingerprint=isolation.fingerprint(code_dir, handler_name))
        worker.load(module_name, function)
    except iso.WorkerTimedOut:
        raise InvocationTimeout() from None
    except iso.FunctionRaised as exc:
        payload = exc.payload
        if str(payload.get("errorType", "")).startswith("Runtime."):
            raise rt.FaultError(payload["errorType"], payload.get("errorMessage", ""), payload.get("stackTrace")) from None
        raise RemoteFunctionError(payload) from None
    except iso.FunctionExited as exc:
        raise SystemExit(exc.status) from None
    except iso.WorkerCrashed as exc:
        raise rt.FaultError(rt.RUNTIME_EXIT_ERROR, f"Runtime exited without providing a reason: {exc}") from None
    finally:
        if worker is not None and worker.output:
            sys.stdout.write(worker.output)
    handler = IsolatedHandler(worker, function, environ)
    return LoadedCode(module_name, ModuleType(module_name), handler, release=worker.close)


class IsolatedHandler:
    """A handler whose code runs in a worker process: called as the runtime calls a handler."""

    def __init__(self, worker: Any, function: str, environ: dict[str, str]):
        self.worker = worker
        self.function = function
        self.sent = dict(environ)  # the environment variables the worker has

    def __call__(self, event: Any, context: LambdaContext) -> Any:
        # The runtime shows the invocation's variables (a new trace id...) in os.environ.
        changed = {k: v for k in self.sent if (v := os.environ.get(k)) is not None and v != self.sent[k]}
        self.sent.update(changed)
        try:
            payload = self.worker.call(self.function, [event], context=_context_fields(context),
                                       marshal=True, environ=changed)
        except iso.WorkerTimedOut:
            raise InvocationTimeout() from None
        except iso.FunctionRaised as exc:
            raise RemoteFunctionError(exc.payload) from None
        except iso.FunctionExited as exc:
            raise SystemExit(exc.status) from None
        except iso.WorkerCrashed:
            raise SystemExit(1) from None  # the process ended: Runtime.ExitError
        finally:
            if self.worker.output:
                sys.stdout.write(self.worker.output)
        return json.loads(payload)  # serialised by the worker as the runtime does; checked again here


def _context_fields(context: LambdaContext) -> dict[str, Any]:
    client = context.client_context
    return {
        "aws_request_id": context.aws_request_id, "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": int(context.memory_limit_in_mb),
        "log_group_name": context.log_group_name, "log_stream_name": context.log_stream_name,
        "deadline_ms": context._deadline_ms,
        "client_context": None if client is None else {
            "custom": client.custom, "env": client.env,
            "client": None if client.client is None else {
                name: getattr(client.client, name) for name in client.client.__slots__}},
        "identity": {"cognitoIdentityId": context.identity.cognito_identity_id,
                     "cognitoIdentityPoolId": context.identity.cognito_identity_pool_id},
        "tenant_id": context.tenant_id,
    }  # fmt: skip


def _exit_status(exc: SystemExit) -> int | str:
    code = exc.code
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


@contextmanager
def _lambda_environ(target: dict[str, str], changes: dict[str, str | None]) -> Iterator[None]:
    """Show the function's environment variables in `os.environ` while its code runs.

    What the code itself changes is recorded in `changes` and shown again at the environment's
    next invocation; the process's own variables are restored afterwards.
    """
    # os.environ's underlying dict of encoded keys and values: copying and comparing it is a
    # C-level operation, where going through os.environ decodes every entry (10x slower).
    data: dict[Any, Any] = os.environ._data  # type: ignore[attr-defined]
    encode_key, encode_value = os.environ.encodekey, os.environ.encodevalue
    saved = dict(data)
    desired = dict(target)
    for key, value in changes.items():
        if value is None:
            desired.pop(key, None)
        else:
            desired[key] = value
    for key, value in desired.items():
        if data.get(encode_key(key)) != encode_value(value):
            os.environ[key] = value
    for key, value in changes.items():
        if value is None and encode_key(key) in data:
            del os.environ[key]
    applied = dict(data)
    try:
        yield
    finally:
        if data != applied:
            for key in applied.keys() | data.keys():
                if applied.get(key) != data.get(key):
                    name = key.decode() if isinstance(key, bytes) else key
                    value = data.get(key)
                    changes[name] = None if value is None else (value.decode() if isinstance(value, bytes) else value)
        if data != saved:
            for key in data.keys() - saved.keys():
                os.environ.__delitem__(key.decode() if isinstance(key, bytes) else key)
            for key, value in saved.items():
                if data.get(key) != value:
                    os.environ[key.decode() if isinstance(key, bytes) else key] = (
                        value.decode() if isinstance(value, bytes) else value)
