"""Conformance tests of lesson 05 (calling downstream services): the SDK's retry behaviour as the
lesson teaches it, observed through the simulator, and the lesson's reference code
(``serverless_course.downstream``).

AWS pages: the SDKs' retry behaviour,
https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html (2026 version: standard
mode by default, error-type-specific backoff, DynamoDB's 4 attempts; the default in botocore 1.44.0
and later, since Nov 10 2026:
https://aws.amazon.com/blogs/developer/updated-default-retry-behavior-for-aws-sdks-and-tools/),
and boto3's retries guide,
https://boto3.amazonaws.com/v1/documentation/api/latest/guide/retries.html (legacy mode). Where the
pages leave a figure to "your SDK's code base" the test names the botocore file.

Faults are injected per HTTP attempt (``sim.faults``, botocore's ``before-send``), so botocore's
own retry logic decides every retry. Calls made inside a handler back off on the invocation's
virtual time: the attempts' timestamps (``Injection.time``) are the backoff delays.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pybreaker
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from lambdasim import AWSError, ConditionalCheckFailed, NoAnswer, ServerError, Simulator, Throttle
from lambdasim.errors import SimulatorError
from serverless_course.downstream import (
    backoff_ceiling_s,
    budgeted_config,
    dependency_breaker,
    is_dependency_failure,
    worst_case_s,
)

TABLE = "orders"
HANDLERS = "serverless_course.downstream.handlers"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(seed=11, logs=False, metrics=False) as simulator:
        simulator.client("dynamodb").create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}])
        simulator.create_function(FunctionName="put-items", Handler=f"{HANDLERS}.put_items",
                                  Timeout=120, Environment={"Variables": {"TABLE": TABLE}})
        simulator.create_function(FunctionName="put-items-10s", Handler=f"{HANDLERS}.put_items",
                                  Timeout=10, Environment={"Variables": {"TABLE": TABLE}})
        simulator.create_function(FunctionName="throttled", Handler=f"{HANDLERS}.put_items")
        simulator.client("lambda").put_function_concurrency(FunctionName="throttled",
                                                            ReservedConcurrentExecutions=0)
        yield simulator


@pytest.fixture(autouse=True)
def clean_faults(sim: Simulator) -> Iterator[None]:
    sim.faults.clear()
    sim.faults.reset()
    yield
    sim.faults.clear()


def put_items(sim: Simulator, function: str = "put-items", **event: Any) -> dict[str, Any]:
    response = sim.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event))
    return json.loads(response["Payload"].read())


def attempt_times(sim: Simulator) -> list[float]:
    return [injection.time for injection in sim.faults.injected]


def gaps(times: list[float]) -> list[float]:
    return [round(later - earlier, 6) for earlier, later in zip(times, times[1:])]


# ------------------------------------------------------------------ which mode, how many attempts


def test_standard_is_botocores_default_mode_with_three_attempts(sim: Simulator) -> None:
    """feature-retry-behavior.html: standard mode, the default, makes three attempts unless
    max_attempts is configured. botocore's default was legacy until 1.44.0 made the 2026 retry
    behaviour the default (Nov 10 2026, updated-default-retry-behavior-for-aws-sdks-and-tools)."""
    events = boto3.client("events")
    assert events.meta.config.retries["mode"] == "standard"
    sim.faults.add("events", "PutEvents", Throttle())
    with pytest.raises(ClientError) as raised:
        events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 2
    assert sim.faults.attempts("events", "PutEvents") == 3


def test_dynamodb_gets_four_attempts_in_standard_mode(sim: Simulator) -> None:
    """feature-retry-behavior.html, service-specific behaviour (2026 retries): DynamoDB and
    DynamoDB Streams make 4 attempts by default (botocore/retries/standard.py)."""
    sim.faults.add("dynamodb", "PutItem", Throttle())
    result = put_items(sim)
    assert result["calls"][0]["outcome"] == "ProvisionedThroughputExceededException"
    assert sim.faults.attempts("dynamodb", "PutItem") == 4


def test_legacy_mode_makes_five_attempts_and_ten_for_dynamodb(sim: Simulator) -> None:
    """retries.html (boto3): legacy mode defaults to 5 attempts including the first;
    botocore/data/_retry.json gives DynamoDB 10."""
    events = boto3.client("events", config=Config(retries={"mode": "legacy"}))
    sim.faults.add("events", "PutEvents", ServerError())
    with pytest.raises(ClientError):
        events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])
    assert sim.faults.attempts("events", "PutEvents") == 5
    sim.faults.add("dynamodb", "PutItem", Throttle())
    put_items(sim, mode="legacy")
    assert sim.faults.attempts("dynamodb", "PutItem") == 10


# ------------------------------------------------------------------ which errors are retried


@pytest.mark.parametrize(("fault", "attempts"), [
    (Throttle(), 3),  # ProvisionedThroughputExceededException, 400
    (ServerError(), 3),  # InternalServerError, 500
    (ServerError(503), 3),
    (AWSError("ValidationException", 400, "One or more parameter values were invalid"), 1),
    (ConditionalCheckFailed(), 1),
])
def test_throttles_and_5xx_are_retried_validation_errors_are_not(sim: Simulator, fault: Any, attempts: int) -> None:
    """feature-retry-behavior.html: standard mode retries throttling errors and transient errors
    (5xx, timeouts); any other error, such as a 400 validation error, is returned at once."""
    sim.faults.add("dynamodb", "PutItem", fault)
    put_items(sim, max_attempts=3)
    assert sim.faults.attempts("dynamodb", "PutItem") == attempts


def test_a_read_timeout_is_retried(sim: Simulator) -> None:
    """feature-retry-behavior.html: transient errors include timeouts; each attempt waits the
    client's read timeout (virtual time in the handler) before botocore retries it."""
    sim.faults.add("dynamodb", "PutItem", NoAnswer())
    result = put_items(sim, config="budgeted", max_attempts=3)
    assert result["calls"][0]["outcome"] == "ReadTimeoutError"
    assert [i.kind for i in sim.faults.injected] == ["no answer"] * 3


# ------------------------------------------------------------------ backoff, on the virtual clock


def test_standard_backoff_in_a_handler_is_jittered_exponential_and_capped_at_20_s(sim: Simulator) -> None:
    """feature-retry-behavior.html: standard mode backs off exponentially with jitter, 1 s base
    for throttling errors, no delay above MAX_BACKOFF (20 s). Inside a handler the delays are
    spent on the invocation's virtual clock: its duration is their sum."""
    sim.faults.add("dynamodb", "PutItem", Throttle())
    result = put_items(sim, max_attempts=9)
    delays = gaps(attempt_times(sim))
    ceilings = [min(2**i, 20) for i in range(8)]
    assert len(delays) == 8
    assert all(0 <= delay <= ceiling for delay, ceiling in zip(delays, ceilings))
    assert any(delay < 0.9 * ceiling for delay, ceiling in zip(delays, ceilings))  # jitter
    assert result["calls"][0]["call_s"] == pytest.approx(sum(delays), abs=1e-3)
    assert sim.invocations[-1].duration_ms >= sum(delays) * 1000


def test_standard_backoff_for_5xx_starts_from_25_ms_on_dynamodb(sim: Simulator) -> None:
    """feature-retry-behavior.html (2026): non-throttling errors back off from a 50 ms base,
    25 ms for DynamoDB (botocore/retries/standard.py)."""
    sim.faults.add("dynamodb", "PutItem", ServerError())
    put_items(sim, max_attempts=4)
    delays = gaps(attempt_times(sim))
    assert all(0 <= delay <= 0.025 * 2**i for i, delay in enumerate(delays))


def test_legacy_backoff_for_dynamodb_doubles_from_50_ms_without_jitter(sim: Simulator) -> None:
    """retries.html (boto3): legacy mode backs off exponentially with a base factor of 2;
    botocore/data/_retry.json sets DynamoDB's base to 0.05 s (no jitter): 10 attempts wait
    0.05 x (1 + 2 + ... + 256) = 25.55 s in all, longer than many functions' timeouts."""
    sim.faults.add("dynamodb", "PutItem", Throttle())
    put_items(sim, mode="legacy")
    assert gaps(attempt_times(sim)) == [pytest.approx(0.05 * 2**i, abs=1e-6) for i in range(9)]


def test_backoff_outside_a_handler_runs_the_simulation_and_not_in_a_scheduled_call(sim: Simulator) -> None:
    """Simulator behaviour (README, virtual time): driving code's time.sleep runs the
    simulation forward, so botocore's backoff from driving code moves sim.elapsed; inside a
    scheduled callback no time passes, so its retries happen at the same virtual instant."""
    events = boto3.client("events")
    sim.faults.add("events", "PutEvents", Throttle())
    before = sim.elapsed
    with pytest.raises(ClientError):
        events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])
    waited = sum(gaps(attempt_times(sim)))
    assert waited > 0 and sim.elapsed - before == pytest.approx(waited, abs=1e-5)
    sim.faults.reset()

    def from_a_callback() -> None:
        with pytest.raises(ClientError):
            events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])

    sim.schedule(1.0, from_a_callback)
    sim.run_for(2.0)
    assert len(set(attempt_times(sim))) == 1 and sim.faults.attempts("events", "PutEvents") == 3


def test_a_throttled_invoke_backs_off_from_driving_code_but_not_in_a_scheduled_call(sim: Simulator) -> None:
    """invocation-retries.html: a throttled synchronous invoke fails with 429
    TooManyRequestsException and Lambda does not retry it; the SDK does (a throttling error,
    feature-retry-behavior.html). From driving code the backoff moves the virtual clock; from a
    scheduled callback (an instant of the simulation) all three attempts share one instant."""
    lam = boto3.client("lambda")

    def refused_at() -> list[int]:
        before = len(sim.throttles)
        with pytest.raises(ClientError) as raised:
            lam.invoke(FunctionName="throttled", Payload=b"{}")
        assert raised.value.response["Error"]["Code"] == "TooManyRequestsException"
        return [throttle.at_us for throttle in sim.throttles[before:]]

    from_driver = refused_at()
    assert len(from_driver) == 3 and from_driver == sorted(set(from_driver))
    in_callback: list[list[int]] = []
    sim.schedule(1.0, lambda: in_callback.append(refused_at()))
    sim.run_for(2.0)
    assert len(in_callback[0]) == 3 and len(set(in_callback[0])) == 1


# ------------------------------------------------------------------ adaptive mode


@pytest.mark.timeout(60)
def test_adaptive_mode_rate_limits_the_client_after_throttles(sim: Simulator) -> None:
    """feature-retry-behavior.html: adaptive mode adds client-side rate limiting and can delay
    the initial request. After a throttled call, the same client's next call waits for a send
    token (botocore/retries/bucket.py) on the invocation's virtual clock; a standard client
    sends it at once. (Without the simulator's virtual token wait, the wait never ends.)"""
    sim.faults.add("dynamodb", "PutItem", Throttle(), on_calls=[1])
    standard = put_items(sim, mode="standard", calls=2)["calls"]
    sim.faults.clear()
    sim.faults.reset()
    sim.faults.add("dynamodb", "PutItem", Throttle(), on_calls=[1])
    adaptive = put_items(sim, mode="adaptive", calls=2)["calls"]
    assert [c["outcome"] for c in standard + adaptive] == ["ProvisionedThroughputExceededException", "stored"] * 2
    assert standard[1]["call_s"] == 0
    assert adaptive[1]["call_s"] > 0.5  # waited for a token before its first attempt


def test_an_adaptive_token_wait_in_a_scheduled_call_is_refused(sim: Simulator) -> None:
    """Simulator behaviour: a scheduled callback is an instant, so a token wait there could
    never end; the simulator raises instead of hanging."""
    events = boto3.client("events", config=Config(retries={"mode": "adaptive", "total_max_attempts": 6}))
    sim.faults.add("events", "PutEvents", Throttle())
    sim.schedule(1.0, lambda: events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}]))
    with pytest.raises(SimulatorError, match="adaptive"):
        sim.run_for(2.0)


# ------------------------------------------------------------------ the timeout budget


def test_default_timeouts_do_not_fit_a_10_s_function_and_the_budgeted_ones_do(sim: Simulator) -> None:
    """botocore Config reference: connect_timeout and read_timeout default to 60 s. A 10 s
    function calling a dependency that never answers times out inside the first attempt
    (invocation-retries.html: the caller sees Sandbox.Timedout); with budgeted_config the SDK
    gives up in time and the handler answers with its time to spare."""
    assert (Config().connect_timeout, Config().read_timeout) == (60, 60)
    assert worst_case_s(Config(), "dynamodb") == 4 * 120 + (1 + 2 + 4)
    config = budgeted_config(10.0, max_attempts=3, reserve_s=1.0)
    assert worst_case_s(config, "dynamodb") == pytest.approx(9.0)
    sim.faults.add("dynamodb", "PutItem", NoAnswer())
    timed_out = sim.client("lambda").invoke(FunctionName="put-items-10s",
                                            Payload=json.dumps({"config": "default"}))
    assert timed_out["FunctionError"] == "Unhandled"
    assert sim.invocations[-1].timed_out
    budgeted = put_items(sim, "put-items-10s", config="budgeted", max_attempts=3)
    assert budgeted["calls"][0]["outcome"] == "ReadTimeoutError"
    assert budgeted["left_s"] >= 1.0


@pytest.mark.parametrize("mode", ["legacy", "standard", "adaptive"])
def test_the_budget_leaves_the_reserve_in_every_mode(mode: Any) -> None:
    """The formula of serverless_course.downstream.budget: attempts x (connect + read) +
    backoff ceiling + reserve = the time given."""
    config = budgeted_config(30.0, mode=mode, max_attempts=3, reserve_s=2.0)
    assert worst_case_s(config, "dynamodb") + 2.0 == pytest.approx(30.0)
    assert config.connect_timeout < config.read_timeout
    with pytest.raises(ValueError, match="cannot fit"):
        budgeted_config(10.0, mode=mode, max_attempts=8)
    assert backoff_ceiling_s("standard", 8) == 1 + 2 + 4 + 8 + 16 + 20 + 20


# ------------------------------------------------------------------ the circuit breaker


def test_pybreaker_reset_timeout_elapses_on_the_virtual_clock(sim: Simulator) -> None:
    """pybreaker reads datetime.now, which freezegun shows as the virtual time: an open breaker
    refuses calls until reset_timeout virtual seconds have passed, then lets one through."""
    breaker = dependency_breaker("table", fail_max=2, reset_timeout=30.0)
    calls: list[float] = []

    def failing() -> None:
        calls.append(sim.elapsed)
        raise ClientError({"Error": {"Code": "InternalServerError"},
                           "ResponseMetadata": {"HTTPStatusCode": 500}}, "PutItem")

    with pytest.raises(ClientError):
        breaker.call(failing)
    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(failing)  # the second failure trips it
    sim.run_for(29.0)
    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(failing)  # still open: no call
    assert len(calls) == 2
    sim.run_for(1.5)
    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(failing)  # half-open trial call fails: open again
    assert len(calls) == 3 and breaker.current_state == "open"


def test_the_breaker_ignores_errors_about_the_request_itself() -> None:
    """Only the dependency's own failures (throttling, 5xx, timeouts) count towards opening."""
    breaker = dependency_breaker("table", fail_max=1)
    refused = ClientError({"Error": {"Code": "ConditionalCheckFailedException"},
                           "ResponseMetadata": {"HTTPStatusCode": 400}}, "PutItem")

    def conditional() -> None:
        raise refused

    for _ in range(3):
        with pytest.raises(ClientError):
            breaker.call(conditional)
    assert breaker.current_state == "closed"


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutItem")


@pytest.mark.parametrize(("error", "failing"), [
    (_client_error("ProvisionedThroughputExceededException", 400), True),
    (_client_error("ThrottlingException", 400), True),
    (_client_error("InternalServerError", 500), True),
    (_client_error("ServiceUnavailable", 503), True),
    (ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"), True),
    (EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"), True),
    (_client_error("ConditionalCheckFailedException", 400), False),
    (_client_error("ValidationException", 400), False),
    (KeyError("order_id"), False),
])
def test_dependency_failures_are_what_standard_mode_retries(error: BaseException, failing: bool) -> None:
    """feature-retry-behavior.html: standard mode retries throttling errors and transient errors
    (5xx, connection errors, timeouts); the breaker counts exactly those."""
    assert is_dependency_failure(error) is failing


def sqs_event(count: int) -> dict[str, Any]:
    """An SQS event as the event source mapping sends it (with-sqs.html), bodies only."""
    return {"Records": [{
        "messageId": f"m-{n}", "receiptHandle": f"h-{n}", "body": json.dumps({"n": n}),
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": "",
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders",
        "awsRegion": "us-east-1"} for n in range(count)]}


def test_an_open_breaker_fails_the_rest_of_the_batch_without_calling(sim: Simulator) -> None:
    """services-sqs-errorhandling.html: with every record failed the batch returns to the queue.
    Without a breaker each of 10 records calls the failing table; with one (fail_max 5) the
    sixth record on fails at once, and so does the next batch in the same environment."""
    for breaker in ("off", "on"):
        sim.create_function(FunctionName=f"writer-{breaker}", Handler=f"{HANDLERS}.orders_writer",
                            Timeout=10, Environment={"Variables": {"TABLE": TABLE, "BREAKER": breaker}})
    sim.faults.add("dynamodb", "PutItem", ServerError())
    calls = {}
    for name in ("writer-off", "writer-on", "writer-on"):
        sim.faults.reset()
        response = sim.client("lambda").invoke(FunctionName=name, Payload=json.dumps(sqs_event(10)))
        assert response["FunctionError"] == "Unhandled"  # every record failed: the batch fails
        calls.setdefault(name, []).append(sim.faults.calls("dynamodb", "PutItem"))
    assert calls == {"writer-off": [10], "writer-on": [5, 0]}
    assert len(sim.environments("writer-on")) == 1  # one environment, one breaker
